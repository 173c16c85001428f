/**
 * The watcher's own lock, `<status file>.lock`: the status file is a watcher's identity (two
 * watchers writing one would each overwrite the other's report), so a second `watch` with the
 * same status file — by default, any second watcher — exits 3 instead of running beside the first.
 * Held for the watcher's life; the kernel drops it when the process dies. Separate from the run
 * lock, which each pass takes only while it writes, so `sync --wait` still gets its turn.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FatalError, LockHeldError } from '../errors.js';
import { type HeldLock, acquireLock } from '../lock.js';

/** Takes the watcher lock beside `statusFile` or throws LockHeldError naming what to do. */
export async function takeWatchLock(statusFile: string): Promise<HeldLock> {
  const file = `${statusFile}.lock`;
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new FatalError(
      `cannot create the directory of the status file ${statusFile}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  try {
    return await acquireLock(file, false);
  } catch (err) {
    if (!(err instanceof LockHeldError)) throw err;
    throw new LockHeldError(
      `another watch is already running with status file ${statusFile} (it holds ${file}); stop it first (one watcher per scandir is enough: passes share the run lock); a watcher of other trees needs its own --status-file`,
      { cause: err },
    );
  }
}
