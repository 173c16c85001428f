/**
 * src/safe-fs/core.ts: opening and reading through directory descriptors on a temp tree. Nothing
 * is followed (a symlinked directory is ELOOP, a symlinked file is refused), nothing blocks (a
 * FIFO where a file is expected is refused at once), and a file over its cap is never read.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import {
  FsError,
  closeDir,
  describeErrno,
  describeDir,
  describeType,
  errnoCode,
  identityOf,
  lstatAt,
  openDirAt,
  openDirIfExists,
  openRoot,
  pathAt,
  pathForChild,
  readDirAt,
  readFileAt,
  readFilePath,
  stampOf,
} from '../../../src/safe-fs/core.js';
import { makeFifo } from '../../helpers/fifo.js';
import { put, tempRoot } from '../support.js';

test('readFileAt returns the bytes, mode and owner of a regular file', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'a.json', '{"x":1}', 0o640);
  const read = readFileAt(dir, 'a.json', 1024);
  if (read.kind !== 'file') return t.fail(JSON.stringify(read));
  t.is(Buffer.from(read.bytes).toString('utf8'), '{"x":1}');
  t.is(read.mode & 0o7777, 0o640);
  t.is(read.uid, fs.statSync(path.join(root, 'a.json')).uid);
  t.false('links' in read, 'one name: no link count');
  fs.linkSync(path.join(root, 'a.json'), path.join(root, 'b.json'));
  t.like(readFileAt(dir, 'a.json', 1024), { kind: 'file', links: 2 });
});

test('readFileAt reports a missing file as missing, not as an error', (t) => {
  const { dir } = tempRoot(t);
  t.deepEqual(readFileAt(dir, 'nope', 1024), { kind: 'missing' });
});

test('readFileAt refuses a symlink, even one to a readable file, and never reads its target', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'secret', 'hunter2');
  fs.symlinkSync(path.join(root, 'secret'), path.join(root, 'link'));
  const read = readFileAt(dir, 'link', 1024);
  t.deepEqual(read, { kind: 'refused', reason: 'is a symlink', code: 'ELOOP' });
});

test('readFileAt refuses a FIFO at once instead of blocking on it', (t) => {
  const { root, dir } = tempRoot(t);
  makeFifo(path.join(root, 'state.json'));
  const read = readFileAt(dir, 'state.json', 1024);
  t.is(read.kind, 'refused');
  if (read.kind === 'refused') t.is(read.reason, 'is a FIFO');
});

test('readFileAt refuses a directory', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'd'));
  const read = readFileAt(dir, 'd', 1024);
  t.is(read.kind, 'refused');
  if (read.kind === 'refused') t.is(read.reason, 'is a directory');
});

test('readFileAt refuses a file over its cap without reading it, and reads one exactly at the cap', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'big', 'x'.repeat(101));
  put(root, 'fits', 'y'.repeat(100));
  t.deepEqual(readFileAt(dir, 'big', 100), { kind: 'refused', reason: 'is larger than 100 bytes (101)', code: 'EFBIG' });
  const fits = readFileAt(dir, 'fits', 100);
  t.is(fits.kind === 'file' ? fits.bytes.length : -1, 100);
});

test('openDirAt opens a subdirectory and refuses a symlink to one', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'real'));
  put(root, 'real/inside', 'here');
  fs.symlinkSync(path.join(root, 'real'), path.join(root, 'link'));
  const real = openDirAt(dir, 'real');
  t.teardown(() => closeDir(real));
  t.is(real.path, `${root}/real`);
  const read = readFileAt(real, 'inside', 100);
  t.is(read.kind === 'file' ? Buffer.from(read.bytes).toString() : read.kind, 'here');
  const error = t.throws(() => openDirAt(dir, 'link'), { instanceOf: FsError });
  // O_DIRECTORY|O_NOFOLLOW on a symlink: Linux reports ENOTDIR (the link is not a directory), others ELOOP.
  t.true(error?.code === 'ENOTDIR' || error?.code === 'ELOOP', error?.code);
  t.is(error?.path, `${root}/link`);
  t.is(error?.message, `open ${root}/link: is a symlink (not followed)`, 'named as what it is, not as a file');
});

test('openDirAt names a missing directory and a file in the way in its error', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'file', '');
  t.is(t.throws(() => openDirAt(dir, 'gone'), { instanceOf: FsError })?.code, 'ENOENT');
  const notDir = t.throws(() => openDirAt(dir, 'file'), { instanceOf: FsError });
  t.is(notDir?.code, 'ENOTDIR');
  t.true(notDir?.message.startsWith(`open ${root}/file: ENOTDIR`), notDir?.message);
});

test('openDirAt never opens a FIFO (no blocking), it fails with ENOTDIR', (t) => {
  const { root, dir } = tempRoot(t);
  makeFifo(path.join(root, 'fifo'));
  t.is(t.throws(() => openDirAt(dir, 'fifo'), { instanceOf: FsError })?.code, 'ENOTDIR');
});

test('openDirIfExists is undefined for a missing entry and still refuses a symlink', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'real'));
  fs.symlinkSync(path.join(root, 'real'), path.join(root, 'link'));
  t.is(openDirIfExists(dir, 'gone'), undefined);
  t.throws(() => openDirIfExists(dir, 'link'), { instanceOf: FsError, message: new RegExp(`^open ${root}/link: `) });
  const real = openDirIfExists(dir, 'real');
  t.truthy(real);
  closeDir(real);
});

test('openRoot fails with an FsError naming the path', (t) => {
  const { root } = tempRoot(t);
  const error = t.throws(() => openRoot(path.join(root, 'missing')), { instanceOf: FsError });
  t.is(error?.path, path.join(root, 'missing'));
  t.is(error?.code, 'ENOENT');
});

test('pathAt refuses anything that is not one path component', (t) => {
  const { dir } = tempRoot(t);
  for (const name of ['', '.', '..', 'a/b', '../x', 'a\0b']) {
    t.throws(() => pathAt(dir, name), { message: /refusing unsafe path component/ }, JSON.stringify(name));
  }
  t.like(readFileAt(dir, '../etc', 10), { kind: 'refused', reason: 'refusing unsafe path component "../etc"' });
});

test('lstatAt describes the entry itself (a dangling symlink is a symlink), and is undefined for a missing one', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'file', '');
  fs.symlinkSync('/nonexistent', path.join(root, 'dangling'));
  t.true(lstatAt(dir, 'dangling')?.isSymbolicLink());
  t.true(lstatAt(dir, 'file')?.isFile());
  t.is(lstatAt(dir, 'gone'), undefined);
});

test('describeType names every kind of entry for messages', (t) => {
  const { root } = tempRoot(t);
  fs.symlinkSync('x', path.join(root, 'l'));
  fs.mkdirSync(path.join(root, 'd'));
  makeFifo(path.join(root, 'f'));
  t.is(describeType(fs.lstatSync(path.join(root, 'l'))), 'a symlink');
  t.is(describeType(fs.lstatSync(path.join(root, 'd'))), 'a directory');
  t.is(describeType(fs.lstatSync(path.join(root, 'f'))), 'a FIFO');
  t.is(describeType(fs.lstatSync('/dev/null')), 'a device');
  t.is(describeType(fs.lstatSync(put(root, 'r', ''))), 'a regular file');
});

test('readDirAt reports a directory with its mode and a stamp that an added entry changes, and refuses a symlink or a file', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'log'));
  fs.chmodSync(path.join(root, 'log'), 0o750);
  fs.symlinkSync(path.join(root, 'log'), path.join(root, 'link'));
  put(root, 'file', '');
  const log = readDirAt(dir, 'log');
  t.is(log.meta.kind === 'dir' ? log.meta.mode & 0o7777 : -1, 0o750);
  t.is(log.stamp, stampOf(fs.lstatSync(path.join(root, 'log'))));
  t.deepEqual(readDirAt(dir, 'link'), { meta: { kind: 'refused', reason: 'is a symlink', code: 'EFTYPE' }, stamp: '', ctimeMs: 0 });
  t.deepEqual(readDirAt(dir, 'file').meta, { kind: 'refused', reason: 'is a regular file', code: 'EFTYPE' });
  t.deepEqual(readDirAt(dir, 'gone').meta, { kind: 'missing' });
  // A new entry in the same clock tick may leave mtime and ctime as they were; the size of a tmpfs
  // directory grows with each entry, and any file system's ctime moves on by the next tick.
  let now = log.stamp;
  for (let i = 0; now === log.stamp; i += 1) {
    put(root, `log/entry-${i}`, '');
    now = readDirAt(dir, 'log').stamp;
  }
  t.not(now, log.stamp);
});

test('identityOf and describeDir describe the directory that was opened, even after a rename', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'slot'));
  fs.chmodSync(path.join(root, 'slot'), 0o711);
  const slot = openDirAt(dir, 'slot');
  t.teardown(() => closeDir(slot));
  const before = identityOf(slot);
  fs.renameSync(path.join(root, 'slot'), path.join(root, 'moved'));
  fs.mkdirSync(path.join(root, 'slot'));
  t.deepEqual(identityOf(slot), before);
  t.is(before.ino, fs.statSync(path.join(root, 'moved')).ino);
  const described = describeDir(slot);
  t.like(described, { identity: before, stamp: stampOf(fs.statSync(path.join(root, 'moved'))) });
  t.is(described.meta.kind === 'dir' ? described.meta.mode & 0o7777 : -1, 0o711);
});

test('pathForChild reaches the opened directory from another process', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'marker', 'seen');
  const where = pathForChild(dir);
  t.is(fs.readFileSync(path.join(where, 'marker'), 'utf8'), 'seen');
});

test('closeDir is safe on undefined and on a descriptor already closed', (t) => {
  const { root } = tempRoot(t);
  const dir = openRoot(root);
  closeDir(dir);
  t.notThrows(() => closeDir(dir));
  t.notThrows(() => closeDir(undefined));
});

test("errnoCode and describeErrno keep the code and drop Node's internal path", (t) => {
  const err = Object.assign(new Error("ENOSPC: no space left on device, write '/proc/self/fd/12/x'"), { code: 'ENOSPC' });
  t.is(errnoCode(err), 'ENOSPC');
  t.is(errnoCode('nope'), 'EUNKNOWN');
  t.is(describeErrno(err), 'ENOSPC: no space left on device');
  t.is(describeErrno(new Error('plain message, with a comma')), 'plain message, with a comma');
  const wrapped = new FsError('write', '/scan/x', err);
  t.is(wrapped.message, 'write /scan/x: ENOSPC: no space left on device');
  t.is(describeErrno(wrapped), wrapped.message);
  t.is(wrapped.cause, err);
});

test('a file that reports no size (procfs, some FUSE) is read to its end, up to the cap; an empty file is empty', (t) => {
  const read = readFilePath('/proc/self/stat', 64 * 1024);
  t.is(read.kind, 'file');
  t.regex(read.kind === 'file' ? Buffer.from(read.bytes).toString('utf8') : '', new RegExp(`^${process.pid} \\(`), 'what the kernel made');
  t.like(readFilePath('/proc/self/stat', 8), { kind: 'refused', code: 'EFBIG' }, 'past the cap: refused');
  const { root } = tempRoot(t);
  const empty = put(root, 'empty', '');
  const none = readFilePath(empty, 64);
  t.is(none.kind === 'file' ? none.bytes.length : -1, 0);
});
