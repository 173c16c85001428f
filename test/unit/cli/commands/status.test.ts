/** `status` run in-process on a temp HERMES_HOME and scandir: reads everything, changes nothing. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { runStatus } from '../../../../src/cli/commands/status.js';
import { runSync } from '../../../../src/cli/commands/sync.js';
import { loadValidators } from '../../../../src/cli/validate.js';
import { type StatusDocument, serviceEntries, writeStatusFile } from '../../../../src/watch/status-file.js';
import { snapshotTree, diffSnapshots } from '../../../helpers/tree.js';
import { captureIo, linesOf, recordingLogger, type World, world } from '../support.js';
import { holdLock } from '../../../helpers/lock.js';

/** Writes a watcher's status file, making its directory as the watcher does when it takes its lock. */
function writeStatus(w: { statusFile: string }, doc: StatusDocument): void {
  fs.mkdirSync(path.dirname(w.statusFile), { recursive: true });
  writeStatusFile(w.statusFile, doc);
}

async function status(w: World, env: NodeJS.ProcessEnv = {}, ...extra: string[]) {
  const io = captureIo(env);
  const code = await runStatus(w.args('status', ...extra), io, recordingLogger().logger);
  return { code, out: io.out() };
}

async function synced(t: import('ava').ExecutionContext): Promise<World> {
  const w = await world(t, { a: { desired_state: 'running' }, b: { desired_state: 'stopped' } });
  await runSync(w.args('sync'), captureIo(), recordingLogger().logger);
  return w;
}

function watcherDoc(w: World, pid: number, failed?: string): StatusDocument {
  const now = Date.now();
  const table =
    failed === undefined
      ? {}
      : {
          [failed]: {
            service: failed,
            profile: failed.slice(8),
            condition: 'Failed' as const,
            reason: 'EACCES: permission denied',
            consecutiveFailures: 2,
            restartPending: false,
            sinceMs: now,
          },
        };
  return {
    formatVersion: '2',
    pid,
    startedAt: new Date(now).toISOString(), // after this process started, as a real watcher's is
    hermesHome: w.home,
    scandir: w.scandir,
    intervalSeconds: 60,
    ready: true,
    passes: 0,
    lastPass: null,
    lastFullPassAt: null,
    nextFullPassAt: new Date(now + 60_000).toISOString(),
    watchedDirectories: 3,
    services: serviceEntries(table, now),
  };
}

test('the table lists every profile with its intent and slot, and changes nothing', async (t) => {
  const w = await synced(t);
  const before = await snapshotTree(w.root);
  const r = await status(w, { COLUMNS: '1000' });
  t.is(r.code, 0);
  t.deepEqual(diffSnapshots(before, await snapshotTree(w.root)), []);
  const table = linesOf(r.out);
  t.regex(table[0] ?? '', /^PROFILE +INTENT +SLOT +LIVE +FOR +NOTE$/);
  t.regex(table.find((l) => l.startsWith('a ')) ?? '', /^a +running +ours,up +- +-$/);
  t.regex(table.find((l) => l.startsWith('b ')) ?? '', /^b +stopped +ours,down +- +-$/);
  t.true(table.includes(`scandir ${w.scandir}: 3 services (a logger counts with its service); s6-svscan is not running`), r.out);
  t.true(table.includes(`watcher: no status file at ${w.statusFile} (is watch running? see --status-file)`));
});

test('status on a scandir that does not exist yet shows every slot missing and does not create it', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } }, { scandir: 'missing' });
  const r = await status(w);
  t.is(r.code, 0);
  t.false(fs.existsSync(w.scandir));
  t.regex(linesOf(r.out).find((l) => l.startsWith('a ')) ?? '', /^a +running +none +- +- +create: /);
});

test('COLUMNS sets the table width', async (t) => {
  const w = await synced(t);
  const r = await status(w, { COLUMNS: '70' });
  for (const line of r.out.trimEnd().split('\n')) t.true(line.length <= 70, line);
});

test('--output json is the status report of its schema, with the watcher’s view of each service', async (t) => {
  const w = await synced(t);
  writeStatus(w, watcherDoc(w, process.pid, 'gateway-a'));
  const r = await status(w, {}, '--output', 'json');
  const doc = JSON.parse(r.out) as {
    profiles: { service: string; watcher: unknown }[];
    watcher: { state: string; running: boolean; pid: number };
  };
  const { validateStatusReport } = await loadValidators();
  t.true(validateStatusReport?.(doc), JSON.stringify(validateStatusReport?.errors));
  t.like(doc.watcher, { state: 'present', running: true, pid: process.pid });
  t.deepEqual(doc.profiles.find((p) => p.service === 'gateway-a')?.watcher, {
    condition: 'Failed',
    consecutiveFailures: 2,
    reason: 'EACCES: permission denied',
  });
});

/** The line for a watcher that died (killed or crashed) without recording a stop. */
function died(pid: number): string {
  return `watcher: pid ${pid} not running, and no clean stop recorded (killed or crashed?): see its log`;
}

test('a watcher that died is reported as not running', async (t) => {
  const w = await synced(t);
  // A pid beyond pid_max names no process.
  writeStatus(w, watcherDoc(w, 2 ** 22 + 1));
  const r = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(r.out).includes(died(2 ** 22 + 1)));
});

test('a killed watcher whose pid now belongs to a younger process is reported as not running', async (t) => {
  const w = await synced(t);
  // This test process is alive but started long after this "watcher" did: a reused pid.
  writeStatus(w, { ...watcherDoc(w, process.pid), startedAt: '2020-01-01T00:00:00.000Z' });
  const r = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(r.out).includes(died(process.pid)), r.out);
});

test('a watcher that recorded its clean stop is reported stopped, even when its pid now names a live process', async (t) => {
  const w = await synced(t);
  // process.pid is alive: a reused pid must not make a stopped watcher look running.
  writeStatus(w, { ...watcherDoc(w, process.pid), stopped: { at: '2026-01-01T00:00:00.000Z', by: 'SIGINT' } });
  const r = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(r.out).some((l) => l.startsWith(`watcher: pid ${process.pid} stopped by SIGINT at 2026-01-01T00:00:00.000Z (`)));
  t.false(r.out.includes('next full pass'), 'a stopped watcher promises no next pass');
  const json = await status(w, {}, '--output', 'json');
  const doc = JSON.parse(json.out) as { watcher: Record<string, unknown> };
  const { validateStatusReport } = await loadValidators();
  t.true(validateStatusReport?.(doc), JSON.stringify(validateStatusReport?.errors));
  t.like(doc.watcher, { state: 'present', running: false, stopped: { at: '2026-01-01T00:00:00.000Z', by: 'SIGINT' } });
  t.is(doc.watcher['nextFullPassAt'], null, 'a stopped watcher promises no next pass in JSON either');
});

test('an invalid status file is reported, never fatal', async (t) => {
  const w = await synced(t);
  fs.mkdirSync(path.dirname(w.statusFile), { recursive: true });
  fs.writeFileSync(w.statusFile, '{ not json');
  const broken = await status(w, { COLUMNS: '1000' });
  t.is(broken.code, 0);
  const fix = '--status-file (or RECONCILE_GATEWAYS_STATUS_FILE) must name the file `watch` writes';
  t.true(
    linesOf(broken.out).some(
      (l) => l.startsWith(`watcher: status file ${w.statusFile} unreadable: invalid JSON (`) && l.endsWith(`): ${fix}`),
    ),
  );
  fs.writeFileSync(w.statusFile, JSON.stringify({ formatVersion: '1', pid: 1 }));
  const old = await status(w, { COLUMNS: '1000' });
  t.true(
    linesOf(old.out).includes(
      `watcher: status file ${w.statusFile} unreadable: written by a watcher of another version (formatVersion "1"; this version reads "2"): restart the watcher`,
    ),
    'a watcher from before an upgrade is named as such, not as a list of schema errors',
  );
  fs.writeFileSync(w.statusFile, JSON.stringify({ formatVersion: '2' }));
  const bad = await status(w, { COLUMNS: '1000' });
  t.true(
    linesOf(bad.out).includes(
      `watcher: status file ${w.statusFile} unreadable: not a status file this version reads (must have required property 'pid', and 11 more): ${fix}`,
    ),
    linesOf(bad.out).join('\n'),
  );
});

/** Holds `<status file>.lock` as a running watcher would, until the test ends. */
async function holdWatcherLock(t: import('ava').ExecutionContext, statusFile: string): Promise<void> {
  fs.mkdirSync(path.dirname(statusFile), { recursive: true });
  await holdLock(t, `${statusFile}.lock`);
}

test('a watcher that holds its lock but could not write its status file is named, with what to check', async (t) => {
  const w = await synced(t);
  // The file is of a watcher that stopped; a new one runs (holds the lock) and cannot replace it.
  writeStatus(w, { ...watcherDoc(w, 2 ** 22 + 1), stopped: { at: '2026-01-01T00:00:00.000Z', by: 'SIGTERM' } });
  await holdWatcherLock(t, w.statusFile);
  const r = await status(w, { COLUMNS: '1000' });
  const lines = linesOf(r.out);
  t.true(
    lines.some((l) => l.startsWith(`watcher: pid ${2 ** 22 + 1} stopped by SIGTERM at 2026-01-01T00:00:00.000Z`)),
    r.out,
  );
  t.true(
    lines.includes(
      `watcher: another one runs now (it holds ${w.statusFile}.lock), but the file is not its own: can it write there? see its log (it warns when it cannot)`,
    ),
    r.out,
  );
  const json = JSON.parse((await status(w, {}, '--output', 'json')).out) as { watcher: Record<string, unknown> };
  const { validateStatusReport } = await loadValidators();
  t.true(validateStatusReport?.(json), JSON.stringify(validateStatusReport?.errors));
  t.like(json.watcher, { state: 'present', running: false, lockHeld: true });
});

test('a watcher that holds its lock but wrote no status file at all is named too', async (t) => {
  const w = await synced(t);
  await holdWatcherLock(t, w.statusFile);
  const r = await status(w, { COLUMNS: '1000' });
  t.true(
    linesOf(r.out).includes(
      `watcher: one runs (it holds ${w.statusFile}.lock) but has written no status file: can it write there? see its log (it warns when it cannot)`,
    ),
    r.out,
  );
  const json = JSON.parse((await status(w, {}, '--output', 'json')).out) as { watcher: Record<string, unknown> };
  t.like(json.watcher, { state: 'absent', lockHeld: true });
});

test('a status file whose watcher lock nobody holds is of a watcher that is gone, even if its pid is alive', async (t) => {
  const w = await synced(t);
  writeStatus(w, watcherDoc(w, process.pid));
  fs.writeFileSync(`${w.statusFile}.lock`, ''); // left by the watcher, which held it while it ran
  const r = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(r.out).includes(died(process.pid)), r.out);
});

test('a status file that is no regular file is named for what it is, never followed or waited on', async (t) => {
  const w = await synced(t);
  fs.mkdirSync(w.statusFile, { recursive: true });
  const dir = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(dir.out).includes(`watcher: status file ${w.statusFile} unreadable: is a directory`), dir.out);
  fs.rmSync(w.statusFile, { recursive: true });
  execFileSync('mkfifo', [w.statusFile]);
  const fifo = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(fifo.out).includes(`watcher: status file ${w.statusFile} unreadable: is a FIFO`), fifo.out);
  fs.rmSync(w.statusFile);
  fs.symlinkSync('/dev/zero', w.statusFile);
  const link = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(link.out).includes(`watcher: status file ${w.statusFile} unreadable: is a symlink`), link.out);
});

test('beside a status file it cannot read, status still tells from the lock whether a watcher runs', async (t) => {
  const w = await synced(t);
  fs.mkdirSync(path.dirname(w.statusFile), { recursive: true });
  fs.writeFileSync(w.statusFile, JSON.stringify({ formatVersion: '1', pid: 1 }));
  fs.writeFileSync(`${w.statusFile}.lock`, '');
  const idle = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(idle.out).includes(`watcher: none runs (nobody holds ${w.statusFile}.lock)`), idle.out);
  await holdWatcherLock(t, w.statusFile);
  const busy = await status(w, { COLUMNS: '1000' });
  t.true(linesOf(busy.out).includes(`watcher: one runs (it holds ${w.statusFile}.lock); see its log`), busy.out);
  const json = JSON.parse((await status(w, {}, '--output', 'json')).out) as { watcher: Record<string, unknown> };
  const { validateStatusReport } = await loadValidators();
  t.true(validateStatusReport?.(json), JSON.stringify(validateStatusReport?.errors));
  t.like(json.watcher, { state: 'unreadable', lockHeld: true });
});
