/**
 * A stop sent to the whole process group (Ctrl-C on a terminal, `kill -TERM -PGID`) reaches the
 * children the tool runs as well. mkfifo(1) must not die of it halfway through a pass (the pass
 * would then fail for no fault of the slots), so it runs in a session of its own; flock(1) stays in
 * ours, so that it dies with us (src/lock.ts gives a stop that follows its death a moment).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MAIN, makeWorld, removeWorlds, worldArgs, writeProfiles } from '../../helpers/cli.js';
import { STRACE, needs } from '../../helpers/needs.js';

test.after.always('remove temp dirs', removeWorlds);

needs(test, STRACE)('mkfifo(1) runs in a session of its own, flock(1) in ours', async (t) => {
  const w = await makeWorld('group-stop');
  writeProfiles(w.home, { alice: 'running', bob: 'stopped' });
  const trace = path.join(w.root, 'strace.txt');
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=execve,setsid', '-o', trace, process.execPath, MAIN, 'boot', ...worldArgs(w)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(r.status, 0, r.stderr);
  const lines = readFileSync(trace, 'utf8').split('\n');
  const pidsRunning = (program: string): string[] =>
    lines.filter((l) => new RegExp(`execve\\("[^"]*/${program}",.* = 0$`).test(l)).map((l) => l.split(/\s+/)[0] ?? '');
  const inOwnSession = (pid: string): boolean => lines.some((l) => l.startsWith(`${pid} `) && /\bsetsid\(\)/.test(l));
  const mkfifo = pidsRunning('mkfifo');
  const flock = pidsRunning('flock');
  t.true(mkfifo.length >= 1, 'boot made FIFOs with mkfifo(1)');
  t.true(flock.length >= 1, 'boot took the lock with flock(1)');
  for (const pid of mkfifo) t.true(inOwnSession(pid), `mkfifo(1) (pid ${pid}) called setsid()`);
  for (const pid of flock) t.false(inOwnSession(pid), `flock(1) (pid ${pid}) stays in our session`);
});
