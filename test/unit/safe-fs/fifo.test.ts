/**
 * src/safe-fs/fifo.ts: whether anyone listens on an s6 control FIFO, answered without blocking,
 * and whether a supervisor runs (a listener, and a held `supervise/lock` where s6-svscan is seen to
 * hold its own lock). The listener is this process holding the FIFO open for reading, the lock's
 * holder a child process (no s6 involved).
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { closeDir, openDirAt } from '../../../src/safe-fs/core.js';
import { hasFifoReader, isSupervised, supervisorLocks, supervisorWorksIn, supervisorsOf } from '../../../src/safe-fs/fifo.js';
import { lockTable } from '../../../src/safe-fs/locks.js';
import { listenOnControl, makeFifo, superviseStandIn, svscanStandIn } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { put, tempRoot } from '../support.js';

test('a FIFO with a reader has one; without a reader the probe says no instead of blocking', (t) => {
  const { root, dir } = tempRoot(t);
  listenOnControl(t, path.join(root, 'heard'));
  makeFifo(path.join(root, 'deaf', 'control'));
  const heard = openDirAt(dir, 'heard');
  const deaf = openDirAt(dir, 'deaf');
  t.teardown(() => {
    closeDir(heard);
    closeDir(deaf);
  });
  t.true(hasFifoReader(heard, 'control'));
  t.false(hasFifoReader(deaf, 'control'));
});

test('a regular file, a missing entry or a symlink to a listened FIFO is no reader', (t) => {
  const { root, dir } = tempRoot(t);
  const fifo = listenOnControl(t, path.join(root, 'real'));
  put(root, 'file', '');
  fs.symlinkSync(fifo.path, path.join(root, 'link'));
  t.false(hasFifoReader(dir, 'file'));
  t.false(hasFifoReader(dir, 'missing'));
  t.false(hasFifoReader(dir, 'link'));
  t.is(fifo.received(), '', 'the probe writes nothing');
});

test('isSupervised: a supervisor on the slot or on its logger counts', (t) => {
  const { root, dir } = tempRoot(t);
  superviseStandIn(t, path.join(root, 'slot-a', 'supervise'));
  fs.mkdirSync(path.join(root, 'slot-b', 'supervise'), { recursive: true });
  superviseStandIn(t, path.join(root, 'slot-b', 'log', 'supervise'));
  t.true(isSupervised(dir, 'slot-a'));
  t.true(isSupervised(dir, 'slot-b'));
});

test('isSupervised: no slot, no supervise/, or FIFOs nobody reads mean not supervised', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'bare'));
  makeFifo(path.join(root, 'stopped', 'supervise', 'control'));
  makeFifo(path.join(root, 'stopped', 'log', 'supervise', 'control'));
  t.false(isSupervised(dir, 'gone'));
  t.false(isSupervised(dir, 'bare'));
  t.false(isSupervised(dir, 'stopped'));
});

test('isSupervised never follows a symlinked slot or supervise/ to a supervisor', (t) => {
  const { root, dir } = tempRoot(t);
  superviseStandIn(t, path.join(root, 'live', 'supervise'));
  fs.symlinkSync(path.join(root, 'live'), path.join(root, 'slot-link'));
  fs.mkdirSync(path.join(root, 'slot-sup'));
  fs.symlinkSync(path.join(root, 'live', 'supervise'), path.join(root, 'slot-sup', 'supervise'));
  t.true(isSupervised(dir, 'live'));
  t.false(isSupervised(dir, 'slot-link'));
  t.false(isSupervised(dir, 'slot-sup'));
});

test('with a lock table, a reader on the control FIFO is no supervisor unless supervise/lock is held (anyone who may open the FIFO can read it)', (t) => {
  const { root, dir } = tempRoot(t);
  listenOnControl(t, path.join(root, 'no-lock', 'supervise'));
  listenOnControl(t, path.join(root, 'free-lock', 'supervise'));
  put(root, 'free-lock/supervise/lock', '');
  // A symlink to a lock a supervisor holds is not that supervisor's own lock.
  const live = superviseStandIn(t, path.join(root, 'live', 'supervise'));
  listenOnControl(t, path.join(root, 'linked-lock', 'supervise'));
  fs.symlinkSync(path.join(path.dirname(live.path), 'lock'), path.join(root, 'linked-lock', 'supervise', 'lock'));
  const locks = lockTable();
  for (const service of ['no-lock', 'free-lock', 'linked-lock']) {
    t.false(isSupervised(dir, service, true, locks), service);
    t.deepEqual(supervisorsOf(dir, service, locks), { supervised: false, denied: false, heldOpen: true }, service);
    t.true(isSupervised(dir, service), `${service}: without one, a reader counts`);
  }
  t.deepEqual(supervisorsOf(dir, 'live', locks), { supervised: true, denied: false, heldOpen: false });
});

test('a held lock the table does not list (/proc/locks is read a page at a time) still counts while a supervisor works in the directory', (t) => {
  const { root, dir } = tempRoot(t);
  superviseStandIn(t, path.join(root, 'live', 'supervise'));
  listenOnControl(t, path.join(root, 'planted', 'supervise'));
  put(root, 'planted/supervise/lock', '');
  // A table that missed every line: what a reading torn by other locks coming and going can give.
  put(root, 'torn-locks', '');
  const torn = lockTable(path.join(root, 'torn-locks'));
  t.deepEqual(supervisorsOf(dir, 'live', torn), { supervised: true, denied: false, heldOpen: false }, 'its supervisor works there');
  t.deepEqual(supervisorsOf(dir, 'planted', torn), { supervised: false, denied: false, heldOpen: true }, 'nobody works there');
});

test('a held supervise/lock alone makes a reader a supervisor, wherever the holder works', (t) => {
  const { root, dir } = tempRoot(t);
  superviseStandIn(t, path.join(root, 'live', 'supervise'), { worksElsewhere: true });
  t.deepEqual(supervisorsOf(dir, 'live', lockTable()), { supervised: true, denied: false, heldOpen: false });
});

test('a supervise/lock with a second name is no supervisor’s own: a hard link to a lock root holds does not make a reader one', (t) => {
  const { root, dir } = tempRoot(t);
  const live = superviseStandIn(t, path.join(root, 'live', 'supervise'));
  listenOnControl(t, path.join(root, 'planted', 'supervise'));
  fs.linkSync(path.join(path.dirname(live.path), 'lock'), path.join(root, 'planted', 'supervise', 'lock'));
  const locks = lockTable();
  t.deepEqual(supervisorsOf(dir, 'planted', locks), { supervised: false, denied: false, heldOpen: true });
  t.deepEqual(
    supervisorsOf(dir, 'live', locks),
    { supervised: true, denied: false, heldOpen: false },
    'nor does it make the real one none',
  );
});

test('supervisorWorksIn: a process of this user working in a slot or its logger’s directory is found; none, or a gone slot, is not', (t) => {
  const { root, dir } = tempRoot(t);
  const main = superviseStandIn(t, path.join(root, 'main', 'supervise'));
  superviseStandIn(t, path.join(root, 'logged', 'log', 'supervise'));
  fs.mkdirSync(path.join(root, 'idle', 'supervise'), { recursive: true });
  const locks = lockTable();
  t.true(supervisorWorksIn(dir, 'main', locks));
  t.true(supervisorWorksIn(dir, 'logged', locks), 'its logger’s supervisor');
  t.false(supervisorWorksIn(dir, 'idle', locks));
  t.false(supervisorWorksIn(dir, 'gone', locks));
  main.exit();
  t.false(supervisorWorksIn(dir, 'main', lockTable()), 'once it exits');
});

test('with a lock table, a supervisor that exits (its lock released) no longer counts, though its control is still held open', (t) => {
  const { root, dir } = tempRoot(t);
  const supervisor = superviseStandIn(t, path.join(root, 'slot', 'supervise'));
  const reader = fs.openSync(supervisor.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(reader));
  t.true(isSupervised(dir, 'slot', true, lockTable()));
  supervisor.exit();
  t.false(isSupervised(dir, 'slot', true, lockTable()), 'the reader left behind is not waited for');
});

needsRoot(test)('with a lock table, supervise/lock held by a process of another user (not root, not this user) is no supervisor', (t) => {
  const { root, dir } = tempRoot(t);
  fs.chmodSync(root, 0o755);
  superviseStandIn(t, path.join(root, 'theirs', 'supervise'), { uid: 65534 });
  t.deepEqual(supervisorsOf(dir, 'theirs', lockTable()), { supervised: false, denied: false, heldOpen: true });
});

test('supervisorLocks: the lock rule applies where the scandir’s s6-svscan listens and holds .s6-svscan/lock', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  listenOnControl(t, path.join(root, 'held', 'supervise'));
  const locks = supervisorLocks(dir);
  t.not(locks, undefined);
  t.deepEqual(supervisorsOf(dir, 'held', locks), { supervised: false, denied: false, heldOpen: true });
});

test('supervisorLocks: where s6-svscan’s lock is not held (an s6 that locks only while starting), a reader alone still counts as a supervisor', (t) => {
  const { root, dir } = tempRoot(t);
  listenOnControl(t, path.join(root, '.s6-svscan'));
  put(root, '.s6-svscan/lock', '');
  listenOnControl(t, path.join(root, 'held', 'supervise'));
  put(root, 'held/supervise/lock', '');
  const locks = supervisorLocks(dir);
  t.is(locks, undefined);
  t.true(isSupervised(dir, 'held', true, locks));
  t.deepEqual(supervisorsOf(dir, 'held', locks), { supervised: true, denied: false, heldOpen: false });
});

test('supervisorLocks: nothing is shown without a listening s6-svscan, with a lock that is a symlink, or without a readable lock table', (t) => {
  const { root, dir } = tempRoot(t);
  t.is(supervisorLocks(dir), undefined, 'no .s6-svscan');
  // A held lock, but nobody reads s6-svscan's control: not its s6-svscan's.
  const svscan = superviseStandIn(t, path.join(root, 'elsewhere'));
  makeFifo(path.join(root, '.s6-svscan', 'control'));
  fs.symlinkSync(path.join(root, 'elsewhere', 'lock'), path.join(root, '.s6-svscan', 'lock'));
  t.is(supervisorLocks(dir), undefined, 'no s6-svscan listening');
  const reader = fs.openSync(path.join(root, '.s6-svscan', 'control'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(reader));
  t.is(supervisorLocks(dir), undefined, 'a symlink to a held lock is not s6-svscan’s lock');
  fs.unlinkSync(path.join(root, '.s6-svscan', 'lock'));
  fs.renameSync(path.join(root, 'elsewhere', 'lock'), path.join(root, '.s6-svscan', 'lock'));
  t.not(supervisorLocks(dir), undefined, 'the held lock itself');
  t.is(supervisorLocks(dir, lockTable(path.join(root, 'no-proc-locks'))), undefined, 'no lock table: cannot tell');
  svscan.exit();
  t.is(supervisorLocks(dir), undefined, 'released');
});

needsRoot(test)('supervisorLocks: s6-svscan’s lock held by another user shows nothing; who owns the file does not matter', (t) => {
  const { root, dir } = tempRoot(t);
  fs.chmodSync(root, 0o755);
  superviseStandIn(t, path.join(root, '.s6-svscan'), { uid: 65534 });
  t.is(supervisorLocks(dir), undefined, 'held by nobody');
  // The cont-init example hands .s6-svscan/lock to hermes (for s6-svscanctl); root's s6-svscan holds it.
  const other = tempRoot(t);
  svscanStandIn(t, other.root);
  fs.chownSync(path.join(other.root, '.s6-svscan', 'lock'), 65534, 65534);
  t.not(supervisorLocks(other.dir), undefined, 'a lock file of hermes’, held by root');
});
