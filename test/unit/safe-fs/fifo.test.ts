/**
 * src/safe-fs/fifo.ts: whether anyone listens on an s6 control FIFO, answered without blocking,
 * and whether a supervisor runs (a listener, and, with a process table, a process of root or of
 * this user working in the service directory, as s6-supervise does). The listener is this process
 * holding the FIFO open for reading, the supervisor a child process working there (no s6 involved).
 */
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { closeDir, openDirAt } from '../../../src/safe-fs/core.js';
import type { Dir } from '../../../src/safe-fs/core.js';
import { dirKey, hasFifoReader, isSupervised, supervisorsOf } from '../../../src/safe-fs/fifo.js';
import { type ProcessTable, processTable } from '../../../src/safe-fs/processes.js';
import { listenOnControl, makeFifo, superviseStandIn, svscanStandIn } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { put, tempRoot } from '../support.js';

/** A look at the processes of a scandir `root` whose s6-svscan (a stand-in) it sees. */
function seeing(t: ExecutionContext, root: string, dir: Dir): ProcessTable {
  svscanStandIn(t, root);
  return processTable(dirKey(dir));
}

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

test('with a process table, a reader on the control FIFO is no supervisor unless a process of root or this user works in the directory', (t) => {
  const { root, dir } = tempRoot(t);
  listenOnControl(t, path.join(root, 'held', 'supervise'));
  put(root, 'held/supervise/lock', '');
  superviseStandIn(t, path.join(root, 'live', 'supervise'));
  // One that holds its lock but works elsewhere is no s6-supervise (which works in its directory for life).
  superviseStandIn(t, path.join(root, 'elsewhere', 'supervise'), { worksElsewhere: true });
  const table = seeing(t, root, dir);
  for (const service of ['held', 'elsewhere']) {
    t.false(isSupervised(dir, service, true, table), service);
    t.deepEqual(supervisorsOf(dir, service, table), { supervised: false, denied: false, heldOpen: true }, service);
    t.true(isSupervised(dir, service), `${service}: without a table, a reader counts`);
  }
  t.deepEqual(supervisorsOf(dir, 'live', table), { supervised: true, denied: false, heldOpen: false });
});

test('a look that does not see the scandir’s s6-svscan (another PID namespace, hidepid, none running) takes no reader for a mere one', (t) => {
  const { root, dir } = tempRoot(t);
  listenOnControl(t, path.join(root, 'held', 'supervise'));
  for (const table of [processTable(dirKey(dir)), processTable()])
    t.deepEqual(supervisorsOf(dir, 'held', table), { supervised: true, denied: false, heldOpen: false });
  // s6-svscan's files alone are not s6-svscan: it must be seen working in the scandir.
  listenOnControl(t, path.join(root, '.s6-svscan'));
  t.deepEqual(supervisorsOf(dir, 'held', processTable(dirKey(dir))), { supervised: true, denied: false, heldOpen: false });
});

test('with a process table, a process of this user working in a slot or its logger’s directory is its supervisor, whatever supervise/ says', (t) => {
  const { root, dir } = tempRoot(t);
  const main = superviseStandIn(t, path.join(root, 'main', 'supervise'));
  superviseStandIn(t, path.join(root, 'logged', 'log', 'supervise'));
  // Its control renamed away (a user who may write supervise/): s6 and a FIFO probe see nobody.
  fs.renameSync(main.path, path.join(root, 'main', 'supervise', 'control.old'));
  fs.mkdirSync(path.join(root, 'idle', 'supervise'), { recursive: true });
  const table = seeing(t, root, dir);
  t.true(isSupervised(dir, 'main', true, table));
  t.false(isSupervised(dir, 'main'), 'without a table, nobody listens');
  t.true(isSupervised(dir, 'logged', true, table), 'its logger’s supervisor');
  t.false(isSupervised(dir, 'logged', false, table), 'the slot’s own is gone');
  t.false(isSupervised(dir, 'idle', true, table));
  t.false(isSupervised(dir, 'gone', true, table));
  main.exit();
  t.false(isSupervised(dir, 'main', true, processTable(dirKey(dir))), 'once it exits');
});

test('with a process table, a supervisor that exits no longer counts, though its control is still held open', (t) => {
  const { root, dir } = tempRoot(t);
  const supervisor = superviseStandIn(t, path.join(root, 'slot', 'supervise'));
  const reader = fs.openSync(supervisor.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(reader));
  svscanStandIn(t, root);
  const look = (): ProcessTable => processTable(dirKey(dir));
  t.true(isSupervised(dir, 'slot', true, look()));
  supervisor.exit();
  t.false(isSupervised(dir, 'slot', true, look()), 'the reader left behind is not waited for');
});

needsRoot(test)(
  'with a process table, a process of another user (not root, not this user) working in the directory is no supervisor',
  (t) => {
    const { root, dir } = tempRoot(t);
    fs.chmodSync(root, 0o755);
    superviseStandIn(t, path.join(root, 'theirs', 'supervise'), { uid: 65534 });
    t.deepEqual(supervisorsOf(dir, 'theirs', seeing(t, root, dir)), { supervised: false, denied: false, heldOpen: true });
  },
);
