/**
 * src/safe-fs/fifo.ts: whether anyone listens on an s6 control FIFO, answered without blocking.
 * The listener is this process holding the FIFO open for reading (no s6 involved).
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { closeDir, openDirAt } from '../../../src/safe-fs/core.js';
import { hasFifoReader, isSupervised } from '../../../src/safe-fs/fifo.js';
import { listenOnControl, makeFifo } from '../../helpers/fifo.js';
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

test('isSupervised: a listener on the slot or on its logger counts', (t) => {
  const { root, dir } = tempRoot(t);
  listenOnControl(t, path.join(root, 'slot-a', 'supervise'));
  fs.mkdirSync(path.join(root, 'slot-b', 'supervise'), { recursive: true });
  listenOnControl(t, path.join(root, 'slot-b', 'log', 'supervise'));
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

test('isSupervised never follows a symlinked slot or supervise/ to a listener', (t) => {
  const { root, dir } = tempRoot(t);
  listenOnControl(t, path.join(root, 'live', 'supervise'));
  fs.symlinkSync(path.join(root, 'live'), path.join(root, 'slot-link'));
  fs.mkdirSync(path.join(root, 'slot-sup'));
  fs.symlinkSync(path.join(root, 'live', 'supervise'), path.join(root, 'slot-sup', 'supervise'));
  t.true(isSupervised(dir, 'live'));
  t.false(isSupervised(dir, 'slot-link'));
  t.false(isSupervised(dir, 'slot-sup'));
});
