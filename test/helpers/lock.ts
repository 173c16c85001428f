/**
 * Another process holding a lock, as another run or watcher of the tool would (flock(1) on the
 * file): held once the helper returns, released (the holder and its `sleep` killed) when the test ends.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { waitFor } from './s6.js';

export async function holdLock(t: ExecutionContext, file: string): Promise<void> {
  // Its own process group: killing flock(1) alone left its `sleep` holding the lock for ten minutes.
  const holder = spawn('flock', [file, 'sleep', '600'], { stdio: 'ignore', detached: true });
  t.teardown(() => {
    try {
      if (holder.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  });
  await waitFor(() => spawnSync('flock', ['--nonblock', file, 'true']).status === 1, 60_000, `the lock on ${file} to be held`);
}
