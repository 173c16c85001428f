/** src/safe-fs/list.ts: directory listings on a temp tree, whole and streamed, raw names kept byte for byte. */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { forEachDirEntryRaw, listDir, listDirRaw } from '../../../src/safe-fs/list.js';
import { put, tempRoot } from '../support.js';

test('listDir lists entries with their own types; a symlinked directory is listed as a symlink', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'd'));
  fs.symlinkSync(path.join(root, 'd'), path.join(root, 'l'));
  put(root, 'f', '');
  const byName = new Map(listDir(dir).map((e) => [e.name, e]));
  t.deepEqual([...byName.keys()].sort(), ['d', 'f', 'l']);
  t.true(byName.get('d')?.isDirectory());
  t.true(byName.get('l')?.isSymbolicLink());
  t.true(byName.get('f')?.isFile());
});

test('listDirRaw keeps names that are not valid UTF-8 byte for byte', (t) => {
  const { root, dir } = tempRoot(t);
  const raw = Buffer.from([0x62, 0xff, 0x61]);
  fs.mkdirSync(Buffer.concat([Buffer.from(`${root}/`), raw]));
  const entries = listDirRaw(dir);
  t.is(entries.length, 1);
  t.true(entries[0]?.name.equals(raw));
  t.true(entries[0]?.isDir);
  t.false(entries[0]?.isSymlink);
});

const visitsAll = test.macro({
  exec(t, streamAbove: number, how: 'whole' | 'stream') {
    const { root, dir } = tempRoot(t);
    const raw = Buffer.from([0x62, 0xff, 0x61]);
    fs.mkdirSync(Buffer.concat([Buffer.from(`${root}/`), raw]));
    for (let i = 0; i < 600; i += 1) fs.mkdirSync(path.join(root, `d${i}`));
    put(root, 'f', '');
    fs.symlinkSync('/', path.join(root, 'l'));
    const seen: { name: Buffer; isDir: boolean; isSymlink: boolean }[] = [];
    // A file system whose link count says nothing about subdirectories (btrfs: 1) always streams.
    const expected = fs.statSync(root).nlink >= 2 ? how : 'stream';
    t.is(
      forEachDirEntryRaw(dir, (e) => seen.push(e), streamAbove),
      expected,
    );
    t.is(seen.length, 603);
    t.is(new Set(seen.map((e) => e.name.toString('hex'))).size, 603, 'no entry twice');
    t.true(seen.some((e) => e.name.equals(raw) && e.isDir));
    t.like(
      seen.find((e) => e.name.toString() === 'l'),
      { isDir: false, isSymlink: true },
    );
    t.like(
      seen.find((e) => e.name.toString() === 'f'),
      { isDir: false, isSymlink: false },
    );
    t.deepEqual(
      seen.map((e) => e.name.toString('hex')).sort(),
      listDirRaw(dir)
        .map((e) => e.name.toString('hex'))
        .sort(),
      'the same entries as listDirRaw',
    );
  },
  title: (how = '') => `forEachDirEntryRaw visits every entry once, with raw names and types: ${how}`,
});
test('read whole (fewer subdirectories than the threshold)', visitsAll, 10_000, 'whole');
test('streamed in batches (more subdirectories than the threshold)', visitsAll, 100, 'stream');

test('forEachDirEntryRaw streams a directory of many files (they add to its size, not its link count)', (t) => {
  const { root, dir } = tempRoot(t);
  for (let i = 0; i < 30_000; i += 1) fs.writeFileSync(path.join(root, `file-with-a-longish-name-${i}`), '');
  let n = 0;
  t.is(
    forEachDirEntryRaw(dir, () => (n += 1)),
    'stream',
  );
  t.is(n, 30_000);
});
