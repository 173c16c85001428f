/**
 * src/observe/scandir.ts: the scandir read on temp trees. Slots named `<prefix><valid name>` are
 * read file by file (bounded, no-follow, never blocking on a FIFO); everything else is foreign and
 * only counted; a slot that is a symlink is reported, never entered.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { renderSlotFiles } from '../../../src/desired/render.js';
import { OWNERSHIP_FILE } from '../../../src/model/constants.js';
import { FOREIGN_LISTED_MAX, observeScandir, svscanState } from '../../../src/observe/scandir.js';
import { RACY_MS, ReadCache } from '../../../src/observe/read-cache.js';
import type { ObservedSlot } from '../../../src/model.js';
import { persistRestarts } from '../../../src/actuate/restarts.js';
import { TEST_SETTINGS } from '../../helpers/cli.js';
import { needsRoot } from '../../helpers/needs.js';
import { listenOnControl, makeFifo } from '../../helpers/fifo.js';
import { put, tempRoot } from '../support.js';

const SETTINGS = { servicePrefix: 'gateway-' };
const RENDER = { ...TEST_SETTINGS };

/** Writes a complete slot as render makes it (optionally with a down marker). */
function writeSlot(root: string, profile: string, down = false): string {
  const service = `gateway-${profile}`;
  for (const f of renderSlotFiles(service, profile, RENDER)) put(root, `${service}/${f.path}`, f.content, f.mode);
  if (down) put(root, `${service}/down`, '');
  return path.join(root, service);
}

test('no scandir yet reads as an empty, non-existent one', (t) => {
  t.deepEqual(observeScandir(undefined, SETTINGS), {
    exists: false,
    slots: new Map(),
    svscanLive: false,
    serviceCount: 0,
    pendingRestarts: new Set(),
    upstreamLeftovers: [],
  });
});

test('a complete slot is read file by file: bytes, modes, log/, down marker, ownership and identity', (t) => {
  const { root, dir } = tempRoot(t);
  const slotPath = writeSlot(root, 'a', true);
  const scan = observeScandir(dir, SETTINGS);
  const slot = scan.slots.get('gateway-a');
  if (slot === undefined) return t.fail('slot not observed');
  t.true(scan.exists);
  t.is(slot.profile, 'a');
  t.is(slot.entry, 'dir');
  t.true(slot.owned);
  t.true(slot.hasDownMarker);
  t.like(slot.logDir, { kind: 'dir' });
  for (const f of renderSlotFiles('gateway-a', 'a', RENDER)) {
    const read = slot.files.get(f.path);
    if (read?.kind !== 'file') return t.fail(`${f.path}: ${JSON.stringify(read)}`);
    t.is(Buffer.from(read.bytes).toString('utf8'), f.content, f.path);
    t.is(read.mode & 0o7777, f.mode, f.path);
  }
  const st = fs.statSync(slotPath);
  t.deepEqual(slot.identity, { dev: st.dev, ino: st.ino, uid: st.uid });
  t.is(slot.live, undefined, 'no live status without a live s6-svscan');
});

test('a slot whose record names another service, or is torn, is not owned', (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'a');
  writeSlot(root, 'b');
  put(root, `gateway-a/${OWNERSHIP_FILE}`, JSON.stringify({ formatVersion: '1', managedBy: 'reconcile-gateways', service: 'gateway-b' }));
  put(root, `gateway-b/${OWNERSHIP_FILE}`, '{"managedBy":"reconcile-gat');
  const scan = observeScandir(dir, SETTINGS);
  t.false(scan.slots.get('gateway-a')?.owned);
  t.false(scan.slots.get('gateway-b')?.owned);
});

test('a slot without our record lists what the Hermes CLI never writes in it; our own slots are not listed', (t) => {
  const { root, dir } = tempRoot(t);
  for (const p of ['cli', 'proxy', 'many', 'ours']) writeSlot(root, p, true);
  fs.rmSync(path.join(root, 'gateway-cli', OWNERSHIP_FILE));
  for (const d of ['event', 'supervise', 'log/event', 'log/supervise']) fs.mkdirSync(path.join(root, 'gateway-cli', d));
  put(root, 'gateway-cli/.run.rg-tmp', 'an interrupted write of ours\n');
  fs.rmSync(path.join(root, 'gateway-proxy', OWNERSHIP_FILE));
  put(root, 'gateway-proxy/data/key', 'TOPSECRET\n');
  put(root, 'gateway-proxy/log/finish', '#!/bin/sh\n', 0o755);
  fs.writeFileSync(Buffer.concat([Buffer.from(path.join(root, 'gateway-proxy', 'log', 'caf')), Buffer.from([0xe9])]), '');
  fs.rmSync(path.join(root, 'gateway-many', OWNERSHIP_FILE));
  for (let i = 0; i < 200; i += 1) put(root, `gateway-many/f${i}`, '');
  put(root, 'gateway-ours/data/key', 'ours to keep\n');
  const scan = observeScandir(dir, SETTINGS);
  t.deepEqual(scan.slots.get('gateway-cli')?.foreignEntries, [], 'what the Hermes CLI and s6 make, and our temp files');
  t.deepEqual(
    scan.slots.get('gateway-proxy')?.foreignEntries,
    ['data', 'log/caf\\xe9', 'log/finish'],
    'sorted; a byte that is no UTF-8 as \\xNN',
  );
  t.deepEqual(
    scan.slots.get('gateway-many')?.foreignEntries,
    ['f0', 'f1', 'f10', 'f100', 'f101', '+195 more'],
    'the first five in sort order, the rest counted',
  );
  t.deepEqual(scan.slots.get('gateway-ours')?.foreignEntries, [], 'our own slot is not listed');
});

test('a slot that is a symlink is reported as one and never entered', (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'real');
  fs.renameSync(path.join(root, 'gateway-real'), path.join(root, '.hidden'));
  fs.symlinkSync(path.join(root, '.hidden'), path.join(root, 'gateway-link'));
  put(root, 'gateway-file', '');
  const scan = observeScandir(dir, SETTINGS);
  t.like(scan.slots.get('gateway-link'), { entry: 'symlink', dir: { kind: 'refused', reason: 'is a symlink' }, owned: false });
  t.is(scan.slots.get('gateway-link')?.files.size, 0);
  t.like(scan.slots.get('gateway-file'), { entry: 'file', dir: { kind: 'refused', reason: 'is a file' } });
});

test('FIFOs, symlinks and oversized files inside a slot are refused one by one; the rest is read', (t) => {
  const { root, dir } = tempRoot(t);
  const slot = writeSlot(root, 'a');
  fs.unlinkSync(path.join(slot, 'run'));
  makeFifo(path.join(slot, 'run'));
  fs.unlinkSync(path.join(slot, 'finish'));
  fs.symlinkSync('/etc/passwd', path.join(slot, 'finish'));
  put(root, 'gateway-a/type', 'x'.repeat(64 * 1024 + 1));
  const files = observeScandir(dir, SETTINGS).slots.get('gateway-a')?.files;
  t.like(files?.get('run'), { kind: 'refused', reason: 'is a FIFO' });
  t.like(files?.get('finish'), { kind: 'refused', reason: 'is a symlink' });
  t.like(files?.get('type'), { kind: 'refused', code: 'EFBIG' });
  t.like(files?.get('log/run'), { kind: 'file' });
  t.like(files?.get(OWNERSHIP_FILE), { kind: 'file' });
});

test('a symlinked log/ is refused and log/run is not read through it', (t) => {
  const { root, dir } = tempRoot(t);
  const slot = writeSlot(root, 'a');
  fs.renameSync(path.join(slot, 'log'), path.join(root, 'elsewhere'));
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(slot, 'log'));
  const observed = observeScandir(dir, SETTINGS).slots.get('gateway-a');
  t.deepEqual(observed?.logDir, { kind: 'refused', reason: 'is a symlink', code: 'EFTYPE' });
  t.false(observed?.files.has('log/run'));
});

test('foreign entries are counted as services but never listed as slots; upstream staging leftovers are', (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'a');
  fs.mkdirSync(path.join(root, 'other-service', 'log'), { recursive: true });
  fs.mkdirSync(path.join(root, 'gateway-Bad!'));
  fs.mkdirSync(path.join(root, '.gateway-b.tmp'));
  fs.mkdirSync(path.join(root, '.gateway-a.tmp'));
  fs.mkdirSync(path.join(root, '.unrelated.tmp'));
  const scan = observeScandir(dir, SETTINGS);
  t.deepEqual([...scan.slots.keys()], ['gateway-a']);
  // gateway-a, other-service, gateway-Bad!: a logger counts with its service, as in s6-svscan -c.
  t.is(scan.serviceCount, 3);
  t.deepEqual(scan.upstreamLeftovers, ['.gateway-a.tmp', '.gateway-b.tmp']);
});

test('a scandir full of dot entries is read entry by entry: slots are found, and one boot collects at most 10,000 leftovers', (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'a');
  for (let i = 0; i < 10_002; i++) fs.writeFileSync(path.join(root, `.gateway-p${i}.tmp`), '');
  for (let i = 0; i < 20_000; i++) fs.writeFileSync(path.join(root, `.junk${i}`), '');
  const scan = observeScandir(dir, SETTINGS);
  t.deepEqual([...scan.slots.keys()], ['gateway-a']);
  t.is(scan.upstreamLeftovers.length, 10_000, 'the next boot deletes the rest');
});

needsRoot(test)(
  'run as root, a pass counts an ownership record only when root wrote it: one the hermes user wrote is no proof, and its slot is read as foreign',
  (t) => {
    const { root, dir } = tempRoot(t);
    const ours = writeSlot(root, 'ours');
    const forged = writeSlot(root, 'forged');
    const linked = writeSlot(root, 'linked');
    fs.linkSync(path.join(linked, OWNERSHIP_FILE), path.join(root, 'kept-by-hermes'));
    put(root, 'gateway-forged/log/finish', '#!/bin/sh\nid > /tmp/owned\n', 0o755);
    fs.chownSync(path.join(forged, OWNERSHIP_FILE), 65534, 65534);
    fs.mkdirSync(path.join(root, 'gw-elsewhere'));
    put(
      root,
      `gw-elsewhere/${OWNERSHIP_FILE}`,
      JSON.stringify({ formatVersion: '1', managedBy: 'reconcile-gateways', service: 'gw-elsewhere', profile: 'x' }),
    );
    fs.chownSync(path.join(root, 'gw-elsewhere', OWNERSHIP_FILE), 65534, 65534);
    const scan = observeScandir(dir, SETTINGS);
    t.true(scan.slots.get('gateway-ours')?.owned, ours);
    t.like(scan.slots.get('gateway-forged'), { owned: false, foreignEntries: ['log/finish'] });
    t.like(scan.slots.get('gateway-linked'), { owned: false }, 'a record with another name is no proof either');
    t.is(scan.otherPrefix, undefined, 'nor does a hermes-written record name a slot of another prefix');
  },
);

test("slot-named directories of no profile that are not ours are kept up to a bound and counted past it; ours and a profile's always kept", (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'a');
  writeSlot(root, 'gone');
  for (let i = 0; i < FOREIGN_LISTED_MAX + 5; i++) fs.mkdirSync(path.join(root, `gateway-x${i}`));
  const scan = observeScandir(dir, SETTINGS, undefined, { profiles: new Set(['a']) });
  t.is(scan.foreignUnlisted, 5);
  t.is([...scan.slots.values()].filter((s) => !s.owned).length, FOREIGN_LISTED_MAX);
  t.true(scan.slots.has('gateway-a') && scan.slots.get('gateway-gone')?.owned === true, 'whatever the order of the listing');
  t.is(scan.serviceCount, FOREIGN_LISTED_MAX + 7, "every one still counts towards s6-svscan's limit");
  t.is(observeScandir(dir, SETTINGS).foreignUnlisted, undefined, 'without the profiles none is known to be of no profile');
});

test('a slot whose profile has no directory is read shallowly: its record, marker and identity, not its files', (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'a');
  writeSlot(root, 'gone', true);
  fs.writeFileSync(path.join(root, 'gateway-gone', 'run'), 'x'.repeat(60_000));
  fs.mkdirSync(path.join(root, 'gateway-stray'));
  fs.writeFileSync(path.join(root, 'gateway-stray', 'run'), 'y'.repeat(60_000));
  const scan = observeScandir(dir, SETTINGS, undefined, { profiles: new Set(['a']) });
  const a = scan.slots.get('gateway-a');
  const gone = scan.slots.get('gateway-gone');
  const stray = scan.slots.get('gateway-stray');
  t.true((a?.files.size ?? 0) > 1, 'a slot of a profile is read whole');
  t.deepEqual([...(gone?.files.keys() ?? [])], [OWNERSHIP_FILE]);
  t.like(gone, { owned: true, hasDownMarker: true, entry: 'dir' });
  t.truthy(gone?.identity, 'its identity, for the remove');
  t.like(stray, { owned: false, foreignEntries: [] });
  t.deepEqual([...(stray?.files.keys() ?? [])], [OWNERSHIP_FILE]);
  const whole = observeScandir(dir, SETTINGS);
  t.is(whole.slots.get('gateway-gone')?.files.get('run')?.kind, 'file', 'without the profiles, every slot is read whole');
});

test('a slot file larger than the pass reads is refused unread (the plan rewrites it), not held', (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'a');
  fs.writeFileSync(path.join(root, 'gateway-a', 'run'), 'x'.repeat(5000));
  const read = observeScandir(dir, SETTINGS, undefined, { slotFileCap: 4096 }).slots.get('gateway-a')?.files.get('run');
  t.like(read, { kind: 'refused', code: 'EFBIG' });
  t.is(observeScandir(dir, SETTINGS).slots.get('gateway-a')?.files.get('run')?.kind, 'file', 'the default reads it');
});

test('with only, other slots are not read', (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'a');
  writeSlot(root, 'b');
  const scan = observeScandir(dir, SETTINGS, new Set(['gateway-b']));
  t.deepEqual([...scan.slots.keys()], ['gateway-b']);
});

test('a live s6-svscan is detected through its control FIFO, and then live status is read', (t) => {
  const { root, dir } = tempRoot(t);
  const slot = writeSlot(root, 'a');
  writeSlot(root, 'b');
  t.deepEqual(svscanState(dir), { live: false });
  makeFifo(path.join(root, '.s6-svscan', 'control'));
  t.deepEqual(svscanState(dir), { live: false }, 'a FIFO nobody reads is no s6-svscan');
  fs.rmSync(path.join(root, '.s6-svscan'), { recursive: true });
  listenOnControl(t, path.join(root, '.s6-svscan'));
  listenOnControl(t, path.join(slot, 'supervise'));
  put(root, 'gateway-a/supervise/status', Buffer.alloc(35));
  const scan = observeScandir(dir, SETTINGS);
  t.true(scan.svscanLive);
  t.like(scan.slots.get('gateway-a')?.live, { supervised: true, up: false });
  t.is(scan.slots.get('gateway-b')?.live, undefined, 'never supervised');
});

test('pending restarts are read from the journal in the private state directory', (t) => {
  const { root, dir } = tempRoot(t);
  writeSlot(root, 'a');
  persistRestarts(dir, ['gateway-a']);
  const scan = observeScandir(dir, SETTINGS);
  t.deepEqual([...scan.pendingRestarts], ['gateway-a']);
  t.is(scan.journalUid, process.geteuid?.());
  t.false(scan.slots.has('.reconcile-gateways'));
});

test('with a read cache, a shallow pass skips a slot whose directories are unchanged; an added or removed entry, or a deep pass, reads it again', async (t) => {
  const { root, dir } = tempRoot(t);
  const slot = writeSlot(root, 'a');
  // Entries changed within RACY_MS of a read are never kept: let the fresh slot age first.
  await new Promise((r) => setTimeout(r, RACY_MS + 100));
  const cache = new ReadCache();
  const pass = (deep: boolean): ObservedSlot => {
    cache.beginPass(deep, true);
    const slotRead = observeScandir(dir, SETTINGS, undefined, { readCache: cache }).slots.get('gateway-a');
    cache.endPass(true);
    if (slotRead === undefined) throw new Error('slot not observed');
    return slotRead;
  };
  const runOf = (s: ObservedSlot): string => {
    const f = s.files.get('run');
    return f?.kind === 'file' ? Buffer.from(f.bytes).toString() : String(f?.kind);
  };
  const rendered = runOf(pass(true));
  const edited = rendered.replace(/.$/s, '#');
  fs.writeFileSync(path.join(slot, 'run'), edited); // in place, same size: only root can do this to a live slot
  t.is(runOf(pass(false)), rendered, 'a shallow pass does not look into an unchanged slot');
  t.is(runOf(pass(true)), edited, 'a deep pass reads the edit');
  fs.writeFileSync(path.join(slot, 'down'), '');
  const marked = pass(false);
  t.true(marked.hasDownMarker, 'a new entry changes the directory: the next shallow pass reads the slot');
  fs.rmSync(path.join(slot, 'log', 'run'));
  t.is(pass(false).files.get('log/run')?.kind, 'missing', 'so does a change in log/');
});
