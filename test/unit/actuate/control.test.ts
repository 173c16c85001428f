/**
 * src/actuate/control.ts: command bytes written to s6's control FIFOs, on a temp tree whose FIFOs
 * this process reads. Failure paths: nobody listening, not a FIFO, a symlink, no such directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { sendControl, sendIfListening, svc, svscanRescan } from '../../../src/actuate/control.js';
import { type Dir, FsError, closeDir, openRoot } from '../../../src/safe-fs/index.js';
import { listenOnControl, makeFifo } from '../../helpers/fifo.js';

/** A fresh directory opened as a Dir, both released at teardown. */
function tempRoot(t: ExecutionContext): { root: string; dir: Dir } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-control-'));
  const dir = openRoot(root);
  t.teardown(() => {
    closeDir(dir);
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { root, dir };
}

test('svscanRescan writes a, and sendIfListening an, to .s6-svscan/control', (t) => {
  const { root, dir } = tempRoot(t);
  const fifo = listenOnControl(t, path.join(root, '.s6-svscan'));
  svscanRescan(dir);
  t.is(fifo.received(), 'a');
  t.true(sendIfListening(dir, '.s6-svscan', 'an'));
  t.is(fifo.received(), 'an');
});

test('sendIfListening: nobody reading, or no such directory, is no failure, just nothing sent; anything else is', (t) => {
  const { root, dir } = tempRoot(t);
  t.false(sendIfListening(dir, 'supervise', 'd'), 'no supervise/');
  makeFifo(path.join(root, 'supervise', 'control'));
  t.false(sendIfListening(dir, 'supervise', 'd'), 'nobody reads it');
  fs.rmSync(path.join(root, 'supervise', 'control'));
  fs.writeFileSync(path.join(root, 'supervise', 'control'), '');
  t.throws(() => sendIfListening(dir, 'supervise', 'd'), { instanceOf: FsError, message: /not a FIFO/ });
});

test('svc writes u, d and r to supervise/control of a slot', (t) => {
  const { root, dir } = tempRoot(t);
  const fifo = listenOnControl(t, path.join(root, 'supervise'));
  svc(dir, 'u');
  svc(dir, 'd');
  svc(dir, 'r');
  t.is(fifo.received(), 'udr');
});

test('a control FIFO nobody reads fails with ENXIO instead of blocking', (t) => {
  const { root, dir } = tempRoot(t);
  makeFifo(path.join(root, 'supervise', 'control'));
  const error = t.throws(() => svc(dir, 'u'), { instanceOf: FsError });
  t.is(error?.code, 'ENXIO');
  t.true(error?.message.includes(`${root}/supervise/control`), error?.message);
});

test('a regular file where the FIFO should be is refused and left unwritten', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'supervise'));
  fs.writeFileSync(path.join(root, 'supervise', 'control'), '');
  const error = t.throws(() => sendControl(dir, 'supervise', 'd'), { instanceOf: FsError });
  t.true(error?.message.includes('not a FIFO'), error?.message);
  t.is(fs.readFileSync(path.join(root, 'supervise', 'control'), 'utf8'), '');
});

test('a symlinked control or supervise directory is never followed', (t) => {
  const { root, dir } = tempRoot(t);
  const elsewhere = listenOnControl(t, path.join(root, 'elsewhere'));
  fs.mkdirSync(path.join(root, 'supervise'));
  fs.symlinkSync(elsewhere.path, path.join(root, 'supervise', 'control'));
  t.throws(() => svc(dir, 'd'), { instanceOf: FsError });
  fs.rmSync(path.join(root, 'supervise'), { recursive: true });
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'supervise'));
  t.throws(() => svc(dir, 'd'), { instanceOf: FsError });
  t.is(elsewhere.received(), '', 'nothing reached the symlink target');
});

test('a slot without supervise/ fails with ENOENT', (t) => {
  const { dir } = tempRoot(t);
  const error = t.throws(() => svc(dir, 'u'), { instanceOf: FsError });
  t.is(error?.code, 'ENOENT');
});
