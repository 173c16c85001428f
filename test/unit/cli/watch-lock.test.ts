import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { takeWatchLock } from '../../../src/cli/watch-lock.js';
import { FatalError, LockHeldError } from '../../../src/errors.js';
import { removeTree, tempDir } from '../../helpers/tree.js';

async function scratch(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await tempDir('rg-watch-lock-');
  t.teardown(() => removeTree(dir));
  return dir;
}

test('a second watcher with the same status file is refused and told what to do', async (t) => {
  const statusFile = path.join(await scratch(t), 'status.json');
  const first = await takeWatchLock(statusFile);
  t.teardown(() => first.release());
  const err = await t.throwsAsync(takeWatchLock(statusFile), { instanceOf: LockHeldError });
  t.is(
    err?.message,
    `another watch is already running with status file ${statusFile} (it holds ${statusFile}.lock); stop it first (one watcher per scandir is enough: passes share the run lock); a watcher of other trees needs its own --status-file`,
  );
});

test('the refusal names the running watcher by the pid in its status file, and never a pid that is not it', async (t) => {
  const statusFile = path.join(await scratch(t), 'status.json');
  const first = await takeWatchLock(statusFile);
  t.teardown(() => first.release());
  const refusal = async (): Promise<string> =>
    (await t.throwsAsync(takeWatchLock(statusFile), { instanceOf: LockHeldError }))?.message ?? '';
  const startedAt = new Date().toISOString();
  // This process stands in for the running watcher: alive, and started before startedAt.
  fs.writeFileSync(statusFile, JSON.stringify({ formatVersion: '2', pid: process.pid, startedAt }));
  t.true(
    (await refusal()).startsWith(
      `another watch is already running with status file ${statusFile} (pid ${process.pid} by its status file; it holds ${statusFile}.lock); stop it first`,
    ),
  );
  const anonymous = `(it holds ${statusFile}.lock)`;
  // The previous watcher's file, with its clean stop: not the holder.
  fs.writeFileSync(statusFile, JSON.stringify({ pid: process.pid, startedAt, stopped: { at: startedAt, by: 'SIGTERM' } }));
  t.true((await refusal()).includes(anonymous));
  // A pid nobody has, and one that is no number.
  fs.writeFileSync(statusFile, JSON.stringify({ pid: 2 ** 22 + 7, startedAt }));
  t.true((await refusal()).includes(anonymous));
  fs.writeFileSync(statusFile, '{"pid": "1; rm -rf /"}');
  t.true((await refusal()).includes(anonymous));
  // A FIFO in its place is never waited on.
  fs.rmSync(statusFile);
  execFileSync('mkfifo', [statusFile]);
  t.true((await refusal()).includes(anonymous));
});

test('without a status file to name it, the refusal names the holder /proc shows', async (t) => {
  const statusFile = path.join(await scratch(t), 'status.json');
  fs.writeFileSync(`${statusFile}.lock`, '', { mode: 0o600 });
  // --close: the shell does not inherit the descriptor, so flock(1) alone holds the lock.
  const child = spawn('/usr/bin/flock', ['--exclusive', '--close', `${statusFile}.lock`, '/bin/sh', '-c', 'echo held; exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.teardown(() => child.kill());
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const err = await t.throwsAsync(takeWatchLock(statusFile), { instanceOf: LockHeldError });
  t.true(
    err?.message.includes(
      ` (pid ${child.pid}: /usr/bin/flock --exclusive --close ${statusFile}.lock /bin/sh -c "echo held; exec cat"; it holds ${statusFile}.lock); stop it first`,
    ),
    err?.message,
  );
  child.stdin?.end();
  await exited;
});

test('once the first watcher releases, the next one takes the lock', async (t) => {
  const statusFile = path.join(await scratch(t), 'status.json');
  (await takeWatchLock(statusFile)).release();
  const again = await takeWatchLock(statusFile);
  t.is(again.path, `${statusFile}.lock`);
  again.release();
});

test('watchers with their own status files run side by side', async (t) => {
  const dir = await scratch(t);
  const a = await takeWatchLock(path.join(dir, 'a.json'));
  const b = await takeWatchLock(path.join(dir, 'b.json'));
  t.not(a.path, b.path);
  a.release();
  b.release();
});

test('the status file’s directory is created, 0755, one level only: a mistyped path grows no tree', async (t) => {
  const root = await scratch(t);
  const dir = path.join(root, 'reconcile-gateways');
  const lock = await takeWatchLock(path.join(dir, 'status.json'));
  t.teardown(() => lock.release());
  t.true(fs.statSync(dir).isDirectory());
  t.is(fs.statSync(dir).mode & 0o777, 0o755 & ~process.umask());
  t.true(fs.existsSync(path.join(dir, 'status.json.lock')));
  const typo = path.join(root, 'nonexist', 'dir', 'status.json');
  const err = await t.throwsAsync(takeWatchLock(typo), { instanceOf: FatalError });
  t.is(
    err?.message,
    `cannot use the directory of the status file ${typo} (neither it nor its parent exists); create it, or point --status-file or RECONCILE_GATEWAYS_STATUS_FILE elsewhere`,
  );
  t.false(fs.existsSync(path.join(root, 'nonexist')), 'nothing was created');
});

test('a status file under a regular file is a fatal error naming it', async (t) => {
  const file = path.join(await scratch(t), 'not-a-dir');
  fs.writeFileSync(file, '');
  const err = await t.throwsAsync(takeWatchLock(path.join(file, 'status.json')), { instanceOf: FatalError });
  t.is(
    err?.message,
    `cannot use the directory of the status file ${file}/status.json (${file} is not a directory); create it, or point --status-file or RECONCILE_GATEWAYS_STATUS_FILE elsewhere`,
  );
});

test('a watcher lock that cannot be used names --status-file as the fix, not the run lock’s --lock-file', async (t) => {
  const statusFile = path.join(await scratch(t), 'status.json');
  fs.mkdirSync(`${statusFile}.lock`);
  const err = await t.throwsAsync(takeWatchLock(statusFile), { instanceOf: FatalError });
  t.is(
    err?.message,
    `lock file ${statusFile}.lock is not a regular file (a directory); point --status-file or RECONCILE_GATEWAYS_STATUS_FILE at a file in a directory only the user running the tool can write`,
  );
});
