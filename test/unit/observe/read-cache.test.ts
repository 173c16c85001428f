/**
 * The watcher's slot read cache: an unchanged file is served from the last read, and any change a
 * user can make (a write, even of the same size, a chmod, a replacement by a symlink) is read again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { COARSE_RACY_MS, type CachedFile, DEEP_EVERY, RACY_MS, ReadCache, racyWindow } from '../../../src/observe/read-cache.js';
import { type Dir, closeDir, openRoot } from '../../../src/safe-fs/index.js';

function slot(t: ExecutionContext): { root: string; dir: Dir } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-read-cache-'));
  fs.writeFileSync(path.join(root, 'run'), '#!/bin/sh\nexec a\n', { mode: 0o755 });
  const dir = openRoot(root);
  t.teardown(() => {
    closeDir(dir);
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { root, dir };
}

/** A clock well past every file's ctime: nothing is "racily clean". */
const LATER = Date.now() + 60_000;

/** A cache whose clock reads LATER. */
const later = (): ReadCache => new ReadCache(() => LATER);

/** The slot's `run`, kept under its name, read up to 1 KiB. */
const RUN: CachedFile = { name: 'run', path: 'run', cap: 1024 };

const text = (r: ReturnType<ReadCache['read']>): string => (r.kind === 'file' ? Buffer.from(r.bytes).toString() : r.kind);

test('an unchanged file is served from the cache, a rewrite of the same size is read again', (t) => {
  const { root, dir } = slot(t);
  const cache = later();
  const first = cache.read(dir, RUN, 'gateway-a');
  t.is(cache.read(dir, RUN, 'gateway-a'), first, 'unchanged: the same read');
  // Same length, in place, in a later clock tick (file times are coarse: same tick is the racy case below).
  const before = fs.lstatSync(path.join(root, 'run')).ctimeMs;
  do fs.writeFileSync(path.join(root, 'run'), '#!/bin/sh\nexec b\n');
  while (fs.lstatSync(path.join(root, 'run')).ctimeMs === before);
  const second = cache.read(dir, RUN, 'gateway-a');
  t.not(second, first);
  t.is(text(second), '#!/bin/sh\nexec b\n');
});

test('clear forgets every file and view: the next read opens the file again (SIGHUP)', (t) => {
  const { dir } = slot(t);
  const cache = later();
  const first = cache.read(dir, RUN, 'gateway-a');
  cache.keepView('gateway-a', 's1', 'contents', 0);
  cache.clear();
  t.is(cache.size, 0);
  const again = cache.read(dir, RUN, 'gateway-a');
  t.not(again, first, 'read again, not served');
  t.is(text(again), text(first));
});

test("a chmod is seen, and a symlink in the file's place is refused, not served from the cache", (t) => {
  const { root, dir } = slot(t);
  const cache = later();
  cache.read(dir, RUN, 'gateway-a');
  fs.chmodSync(path.join(root, 'run'), 0o700);
  const chmodded = cache.read(dir, RUN, 'gateway-a');
  t.is(chmodded.kind === 'file' ? chmodded.mode & 0o777 : -1, 0o700);
  fs.rmSync(path.join(root, 'run'));
  fs.symlinkSync('/etc/passwd', path.join(root, 'run'));
  t.like(cache.read(dir, RUN, 'gateway-a'), { kind: 'refused' });
  fs.rmSync(path.join(root, 'run'));
  t.deepEqual(cache.read(dir, RUN, 'gateway-a'), { kind: 'missing' });
});

test('a full pass forgets the services it did not read; a targeted one keeps them', (t) => {
  const { dir } = slot(t);
  const cache = later();
  cache.read(dir, RUN, 'gateway-a');
  cache.read(dir, RUN, 'gateway-b');
  cache.endPass(true);
  t.is(cache.size, 2);
  cache.read(dir, RUN, 'gateway-a');
  cache.endPass(false);
  t.is(cache.size, 2, 'a targeted pass forgets nothing');
  cache.read(dir, RUN, 'gateway-a');
  cache.endPass(true);
  t.is(cache.size, 1, 'gateway-b was not read by this full pass');
});

test('a file changed within RACY_MS of the read is read again each time, so a same-size rewrite in the same clock tick is not missed', (t) => {
  const { root, dir } = slot(t);
  let now = fs.lstatSync(path.join(root, 'run')).ctimeMs + RACY_MS / 2;
  const cache = new ReadCache(() => now);
  // Unchanged, but too fresh to trust its times: each read is a new read, not the cached one.
  const first = cache.read(dir, RUN, 'gateway-a');
  t.not(cache.read(dir, RUN, 'gateway-a'), first);
  now = LATER;
  const aged = cache.read(dir, RUN, 'gateway-a');
  t.is(cache.read(dir, RUN, 'gateway-a'), aged, 'once aged, it is served from the cache');
});

test('readParsed parses an unchanged file once, and again after it changed', (t) => {
  const { root, dir } = slot(t);
  const cache = later();
  let parses = 0;
  const parse = (r: ReturnType<ReadCache['read']>): string => {
    parses += 1;
    return text(r);
  };
  t.is(cache.readParsed(dir, RUN, 'profiles/a', parse), '#!/bin/sh\nexec a\n');
  t.is(cache.readParsed(dir, RUN, 'profiles/a', parse), '#!/bin/sh\nexec a\n');
  t.is(parses, 1);
  fs.chmodSync(path.join(root, 'run'), 0o700);
  cache.readParsed(dir, RUN, 'profiles/a', parse);
  t.is(parses, 2);
});

test('a view is served only in a shallow pass and under its stamp; every DEEP_EVERY-th full pass is deep', (t) => {
  const cache = later();
  cache.beginPass(true, true); // start: deep
  t.is(cache.view('gateway-a', 's1'), undefined, 'a deep pass serves no view');
  cache.keepView('gateway-a', 's1', 'contents', 0);
  cache.endPass(true);
  const served: boolean[] = [];
  for (let i = 0; i < DEEP_EVERY; i += 1) {
    cache.beginPass(false, true);
    served.push(cache.view('gateway-a', 's1') === 'contents');
    cache.endPass(true);
  }
  t.is(served.filter((s) => !s).length, 1, 'one of every DEEP_EVERY interval passes is deep');
  cache.beginPass(false, true);
  t.is(cache.view('gateway-a', 's2'), undefined, 'another stamp: the slot changed');
  t.is(cache.view('gateway-b', 's1'), undefined);
  cache.beginPass(true, false);
  t.is(cache.view('gateway-a', 's1'), undefined, 'a pass asked to be deep is deep');
});

test('a ctime of whole seconds (a file system that keeps no more) gets the longer window, for files and views', (t) => {
  const second = 1_765_000_000_000;
  t.is(racyWindow(second), COARSE_RACY_MS);
  t.is(racyWindow(second + 123.456789), RACY_MS);
  let now = second + RACY_MS * 2;
  const cache = new ReadCache(() => now);
  cache.beginPass(false, false); // shallow: views are served
  cache.keepView('gateway-a', 's1', 'contents', second);
  t.is(cache.view('gateway-a', 's1'), undefined, 'a same-second rewrite would keep the stamp: not kept');
  now = second + COARSE_RACY_MS;
  cache.keepView('gateway-a', 's1', 'contents', second);
  t.is(cache.view('gateway-a', 's1'), 'contents');
});

test('a view whose directories changed within RACY_MS is not kept', (t) => {
  const cache = later();
  cache.beginPass(false, false);
  cache.keepView('gateway-a', 's1', 'contents', LATER - RACY_MS / 2);
  t.is(cache.view('gateway-a', 's1'), undefined);
  cache.keepView('gateway-a', 's1', 'contents', LATER - RACY_MS * 2);
  t.is(cache.view('gateway-a', 's1'), 'contents');
});
