/**
 * The supervise/status decoder (src/observe/s6-status.ts) against bytes a real s6-supervise wrote.
 * The table below holds status files captured from s6 2.11.3.2 (one per state) with what they
 * decode to; it runs everywhere. The live tests put a real s6-svscan in each state and check the
 * decoder against `s6-svstat` on the same bytes, so a different s6 on the host shows up here.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { LiveStatus } from '../../../src/model.js';
import { decodeStatus, hasFifoReader, readLiveStatus } from '../../../src/observe/s6-status.js';
import { MAX_UNIX } from '../../../src/observe/tai.js';
import { closeDir, openRoot } from '../../../src/safe-fs/index.js';
import { needsS6 } from '../../helpers/needs.js';
import { listenOnControl } from '../../helpers/fifo.js';
import { type Svscan, SLEEP_RUN, createSvscanState, startSvscan, stopAll, waitFor } from '../../helpers/s6.js';

/** A captured status file and the state it encodes (updownSinceUnix checked separately). */
interface Captured {
  readonly hex: string;
  readonly expected: Omit<LiveStatus, 'supervised' | 'updownSinceUnix'>;
}

/** Captured from s6 2.11.3.2 on Debian 12 (S6_STATUS_CAPTURE=1 npx ava --verbose <this file> prints fresh ones). */
const CAPTURED: Readonly<Record<string, Captured>> = {
  'up (s6-svc -u, run is a sleep)': {
    hex: '400000006b14a0fd211cf834400000006b14a0fd206ba7da0000000000004f29000004',
    expected: { up: true, wantedUp: true, ready: false, finishing: false, pid: 20265, exitcode: -1, signum: -1 },
  },
  'up and ready (notification-fd written)': {
    hex: '400000006b14a0fd3636b3c8400000006b14a0fd365bd26d0000000000004f3f00000c',
    expected: { up: true, wantedUp: true, ready: true, finishing: false, pid: 20287, exitcode: -1, signum: -1 },
  },
  'never started (down file)': {
    hex: '400000006b14a0fd34847508400000006b14a0fd348475080000000000000000000008',
    expected: { up: false, wantedUp: false, ready: false, finishing: false, pid: -1, exitcode: 0, signum: -1 },
  },
  'down after s6-svc -d (SIGTERM)': {
    hex: '400000006b14a0fe324e95fb400000006b14a0fe331d9e810000000000000000000f08',
    expected: { up: false, wantedUp: false, ready: false, finishing: false, pid: -1, exitcode: -1, signum: 15 },
  },
  'down after running once and exiting 3': {
    hex: '400000006b14a0fe1107ea44400000006b14a0fe114e8cab0000000000000000030008',
    expected: { up: false, wantedUp: false, ready: false, finishing: false, pid: -1, exitcode: 3, signum: -1 },
  },
  'wanted up but down between restarts (exit 7)': {
    hex: '400000006b14a0fd21f55756400000006b14a0fd226ca453000000000000000007000c',
    expected: { up: false, wantedUp: true, ready: false, finishing: false, pid: -1, exitcode: 7, signum: -1 },
  },
  'finishing (finish script running after SIGTERM)': {
    hex: '400000006b14a0ff22e94e03400000006b14a0fe2ce2556c0000000000004fab000f02',
    expected: { up: false, wantedUp: false, ready: false, finishing: true, pid: -1, exitcode: -1, signum: 15 },
  },
};

const decodes = test.macro({
  exec(t, c: Captured) {
    const decoded = decodeStatus(Buffer.from(c.hex, 'hex'), true);
    t.deepEqual({ ...decoded, updownSinceUnix: 0 }, { ...c.expected, supervised: true, updownSinceUnix: 0 });
  },
  title: (state = '') => `decodeStatus reads s6-supervise's bytes for a service that is ${state}`,
});

for (const [state, c] of Object.entries(CAPTURED)) test(state, decodes, c);

test('decodeStatus refuses a buffer that is not 35 bytes', (t) => {
  t.is(decodeStatus(new Uint8Array(34), true), undefined);
  t.is(decodeStatus(new Uint8Array(36), true), undefined);
  t.is(decodeStatus(new Uint8Array(0), false), undefined);
});

test('decodeStatus passes supervised through and decodes a TAI64N label to Unix seconds', (t) => {
  const buf = new Uint8Array(35);
  const view = new DataView(buf.buffer);
  // 2026-01-01T00:00:00Z = 1767225600; TAI label = 2^62 + unix + 37 (s6-facts §5); 0.5 s in nanos.
  view.setBigUint64(0, (1n << 62n) + 1767225600n + 37n);
  view.setUint32(8, 500_000_000);
  t.is(decodeStatus(buf, false)?.updownSinceUnix, 1767225600.5);
  t.is(decodeStatus(buf, false)?.supervised, false);
});

test('decodeStatus clamps a forged label to the years 1970–9999: every date made from it prints', (t) => {
  const buf = new Uint8Array(35);
  const view = new DataView(buf.buffer);
  view.setBigUint64(0, 2n ** 64n - 1n); // the largest label a slot's user can write
  view.setUint32(8, 0xffffffff);
  const since = decodeStatus(buf, true)?.updownSinceUnix ?? NaN;
  t.is(since, MAX_UNIX);
  t.is(new Date(since * 1000).toISOString(), '9999-12-31T23:59:59.000Z');
  view.setBigUint64(0, 1n);
  t.is(decodeStatus(buf, true)?.updownSinceUnix, 0);
});

test('a status of zeros (no s6-supervise wrote it) dates from the epoch, a time every report can print', (t) => {
  const zeros = decodeStatus(new Uint8Array(35), true);
  t.is(zeros?.updownSinceUnix, 0);
  t.notThrows(() => new Date((zeros?.updownSinceUnix ?? NaN) * 1000).toISOString());
});

test('readLiveStatus is undefined for a slot s6 never supervised', (t) => {
  const slot = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-s6status-'));
  t.teardown(() => fs.rmSync(slot, { recursive: true, force: true }));
  t.is(liveStatusOf(slot), undefined);
  fs.mkdirSync(path.join(slot, 'supervise'));
  t.is(liveStatusOf(slot), undefined, 'supervise/ without a status file');
});

test('readLiveStatus reports unsupervised when nobody reads supervise/control', (t) => {
  const slot = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-s6status-'));
  t.teardown(() => fs.rmSync(slot, { recursive: true, force: true }));
  fs.mkdirSync(path.join(slot, 'supervise'));
  const first = Object.values(CAPTURED)[0];
  fs.writeFileSync(path.join(slot, 'supervise', 'status'), Buffer.from(first?.hex ?? '', 'hex'));
  fs.writeFileSync(path.join(slot, 'supervise', 'control'), 'not a fifo');
  t.like(liveStatusOf(slot), { supervised: false, up: true });
  const supervise = openRoot(path.join(slot, 'supervise'));
  t.teardown(() => closeDir(supervise));
  t.false(hasFifoReader(supervise, 'control'), 'a regular file is no FIFO reader');
  t.false(hasFifoReader(supervise, 'missing'));
});

test('the death tally of a supervise/ nobody listens on is not read; a supervised one is', (t) => {
  const slot = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-s6status-'));
  t.teardown(() => fs.rmSync(slot, { recursive: true, force: true }));
  fs.mkdirSync(path.join(slot, 'supervise'));
  const first = Object.values(CAPTURED)[0];
  fs.writeFileSync(path.join(slot, 'supervise', 'status'), Buffer.from(first?.hex ?? '', 'hex'));
  fs.writeFileSync(path.join(slot, 'supervise', 'death_tally'), Buffer.alloc(14 * 3));
  t.is(liveStatusOf(slot)?.deaths, undefined, 'a forged supervise/ (no supervisor) costs no decoding');
  listenOnControl(t, path.join(slot, 'supervise'));
  t.is(liveStatusOf(slot)?.deaths?.length, 3);
});

// ---- live: a real s6-supervise writes the bytes --------------------------------------------

test.after.always('stop every s6-svscan started here', async () => {
  await stopAll({ removeState: true });
});

let svscan: Promise<Svscan> | undefined;
const startedUnix = Date.now() / 1000;

/** One s6-svscan for the whole file (each test adds its own service). */
function scanner(): Promise<Svscan> {
  svscan ??= createSvscanState().then(({ state }) => startSvscan(state));
  return svscan;
}

function readStatus(s: Svscan, name: string): Buffer {
  return fs.readFileSync(path.join(s.servicePath(name), 'supervise', 'status'));
}

function svc(s: Svscan, flag: string, name: string): void {
  const r = spawnSync('s6-svc', [flag, s.servicePath(name)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`s6-svc ${flag} ${name}: ${r.stderr}`);
}

/** `s6-svstat -o` fields for the same state, read while the bytes stay the same. */
async function stableRead(s: Svscan, name: string): Promise<{ bytes: Buffer; svstat: Awaited<ReturnType<Svscan['svstat']>> }> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const before = readStatus(s, name);
    const svstat = await s.svstat(name);
    if (before.equals(readStatus(s, name))) return { bytes: before, svstat };
  }
  throw new Error(`${name}: supervise/status kept changing under s6-svstat`);
}

/** readLiveStatus on a slot path, through a handle like observe opens. */
function liveStatusOf(slot: string): LiveStatus | undefined {
  const dir = openRoot(slot);
  try {
    const live = readLiveStatus(dir);
    if (live === 'denied') throw new Error(`${slot}: supervise/status denied to the tests' user`);
    return live;
  } finally {
    closeDir(dir);
  }
}

/** Checks the decoded bytes against s6-svstat's reading of them, and returns the decoded value. */
async function checkAgainstSvstat(t: ExecutionContext, s: Svscan, name: string): Promise<LiveStatus | undefined> {
  const { bytes, svstat } = await stableRead(s, name);
  const decoded = decodeStatus(bytes, true);
  if (process.env['S6_STATUS_CAPTURE'] === '1')
    t.log(name, bytes.toString('hex'), JSON.stringify({ ...decoded, updownSinceUnix: undefined }));
  t.like(decoded, {
    up: svstat.up,
    wantedUp: svstat.wantedup,
    ready: svstat.ready,
    pid: svstat.pid,
    exitcode: svstat.exitcode,
  });
  const signum = svstat.signal === 'NA' ? -1 : os.constants.signals[svstat.signal as NodeJS.Signals];
  t.is(decoded?.signum, signum, `s6-svstat signal ${svstat.signal}`);
  // The transition happened during this test file, so the label decodes to a time since it started.
  t.true((decoded?.updownSinceUnix ?? 0) >= Math.floor(startedUnix) - 1, `updownSinceUnix ${decoded?.updownSinceUnix}`);
  t.true((decoded?.updownSinceUnix ?? Infinity) <= Date.now() / 1000 + 1, `updownSinceUnix ${decoded?.updownSinceUnix}`);
  return decoded;
}

const s6test = needsS6(test);

s6test('live: an up service decodes as up, wanted up, with its pid', async (t) => {
  const s = await scanner();
  await s.addService('up', SLEEP_RUN);
  await s.waitUp('up');
  const d = await checkAgainstSvstat(t, s, 'up');
  t.like(d, { up: true, wantedUp: true, finishing: false, exitcode: -1, signum: -1 });
  t.true((d?.pid ?? 0) > 0);
  t.like(liveStatusOf(s.servicePath('up')), { supervised: true, up: true, pid: d?.pid });
});

s6test('live: a service that signalled readiness decodes as ready', async (t) => {
  const s = await scanner();
  await s.addService('ready', '#!/bin/sh\necho >&3\nexec sleep 1000\n', { files: { 'notification-fd': '3\n' } });
  await s.waitReady('ready');
  const d = await checkAgainstSvstat(t, s, 'ready');
  t.like(d, { up: true, wantedUp: true, ready: true });
});

s6test('live: a service never started (down file) decodes as down and not wanted up', async (t) => {
  const s = await scanner();
  await s.addService('never', SLEEP_RUN, { files: { down: '' } });
  const d = await checkAgainstSvstat(t, s, 'never');
  t.like(d, { up: false, wantedUp: false, pid: -1, finishing: false, ready: false });
});

s6test('live: a service stopped with s6-svc -d decodes as down by SIGTERM, not wanted up', async (t) => {
  const s = await scanner();
  await s.addService('stopped', SLEEP_RUN);
  await s.waitUp('stopped');
  svc(s, '-d', 'stopped');
  await s.waitDown('stopped');
  await s.waitSvstat('stopped', ['up', 'wantedup', 'signal'], 'false false SIGTERM');
  const d = await checkAgainstSvstat(t, s, 'stopped');
  t.like(d, { up: false, wantedUp: false, pid: -1, exitcode: -1, signum: 15 });
});

s6test('live: a service that ran once and exited 3 decodes as down with exit code 3', async (t) => {
  const s = await scanner();
  await s.addService('once', '#!/bin/sh\nexit 3\n', { files: { down: '' } });
  svc(s, '-o', 'once');
  await s.waitSvstat('once', ['up', 'exitcode'], 'false 3');
  const d = await checkAgainstSvstat(t, s, 'once');
  t.like(d, { up: false, wantedUp: false, pid: -1, exitcode: 3, signum: -1 });
});

s6test('live: a crashing service between restarts decodes as down but wanted up', async (t) => {
  const s = await scanner();
  await s.addService('crashing', '#!/bin/sh\nexit 7\n');
  // s6-supervise waits a second between restarts: poll the bytes until they show that pause.
  let d: LiveStatus | undefined;
  await waitFor(
    () => {
      d = decodeStatus(readStatus(s, 'crashing'), true);
      // Right after a death s6-supervise can write the status with its finishing flag set (even with
      // no finish script), then again once finish is done: between restarts is after both.
      return d?.up === false && d.exitcode === 7 && !d.finishing;
    },
    10_000,
    'crashing to be between restarts',
  );
  if (process.env['S6_STATUS_CAPTURE'] === '1') t.log('crashing', readStatus(s, 'crashing').toString('hex'));
  t.like(d, { up: false, wantedUp: true, pid: -1, exitcode: 7, signum: -1, finishing: false });
  svc(s, '-d', 'crashing');
});

s6test('live: a service whose finish script runs decodes as finishing, not up', async (t) => {
  const s = await scanner();
  const dir = await s.addService('finishing', SLEEP_RUN, {
    // timeout-finish 0: no deadline, the finish script waits for the test to release it.
    files: { finish: '#!/bin/sh\nwhile [ ! -e release ]; do sleep 0.05; done\n', 'timeout-finish': '0\n' },
  });
  await s.waitUp('finishing');
  svc(s, '-d', 'finishing');
  let d: LiveStatus | undefined;
  try {
    await waitFor(
      () => {
        d = decodeStatus(readStatus(s, 'finishing'), true);
        return d?.finishing === true;
      },
      10_000,
      'the finish script to run',
    );
    if (process.env['S6_STATUS_CAPTURE'] === '1') t.log('finishing', readStatus(s, 'finishing').toString('hex'), JSON.stringify(d));
    t.like(d, { up: false, wantedUp: false, finishing: true, pid: -1, signum: 15 });
  } finally {
    fs.writeFileSync(path.join(dir, 'release'), '');
  }
  await s.waitSvstat('finishing', ['up'], 'false');
});
