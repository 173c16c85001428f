/**
 * src/lock.ts: the run lock is a real flock(2). A second holder is refused (or waits, and gets it
 * only after release), a process that dies releases it, and the path must still name the locked
 * inode in a real directory: otherwise the lock is not considered held.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FatalError, LockHeldError } from '../../src/errors.js';
import { acquireLock, isLockHeld, lockHolder, namesLockedInode } from '../../src/lock.js';
import { modeOf, put, tempRoot } from './support.js';
import { makeFifo } from '../helpers/fifo.js';

test('the lock is created 0600 and a second holder is refused until it is released', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'lock');
  const first = await acquireLock(file, false);
  t.is(modeOf(file), 0o600);
  const error = await t.throwsAsync(acquireLock(file, false), { instanceOf: LockHeldError });
  t.true(error?.message.includes(file), error?.message);
  first.release();
  first.release();
  const second = await acquireLock(file, false);
  second.release();
  t.true(fs.existsSync(file), 'the lock file is never deleted');
});

test('a waiting holder gets the lock only after the first releases it', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'lock');
  const first = await acquireLock(file, false);
  let released = false;
  const waiting = acquireLock(file, true).then((held) => {
    t.true(released, 'the waiter got the lock while it was still held');
    return held;
  });
  // The waiter must be blocked in flock(1) now: a non-blocking attempt is refused, so the lock is still ours.
  await t.throwsAsync(acquireLock(file, false), { instanceOf: LockHeldError });
  released = true;
  first.release();
  const second = await waiting;
  await t.throwsAsync(acquireLock(file, false), { instanceOf: LockHeldError });
  second.release();
});

/** A lock file in a temp dir, held by this test until it ends. */
async function lockHeldByTest(t: ExecutionContext): Promise<string> {
  const file = path.join(tempRoot(t).root, 'lock');
  const first = await acquireLock(file, false);
  t.teardown(() => first.release());
  return file;
}

test('a wait ends with the abort reason when the signal aborts', async (t) => {
  const file = await lockHeldByTest(t);
  const controller = new AbortController();
  const waiting = acquireLock(file, true, { signal: controller.signal });
  controller.abort(new Error('shutting down'));
  await t.throwsAsync(waiting, { message: 'shutting down' });
});

/** The flock(1) this process runs to wait for a lock, once it is running. */
async function waitingFlock(): Promise<number> {
  for (;;) {
    const r = spawnSync('pgrep', ['-P', String(process.pid), '-x', 'flock'], { encoding: 'utf8' });
    const pid = Number(r.stdout.trim().split('\n')[0]);
    if (pid > 0) return pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test.serial('a flock(1) killed while it waits is a failure that names the signal, not a held lock', async (t) => {
  const file = await lockHeldByTest(t);
  const waiting = acquireLock(file, true, { signal: new AbortController().signal });
  process.kill(await waitingFlock(), 'SIGTERM');
  await t.throwsAsync(waiting, {
    instanceOf: FatalError,
    message: `flock(1) waiting for ${file} was killed by SIGTERM; nothing was changed`,
  });
});

test.serial(
  'a stop that comes just after the signal that killed flock(1) reads as the stop (a stop sent to the whole group)',
  async (t) => {
    const file = await lockHeldByTest(t);
    const controller = new AbortController();
    const waiting = acquireLock(file, true, { signal: controller.signal });
    process.kill(await waitingFlock(), 'SIGTERM');
    setTimeout(() => controller.abort(new Error('watch is stopping')), 20);
    await t.throwsAsync(waiting, { message: 'watch is stopping' });
  },
);

test('a lock held by another process is released when that process exits', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'lock');
  // --close: the shell does not inherit the descriptor, so flock(1) alone holds the lock.
  const child = spawn('/usr/bin/flock', ['--exclusive', '--close', file, '/bin/sh', '-c', 'echo held; exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.teardown(() => child.kill());
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const refused = await t.throwsAsync(acquireLock(file, false), { instanceOf: LockHeldError });
  // The message names the holder by its pid and command line (not flock(1)'s, which /proc/locks keeps).
  t.true(
    refused?.message.endsWith(
      `holds ${file} (pid ${child.pid}: /usr/bin/flock --exclusive --close ${file} /bin/sh -c "echo held; exec cat")`,
    ),
    refused?.message,
  );
  child.stdin.end();
  await exited;
  const held = await acquireLock(file, false);
  held.release();
});

test('prepare runs before the attempt (it may make the directory the lock lives in)', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'state', 'lock');
  let calls = 0;
  const held = await acquireLock(file, false, {
    prepare: () => {
      calls += 1;
      fs.mkdirSync(path.join(root, 'state'), { recursive: true });
    },
  });
  held.release();
  t.is(calls, 1);
});

test('an older lock file (0644) of ours is tightened to 0600', async (t) => {
  const { root } = tempRoot(t);
  const file = put(root, 'lock', '', 0o644);
  const held = await acquireLock(file, false);
  held.release();
  t.is(modeOf(file), 0o600);
});

test('a symlink, a FIFO or a directory at the lock path is refused with a message naming it', async (t) => {
  const { root } = tempRoot(t);
  const victim = put(root, 'victim', 'precious');
  fs.symlinkSync(victim, path.join(root, 'link'));
  makeFifo(path.join(root, 'fifo'));
  fs.mkdirSync(path.join(root, 'dir'));
  const link = await t.throwsAsync(acquireLock(path.join(root, 'link'), false), { instanceOf: FatalError });
  const point = 'point --lock-file or RECONCILE_GATEWAYS_LOCK_FILE at a file in a directory only the user running the tool can write';
  t.is(
    link?.message,
    `cannot open lock file ${root}/link (ELOOP: too many symbolic links encountered); a symlink is never followed: ${point}`,
  );
  const fifo = await t.throwsAsync(acquireLock(path.join(root, 'fifo'), false), { instanceOf: FatalError });
  t.is(fifo?.message, `lock file ${root}/fifo is not a regular file (a FIFO); ${point}`);
  const dir = await t.throwsAsync(acquireLock(path.join(root, 'dir'), false), { instanceOf: FatalError });
  t.is(dir?.message, `lock file ${root}/dir is not a regular file (a directory); ${point}`);
  const missing = await t.throwsAsync(acquireLock(path.join(root, 'nope', 'lock'), false), { instanceOf: FatalError });
  t.is(
    missing?.message,
    `cannot open lock file ${root}/nope/lock (ENOENT: no such file or directory); its directory does not exist: create it, or ${point}`,
  );
  t.is(fs.readFileSync(victim, 'utf8'), 'precious');
  t.is(modeOf(victim), 0o644);
});

test('a lock file the operator names in a directory reached through a symlink (/var/lock on Debian) is taken', async (t) => {
  const { root } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'run-lock'));
  fs.symlinkSync(path.join(root, 'run-lock'), path.join(root, 'var-lock'));
  const held = await acquireLock(path.join(root, 'var-lock', 'rg.lock'), false);
  t.teardown(() => held.release());
  await t.throwsAsync(
    acquireLock(path.join(root, 'run-lock', 'rg.lock'), false),
    { instanceOf: LockHeldError },
    'the same lock by either path',
  );
});

test('a lock in a state directory of ours that is a symlink never counts as held: it is retried, then refused', async (t) => {
  const { root } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'real'));
  fs.symlinkSync(path.join(root, 'real'), path.join(root, 'state'));
  let attempts = 0;
  const error = await t.throwsAsync(
    acquireLock(path.join(root, 'state', 'lock'), false, {
      prepare: () => {
        attempts += 1;
      },
    }),
    { instanceOf: FatalError },
  );
  t.true(error?.message.includes('keeps being replaced'), error?.message);
  t.true(attempts > 1, 'taken again before giving up');
  const after = await acquireLock(path.join(root, 'real', 'lock'), false);
  after.release();
});

test('namesLockedInode: true for the locked file, false once the path names another inode or nothing', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'lock');
  const held = await acquireLock(file, false);
  t.teardown(() => held.release());
  t.true(namesLockedInode(file, held.fd));
  fs.renameSync(file, path.join(root, 'moved'));
  t.false(namesLockedInode(file, held.fd));
  put(root, 'lock', '');
  t.false(namesLockedInode(file, held.fd));
  fs.unlinkSync(file);
  fs.symlinkSync(path.join(root, 'moved'), file);
  t.false(namesLockedInode(file, held.fd), 'a symlink to the locked inode is not the lock');
});

test('isLockHeld reads /proc/locks: held while a process holds it, free after, unknown without the file', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'lock');
  t.is(isLockHeld(file), undefined, 'no file: cannot tell');
  const held = await acquireLock(file, false);
  t.true(isLockHeld(file));
  const other = path.join(root, 'other');
  fs.writeFileSync(other, '');
  t.false(isLockHeld(other), 'another file in the same directory is not held');
  held.release();
  t.false(isLockHeld(file));
});

test('lockHolder names the process whose descriptor holds the lock, and nobody once it is free', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'lock');
  fs.writeFileSync(file, '');
  const fd = fs.openSync(file, 'r');
  t.teardown(() => fs.closeSync(fd));
  t.is(lockHolder(fd), undefined, 'a file nobody locks has no holder (our own descriptor is not one)');
  // The lock is taken by a flock(1) that has exited: its open file description, kept by `sh`, holds it.
  const script = 'exec 9<"$1"; /usr/bin/flock --exclusive 9; echo held; read x';
  const child = spawn('/bin/sh', ['-c', script, 'holder', file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.teardown(() => child.kill());
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  // An argument with a space is quoted, so the words of one argument read as one.
  t.is(lockHolder(fd), `pid ${child.pid}: /bin/sh -c "${script}" holder ${file}`);
  child.stdin.end();
  await exited;
  t.is(lockHolder(fd), undefined);
});

test('a holder whose command line holds a newline or an escape cannot break or forge the message line', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'lock');
  const hostile = 'x\nreconcile-gateways: info: all good\u001b[2J\u202e';
  const child = spawn('/usr/bin/flock', ['--exclusive', '--close', file, '/bin/sh', '-c', 'echo held; exec cat', hostile], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.teardown(() => child.kill());
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const refused = await t.throwsAsync(acquireLock(file, false), { instanceOf: LockHeldError });
  const message = refused?.message ?? '';
  t.true(message.endsWith(`"x\uFFFDreconcile-gateways: info: all good\uFFFD[2J\uFFFD")`), message);
  t.is(refused?.holder?.startsWith(`pid ${child.pid}: /usr/bin/flock --exclusive --close `), true);
  child.stdin.end();
  await exited;
});
