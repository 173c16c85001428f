/**
 * src/actuate/observed-slot.ts: an operation touches a slot only if it is still the directory
 * observe saw (device, inode, owner). One renamed into the slot's name since is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { isSameIdentity, openObservedSlot } from '../../../src/actuate/observed-slot.js';
import { FsError, closeDir, identityOf, openDirAt } from '../../../src/safe-fs/index.js';
import { needsRoot } from '../../helpers/needs.js';
import { SLOT, scandirWithSlot } from './support.js';

test('isSameIdentity compares device, inode and owner', (t) => {
  const a = { dev: 1, ino: 2, uid: 0 };
  t.true(isSameIdentity(a, { ...a }));
  t.false(isSameIdentity(a, { ...a, dev: 9 }));
  t.false(isSameIdentity(a, { ...a, ino: 9 }));
  t.false(isSameIdentity(a, { ...a, uid: 9 }));
});

test('the slot observe saw opens; without an expectation any directory there opens', (t) => {
  const s = scandirWithSlot(t);
  const seen = openDirAt(s.dir, SLOT);
  const expect = identityOf(seen);
  closeDir(seen);
  const slot = openObservedSlot(s.dir, SLOT, expect);
  t.deepEqual(identityOf(slot), expect);
  closeDir(slot);
  const unchecked = openObservedSlot(s.dir, SLOT, undefined);
  t.deepEqual(identityOf(unchecked), expect);
  closeDir(unchecked);
});

test('a directory swapped in under the slot name since is refused, and left as it is', (t) => {
  const s = scandirWithSlot(t);
  const seen = openDirAt(s.dir, SLOT);
  const expect = identityOf(seen);
  closeDir(seen);
  fs.renameSync(s.slot, path.join(s.root, 'old'));
  fs.mkdirSync(s.slot);
  fs.writeFileSync(path.join(s.slot, 'run'), 'theirs');
  const error = t.throws(() => openObservedSlot(s.dir, SLOT, expect), { instanceOf: FsError });
  t.is(error?.message, `open ${s.root}/${SLOT}: the slot was replaced since this pass read it; left as it is`);
  t.is(fs.readFileSync(path.join(s.slot, 'run'), 'utf8'), 'theirs');
});

needsRoot(test)('the same directory chowned to another user since is refused', (t) => {
  const s = scandirWithSlot(t);
  const seen = openDirAt(s.dir, SLOT);
  const expect = identityOf(seen);
  closeDir(seen);
  fs.chownSync(s.slot, 65534, 65534);
  t.throws(() => openObservedSlot(s.dir, SLOT, expect), { instanceOf: FsError, message: /replaced since this pass read it/ });
});

test('a symlink or nothing at the slot name fails to open', (t) => {
  const s = scandirWithSlot(t);
  fs.symlinkSync(s.slot, path.join(s.root, 'gateway-link'));
  t.throws(() => openObservedSlot(s.dir, 'gateway-link', undefined), { instanceOf: FsError });
  t.is(t.throws(() => openObservedSlot(s.dir, 'gateway-gone', undefined), { instanceOf: FsError })?.code, 'ENOENT');
});
