/**
 * src/safe-fs/remove.ts: unlinking and tree removal on a temp tree. They delete the links
 * themselves, never what they point to; a tree is deleted without recursion, within its budget.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FsError, closeDir } from '../../../src/safe-fs/core.js';
import { removeTreeAt, unlinkAt } from '../../../src/safe-fs/remove.js';
import { mkdirAt, touchAt } from '../../../src/safe-fs/write.js';
import { makeFifo } from '../../helpers/fifo.js';
import { put, tempRoot } from '../support.js';

test('unlinkAt removes a symlink, not its target; false when nothing is there; a directory is an error', (t) => {
  const { root, dir } = tempRoot(t);
  const victim = put(root, 'victim', 'precious');
  fs.symlinkSync(victim, path.join(root, 'gateway.pid'));
  fs.mkdirSync(path.join(root, 'd'));
  t.true(unlinkAt(dir, 'gateway.pid'));
  t.false(unlinkAt(dir, 'gateway.pid'));
  t.is(fs.readFileSync(victim, 'utf8'), 'precious');
  t.throws(() => unlinkAt(dir, 'd'), { instanceOf: FsError, message: /^unlink / });
  t.true(fs.existsSync(path.join(root, 'd')));
});

test('removeTreeAt deletes a whole tree but only the symlinks in it, never what they point to', (t) => {
  const { root, dir } = tempRoot(t);
  const outside = path.join(root, 'outside');
  put(root, 'outside/keep', 'precious');
  put(root, 'slot/run', 'x');
  put(root, 'slot/log/supervise/status', 'x');
  fs.symlinkSync(outside, path.join(root, 'slot', 'link-dir'));
  fs.symlinkSync(path.join(outside, 'keep'), path.join(root, 'slot', 'log', 'link-file'));
  makeFifo(path.join(root, 'slot', 'supervise', 'control'));
  t.true(removeTreeAt(dir, 'slot'));
  t.false(fs.existsSync(path.join(root, 'slot')));
  t.deepEqual(fs.readdirSync(outside), ['keep']);
  t.is(fs.readFileSync(path.join(outside, 'keep'), 'utf8'), 'precious');
});

test('removeTreeAt deletes entries whose names are not valid UTF-8, in one call and on a small budget', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'slot/event/keep-me-not', 'x');
  const raw = (rel: string, name: string): Buffer => Buffer.concat([Buffer.from(path.join(root, rel) + '/'), Buffer.from(name, 'latin1')]);
  fs.writeFileSync(raw('slot/event', 'x\xff'), 'x');
  fs.mkdirSync(raw('slot', 'd\xfe'));
  fs.writeFileSync(raw('slot', 'd\xfe/f\xff'), 'x');
  t.true(removeTreeAt(dir, 'slot', { left: 100 }));
  t.false(fs.existsSync(path.join(root, 'slot')));
});

test('removeTreeAt on a symlink removes the link only; on a missing entry it is done at once', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'outside/keep', 'precious');
  fs.symlinkSync(path.join(root, 'outside'), path.join(root, 'slot'));
  t.true(removeTreeAt(dir, 'slot'));
  t.false(fs.existsSync(path.join(root, 'slot')));
  t.true(fs.existsSync(path.join(root, 'outside', 'keep')));
  t.true(removeTreeAt(dir, 'never-there'));
});

test('removeTreeAt stops when its budget runs out and a later call finishes the job', (t) => {
  const { root, dir } = tempRoot(t);
  for (let i = 0; i < 20; i++) put(root, `big/d${i % 4}/f${i}`, 'x');
  const budget = { left: 5 };
  t.false(removeTreeAt(dir, 'big', budget));
  t.true(budget.left < 0, 'the budget was spent');
  t.true(fs.existsSync(path.join(root, 'big')));
  t.true(removeTreeAt(dir, 'big', { left: 1000 }));
  t.false(fs.existsSync(path.join(root, 'big')));
});

test('removeTreeAt deletes directories of more entries than it lists at a time (it never holds a listing whole)', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'big', 'sub'), { recursive: true });
  for (let i = 0; i < 9000; i++) fs.writeFileSync(path.join(root, 'big', `f${i}`), '');
  for (let i = 0; i < 5000; i++) fs.writeFileSync(path.join(root, 'big', 'sub', `g${i}`), '');
  t.true(removeTreeAt(dir, 'big', { left: 100_000 }));
  t.false(fs.existsSync(path.join(root, 'big')));
});

test('removeTreeAt deletes a tree nested deeper than PATH_MAX lets a path name', (t) => {
  const { root, dir } = tempRoot(t);
  // 20 levels of 250-byte names: the bottom has no path shorter than 4096 bytes, so only descriptor-relative work reaches it.
  const long = 'd'.repeat(250);
  let parent = mkdirAt(dir, 'deep', 0o755);
  for (let i = 0; i < 20; i++) {
    touchAt(parent, `f${i}`, 0o644);
    const child = mkdirAt(parent, long, 0o755);
    closeDir(parent);
    parent = child;
  }
  touchAt(parent, 'bottom', 0o644);
  closeDir(parent);
  t.true(removeTreeAt(dir, 'deep'));
  t.deepEqual(fs.readdirSync(root), []);
});
