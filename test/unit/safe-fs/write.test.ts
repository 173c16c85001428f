/**
 * src/safe-fs/write.ts: every write on a temp tree. Files are replaced atomically with the mode
 * (and owner) asked for, whatever the umask; nothing writes through a symlink or blocks on a FIFO.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { type Dir, FsError, closeDir, openDirAt, selfPath } from '../../../src/safe-fs/core.js';
import {
  chmodFileAt,
  fixDir,
  lchownAt,
  mkdirAt,
  openAppendAt,
  probeGrants,
  renameAt,
  touchAt,
  writeFileAt,
} from '../../../src/safe-fs/write.js';
import { listenOnControl, makeFifo } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { makeReadOnly, modeOf, put, tempRoot } from '../support.js';

const NOBODY = { uid: 65534, gid: 65534 };

test('writeFileAt gives exactly the mode asked for, group- and world-writable bits included', (t) => {
  const { root, dir } = tempRoot(t);
  writeFileAt(dir, 'run', 'new\n', { mode: 0o666, fsync: true });
  t.is(fs.readFileSync(path.join(root, 'run'), 'utf8'), 'new\n');
  t.is(modeOf(path.join(root, 'run')), 0o666);
  writeFileAt(dir, 'fresh', 'x', { mode: 0o662, fsync: false, fresh: true });
  t.is(modeOf(path.join(root, 'fresh')), 0o662);
});

test('writeFileAt replaces atomically: a hard link to the old file keeps the old bytes, no temp file is left', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'run', 'old\n');
  fs.linkSync(path.join(root, 'run'), path.join(root, 'keep'));
  writeFileAt(dir, 'run', 'new\n', { mode: 0o755, fsync: false });
  t.is(fs.readFileSync(path.join(root, 'run'), 'utf8'), 'new\n');
  t.is(fs.readFileSync(path.join(root, 'keep'), 'utf8'), 'old\n');
  t.deepEqual(fs.readdirSync(root).sort(), ['keep', 'run']);
});

test('writeFileAt replaces a symlink at its name instead of writing through it', (t) => {
  const { root, dir } = tempRoot(t);
  const victim = put(root, 'victim', 'precious');
  fs.symlinkSync(victim, path.join(root, 'run'));
  writeFileAt(dir, 'run', 'new', { mode: 0o644, fsync: false });
  t.is(fs.readFileSync(victim, 'utf8'), 'precious');
  t.false(fs.lstatSync(path.join(root, 'run')).isSymbolicLink());
  t.is(fs.readFileSync(path.join(root, 'run'), 'utf8'), 'new');
});

test('writeFileAt removes a leftover temp file, even a planted symlink, without following it', (t) => {
  const { root, dir } = tempRoot(t);
  const victim = put(root, 'victim', 'precious');
  fs.symlinkSync(victim, path.join(root, '.run.rg-tmp'));
  writeFileAt(dir, 'run', 'new', { mode: 0o644, fsync: false });
  t.is(fs.readFileSync(victim, 'utf8'), 'precious');
  t.is(fs.readFileSync(path.join(root, 'run'), 'utf8'), 'new');
  t.false(fs.existsSync(path.join(root, '.run.rg-tmp')));
});

test('writeFileAt with overFileOnly replaces a regular file or nothing, and never a FIFO, symlink or device', (t) => {
  const { root, dir } = tempRoot(t);
  const opts = { mode: 0o644, fsync: false, overFileOnly: true };
  writeFileAt(dir, 'new', 'a', opts);
  put(root, 'old', 'old');
  writeFileAt(dir, 'old', 'b', opts);
  t.is(fs.readFileSync(path.join(root, 'new'), 'utf8'), 'a');
  t.is(fs.readFileSync(path.join(root, 'old'), 'utf8'), 'b');
  makeFifo(path.join(root, 'fifo'));
  fs.symlinkSync(path.join(root, 'old'), path.join(root, 'link'));
  const odd = ['fifo', 'link'];
  if (process.geteuid?.() === 0) {
    spawnSync('mknod', ['-m', '0666', path.join(root, 'null'), 'c', '1', '3']);
    odd.push('null');
  }
  for (const name of odd) {
    const before = fs.lstatSync(path.join(root, name));
    const err = t.throws(() => writeFileAt(dir, name, 'x', opts), { instanceOf: FsError });
    t.regex(err?.message ?? '', new RegExp(`^write ${root}/${name}: it is an? \\w+, not a regular file, and is never replaced$`));
    const after = fs.lstatSync(path.join(root, name));
    t.is(after.ino, before.ino, `${name} is the entry it was`);
  }
  t.deepEqual(
    fs.readdirSync(root).sort(),
    ['fifo', 'link', 'new', 'old', ...(odd.includes('null') ? ['null'] : [])].sort(),
    'no temp file left',
  );
});

test('writeFileAt over a directory fails with an FsError naming the file and leaves no temp file', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'run'));
  const error = t.throws(() => writeFileAt(dir, 'run', 'x', { mode: 0o644, fsync: false }), { instanceOf: FsError });
  t.true(error?.message.startsWith(`write ${root}/run:`), error?.message);
  t.deepEqual(fs.readdirSync(root), ['run']);
});

test('writeFileAt with fresh refuses to write over an existing entry (EEXIST) and over a FIFO without blocking', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'run', 'old');
  makeFifo(path.join(root, 'fifo'));
  t.is(t.throws(() => writeFileAt(dir, 'run', 'new', { mode: 0o644, fsync: false, fresh: true }), { instanceOf: FsError })?.code, 'EEXIST');
  t.is(fs.readFileSync(path.join(root, 'run'), 'utf8'), 'old');
  t.is(
    t.throws(() => writeFileAt(dir, 'fifo', 'new', { mode: 0o644, fsync: false, fresh: true }), { instanceOf: FsError })?.code,
    'EEXIST',
  );
});

test('writeFileAt keeps the mtime it is given', (t) => {
  const { root, dir } = tempRoot(t);
  const mtimeMs = Date.UTC(2025, 5, 1, 12);
  writeFileAt(dir, 'run', 'x', { mode: 0o755, fsync: false, mtimeMs });
  t.is(fs.statSync(path.join(root, 'run')).mtimeMs, mtimeMs);
});

needsRoot(test)('writeFileAt into a read-only directory fails with EROFS and changes nothing', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'ro/run', 'old');
  makeReadOnly(t, path.join(root, 'ro'));
  const ro = openDirAt(dir, 'ro');
  t.teardown(() => closeDir(ro));
  const error = t.throws(() => writeFileAt(ro, 'run', 'new', { mode: 0o644, fsync: false }), { instanceOf: FsError });
  t.is(error?.code, 'EROFS');
  t.is(fs.readFileSync(path.join(root, 'ro', 'run'), 'utf8'), 'old');
});

needsRoot(test)('writeFileAt and mkdirAt give the owner asked for', (t) => {
  const { root, dir } = tempRoot(t);
  writeFileAt(dir, 'run', 'x', { mode: 0o4755, fsync: false, owner: NOBODY });
  writeFileAt(dir, 'fresh', 'x', { mode: 0o644, fsync: false, fresh: true, owner: NOBODY });
  closeDir(mkdirAt(dir, 'log', 0o750, NOBODY));
  for (const name of ['run', 'fresh', 'log']) {
    const st = fs.lstatSync(path.join(root, name));
    t.deepEqual([st.uid, st.gid], [NOBODY.uid, NOBODY.gid], name);
  }
  t.is(modeOf(path.join(root, 'log')), 0o750);
  t.is(modeOf(path.join(root, 'run')), 0o4755, 'set-id bits survive the chown');
});

test('touchAt creates an empty marker with its mode once; an existing entry of any kind is left alone', (t) => {
  const { root, dir } = tempRoot(t);
  const victim = path.join(root, 'victim');
  fs.symlinkSync(victim, path.join(root, 'link'));
  makeFifo(path.join(root, 'fifo'));
  t.true(touchAt(dir, 'down', 0o666));
  t.is(modeOf(path.join(root, 'down')), 0o666);
  t.is(fs.readFileSync(path.join(root, 'down'), 'utf8'), '');
  t.false(touchAt(dir, 'down', 0o644));
  t.false(touchAt(dir, 'link', 0o644));
  t.false(fs.existsSync(victim), 'nothing created through the dangling link');
  t.false(touchAt(dir, 'fifo', 0o644));
});

test('touchAt in a missing directory fails with an FsError naming the marker', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'slot'));
  const slot = openDirAt(dir, 'slot');
  t.teardown(() => closeDir(slot));
  fs.rmdirSync(path.join(root, 'slot'));
  t.throws(() => touchAt(slot, 'down', 0o644), { instanceOf: FsError, message: new RegExp(`^create ${root}/slot/down`) });
});

test('openAppendAt appends to a log, creating it with its mode, and reports the size before', (t) => {
  const { root, dir } = tempRoot(t);
  const first = openAppendAt(dir, 'boot.log', 0o640);
  fs.writeSync(first.fd, 'one\n');
  fs.closeSync(first.fd);
  const second = openAppendAt(dir, 'boot.log', 0o640);
  fs.writeSync(second.fd, 'two\n');
  fs.closeSync(second.fd);
  t.is(first.size, 0);
  t.is(second.size, 4);
  t.is(fs.readFileSync(path.join(root, 'boot.log'), 'utf8'), 'one\ntwo\n');
  t.is(modeOf(path.join(root, 'boot.log')), 0o640);
});

test('openAppendAt refuses a symlink, a FIFO (with or without a reader) and a hard link', (t) => {
  const { root, dir } = tempRoot(t);
  const victim = put(root, 'victim', 'precious');
  fs.symlinkSync(victim, path.join(root, 'link.log'));
  makeFifo(path.join(root, 'deaf.log'));
  listenOnControl(t, path.join(root, 'heard'));
  fs.linkSync(victim, path.join(root, 'hard.log'));
  t.is(t.throws(() => openAppendAt(dir, 'link.log', 0o644), { instanceOf: FsError })?.code, 'ELOOP');
  t.is(t.throws(() => openAppendAt(dir, 'deaf.log', 0o644), { instanceOf: FsError })?.code, 'ENXIO');
  const heard = openDirAt(dir, 'heard');
  t.teardown(() => closeDir(heard));
  t.throws(() => openAppendAt(heard, 'control', 0o644), { instanceOf: FsError, message: /is a FIFO/ });
  t.throws(() => openAppendAt(dir, 'hard.log', 0o644), { instanceOf: FsError, message: /2 hard links/ });
  t.is(fs.readFileSync(victim, 'utf8'), 'precious');
});

test('mkdirAt makes a directory with exactly its mode, returns it open, and EEXIST is an error', (t) => {
  const { root, dir } = tempRoot(t);
  const made = mkdirAt(dir, 'event', 0o3730);
  t.teardown(() => closeDir(made));
  t.is(modeOf(path.join(root, 'event')), 0o3730);
  t.is(made.path, `${root}/event`);
  touchAt(made, 'inside', 0o644);
  t.true(fs.existsSync(path.join(root, 'event', 'inside')));
  t.is(t.throws(() => mkdirAt(dir, 'event', 0o755), { instanceOf: FsError })?.code, 'EEXIST');
  fs.symlinkSync('/tmp', path.join(root, 'link'));
  t.is(t.throws(() => mkdirAt(dir, 'link', 0o755), { instanceOf: FsError })?.code, 'EEXIST');
});

test('fixDir sets the mode of the open directory; chmodFileAt only of a regular file', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'log'), { mode: 0o700 });
  const victim = put(root, 'victim', '', 0o600);
  put(root, 'run', '', 0o600);
  fs.symlinkSync(victim, path.join(root, 'link'));
  makeFifo(path.join(root, 'fifo'));
  const log = openDirAt(dir, 'log');
  t.teardown(() => closeDir(log));
  fixDir(log, 0o755);
  t.is(modeOf(path.join(root, 'log')), 0o755);
  chmodFileAt(dir, 'run', 0o755);
  t.is(modeOf(path.join(root, 'run')), 0o755);
  t.is(t.throws(() => chmodFileAt(dir, 'link', 0o777), { instanceOf: FsError })?.code, 'ELOOP');
  t.throws(() => chmodFileAt(dir, 'fifo', 0o777), { instanceOf: FsError, message: /not a regular file/ });
  t.is(modeOf(victim), 0o600);
  t.is(modeOf(path.join(root, 'fifo')), 0o600);
  fs.linkSync(victim, path.join(root, 'hardlink'));
  t.throws(() => chmodFileAt(dir, 'hardlink', 0o777), { instanceOf: FsError, message: /2 hard links/ });
  t.is(modeOf(victim), 0o600, 'a hard link made after observe is not chmodded through');
});

needsRoot(test)("lchownAt changes the owner of the entry itself, never of a symlink's target", (t) => {
  const { root, dir } = tempRoot(t);
  const victim = put(root, 'victim', '');
  fs.symlinkSync(victim, path.join(root, 'link'));
  makeFifo(path.join(root, 'control'));
  lchownAt(dir, 'link', NOBODY);
  lchownAt(dir, 'control', NOBODY);
  t.is(fs.lstatSync(path.join(root, 'link')).uid, NOBODY.uid);
  t.is(fs.lstatSync(path.join(root, 'control')).uid, NOBODY.uid);
  t.is(fs.lstatSync(victim).uid, 0);
  t.throws(() => lchownAt(dir, 'gone', NOBODY), { instanceOf: FsError, message: /^chown / });
});

test('renameAt moves an entry between two open directories and names both ends when it fails', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'a'));
  fs.mkdirSync(path.join(root, 'b'));
  put(root, 'a/x', 'moved');
  const a = openDirAt(dir, 'a');
  const b = openDirAt(dir, 'b');
  t.teardown(() => {
    closeDir(a);
    closeDir(b);
  });
  renameAt(a, 'x', b, 'y');
  t.is(fs.readFileSync(path.join(root, 'b', 'y'), 'utf8'), 'moved');
  const error = t.throws(() => renameAt(a, 'x', b, 'z'), { instanceOf: FsError });
  t.is(error?.code, 'ENOENT');
  t.true(error?.message.startsWith(`rename ${root}/a/x -> ${root}/b/z`), error?.message);
});

/** A private tree addressed like the staging directory: by path through our descriptor of its root. */
function privateTree(dir: Dir, root: string, name: string): Dir {
  fs.mkdirSync(path.join(root, name), 0o700);
  const open = openDirAt(dir, name);
  return { fd: -1, path: open.path, rel: selfPath(open) };
}

test('probeGrants reads what the umask keeps of a new entry, leaves nothing behind, and modes made with it are exact', (t) => {
  const { root, dir } = tempRoot(t);
  const tree = probeGrants(privateTree(dir, root, 'staging'));
  t.is(tree.grants, 0o777 & ~process.umask());
  t.deepEqual(fs.readdirSync(path.join(root, 'staging')), []);
  closeDir(mkdirAt(tree, 'slot', 0o755));
  const slot = openDirAt(tree, 'slot');
  t.is(slot.grants, tree.grants, 'directories opened below inherit the probe');
  writeFileAt(slot, 'run', '#!/bin/sh\n', { mode: 0o755, fsync: false, fresh: true });
  writeFileAt(slot, 'type', 'longrun\n', { mode: 0o644, fsync: false, fresh: true });
  closeDir(mkdirAt(slot, 'event', 0o3730));
  closeDir(mkdirAt(slot, 'wide', 0o777));
  touchAt(slot, 'down', 0o666);
  const modes = Object.fromEntries(
    ['slot', 'slot/run', 'slot/type', 'slot/event', 'slot/wide', 'slot/down'].map((p) => [p, modeOf(path.join(root, 'staging', p))]),
  );
  t.deepEqual(modes, { slot: 0o755, 'slot/run': 0o755, 'slot/type': 0o644, 'slot/event': 0o3730, 'slot/wide': 0o777, 'slot/down': 0o666 });
});

test('probeGrants assumes nothing in a set-group-ID tree (its directories would inherit the bit); modes stay exact', (t) => {
  const { root, dir } = tempRoot(t);
  const base = privateTree(dir, root, 'staging');
  fs.chmodSync(path.join(root, 'staging'), 0o2700);
  const tree = probeGrants(base);
  t.is(tree.grants, undefined);
  closeDir(mkdirAt(tree, 'slot', 0o755));
  t.is(modeOf(path.join(root, 'staging', 'slot')), 0o755, 'the inherited set-group-ID bit is cleared by the chmod');
});

test('probeGrants outside a private tree, or when the probe cannot be made, changes nothing', (t) => {
  const { root, dir } = tempRoot(t);
  t.is(probeGrants(dir), dir);
  const tree = privateTree(dir, root, 'staging');
  fs.mkdirSync(path.join(root, 'staging', '.grants-probe'));
  t.is(probeGrants(tree).grants, undefined, 'an entry in the way: no probe, no assumption');
});
