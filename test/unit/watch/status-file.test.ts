/**
 * src/watch/status-file.ts: the watcher's status file. Its service entries and drift reports are
 * what `status` and operators read (times as ISO text, ages in whole seconds, unset fields left
 * out); the file is replaced atomically, readable by everyone (0644), and whatever sits at its path
 * (a symlink, a FIFO, a killed watcher's temp file) is replaced, never written through or waited on.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { loadValidators } from '../../../src/cli/validate.js';
import type { DriftCondition } from '../../../src/desired/drift.js';
import type { ConditionTable } from '../../../src/watch/conditions.js';
import { type StatusDocument, driftCounts, driftReport, iso, serviceEntries, writeStatusFile } from '../../../src/watch/status-file.js';
import { makeFifo } from '../../helpers/fifo.js';
import { modeOf, tempRoot } from '../support.js';

/** 2026-01-01T00:00:00Z in unix seconds. */
const NEW_YEAR = 1767225600;

const crashLoop: DriftCondition = {
  type: 'CrashLooping',
  service: 'gateway-a',
  profile: 'a',
  sinceUnix: NEW_YEAR + 0.25,
  evidence: { exitcode: 3, restarts: 6, windowSeconds: 600 },
};

/** One service with every optional field set and one with none. */
const TABLE: ConditionTable = {
  'gateway-b': {
    service: 'gateway-b',
    profile: 'b',
    condition: 'Ready',
    consecutiveFailures: 0,
    restartPending: false,
    sinceMs: NEW_YEAR * 1000,
  },
  'gateway-a': {
    service: 'gateway-a',
    profile: 'a',
    condition: 'Failed',
    reason: 'EACCES: permission denied',
    consecutiveFailures: 2,
    nextAttemptAtMs: NEW_YEAR * 1000 + 2000,
    restartPending: true,
    autostart: true,
    sinceMs: NEW_YEAR * 1000 + 1500,
    live: 'down',
    drift: [crashLoop],
  },
};

function docOf(services: readonly Record<string, unknown>[]): StatusDocument {
  return {
    formatVersion: '2',
    pid: process.pid,
    startedAt: iso(NEW_YEAR * 1000),
    hermesHome: '/opt/data',
    scandir: '/run/service',
    intervalSeconds: 60,
    ready: true,
    passes: 1,
    lastPass: null,
    lastFullPassAt: null,
    nextFullPassAt: iso(NEW_YEAR * 1000 + 60_000),
    watchedDirectories: 2,
    services,
  };
}

/** Runs `fn` under `mask`, then puts the previous umask back. */
function withUmask<T>(mask: number, fn: () => T): T {
  const previous = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(previous);
  }
}

test('iso gives UTC ISO-8601 text with milliseconds', (t) => {
  t.is(iso(0), '1970-01-01T00:00:00.000Z');
  t.is(iso(NEW_YEAR * 1000 + 500), '2026-01-01T00:00:00.500Z');
});

test('driftReport gives the start as ISO text, the age in whole seconds, and the evidence as s6 recorded it', (t) => {
  t.deepEqual(driftReport(crashLoop, (NEW_YEAR + 90.9) * 1000), {
    type: 'CrashLooping',
    since: '2026-01-01T00:00:00.250Z',
    forSeconds: 90,
    evidence: { exitcode: 3, restarts: 6, windowSeconds: 600 },
  });
});

test('driftReport never reports a negative age when the clock is behind the condition start', (t) => {
  t.is(driftReport(crashLoop, (NEW_YEAR - 3600) * 1000).forSeconds, 0);
  t.is(driftReport(crashLoop, NEW_YEAR * 1000).forSeconds, 0);
});

test('driftCounts names every drift type, with zero for the ones nobody is in', (t) => {
  t.deepEqual(driftCounts([]), { IntentRunningButDown: 0, CrashLooping: 0, IntentStoppedButUp: 0, LoggerDown: 0 });
  const stopped = { ...crashLoop, type: 'IntentStoppedButUp' as const };
  t.deepEqual(driftCounts([crashLoop, stopped, { ...crashLoop, service: 'gateway-b' }]), {
    IntentRunningButDown: 0,
    CrashLooping: 2,
    IntentStoppedButUp: 1,
    LoggerDown: 0,
  });
});

test('serviceEntries lists services sorted by name, times as ISO text, and leaves unset fields out', (t) => {
  const now = (NEW_YEAR + 10) * 1000;
  t.deepEqual(serviceEntries(TABLE, now), [
    {
      service: 'gateway-a',
      profile: 'a',
      condition: 'Failed',
      reason: 'EACCES: permission denied',
      consecutiveFailures: 2,
      nextAttemptAt: '2026-01-01T00:00:02.000Z',
      restartPending: true,
      autostart: true,
      since: '2026-01-01T00:00:01.500Z',
      live: 'down',
      drift: [driftReport(crashLoop, now)],
    },
    {
      service: 'gateway-b',
      profile: 'b',
      condition: 'Ready',
      consecutiveFailures: 0,
      restartPending: false,
      since: '2026-01-01T00:00:00.000Z',
      drift: [],
    },
  ]);
  t.deepEqual(serviceEntries({}, now), []);
});

test('a document with both kinds of entry, as written, is valid against the status-file schema', async (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'status.json');
  writeStatusFile(file, docOf(serviceEntries(TABLE, (NEW_YEAR + 10) * 1000)));
  const { validateStatusFile } = await loadValidators();
  t.true(validateStatusFile?.(JSON.parse(fs.readFileSync(file, 'utf8'))), JSON.stringify(validateStatusFile?.errors));
});

test('the file holds the document as indented JSON ending in a newline, readable by all (0644) whatever the umask', (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'status.json');
  const doc = docOf([]);
  withUmask(0o077, () => writeStatusFile(file, doc));
  t.is(fs.readFileSync(file, 'utf8'), `${JSON.stringify(doc, null, 2)}\n`);
  t.is(modeOf(file), 0o644);
});

test('a missing directory is not made again: one made after the watcher took its lock there would hold no lock', (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'run', 'reconcile-gateways', 'status.json');
  t.throws(() => writeStatusFile(file, docOf([])), { code: 'ENOENT' });
  t.deepEqual(fs.readdirSync(root), []);
});

test('each write replaces the previous document and leaves no temp file beside it', (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'status.json');
  fs.writeFileSync(file, 'old', { mode: 0o600 });
  writeStatusFile(file, { ...docOf([]), passes: 1 });
  writeStatusFile(file, { ...docOf([]), passes: 2 });
  t.is((JSON.parse(fs.readFileSync(file, 'utf8')) as StatusDocument).passes, 2);
  t.is(modeOf(file), 0o644);
  t.deepEqual(fs.readdirSync(root), ['status.json']);
});

test('a symlink or FIFO at the status file path is refused: never written through, never waited on, never replaced', (t) => {
  const { root } = tempRoot(t);
  const victim = path.join(root, 'victim');
  fs.writeFileSync(victim, 'keep');
  const link = path.join(root, 'status.json');
  fs.symlinkSync(victim, link);
  t.throws(() => writeStatusFile(link, docOf([])), {
    message: `write ${link}: it is a symlink, not a regular file, and is never replaced`,
  });
  t.is(fs.readFileSync(victim, 'utf8'), 'keep');
  t.true(fs.lstatSync(link).isSymbolicLink());
  const fifo = path.join(root, 'fifo.json');
  makeFifo(fifo);
  t.throws(() => writeStatusFile(fifo, docOf([])), { message: `write ${fifo}: it is a FIFO, not a regular file, and is never replaced` });
  t.true(fs.lstatSync(fifo).isFIFO());
  t.deepEqual(fs.readdirSync(root).sort(), ['fifo.json', 'status.json', 'victim'], 'no temp file left');
});

test("a killed watcher's temp file is replaced, and one planted as a symlink is not followed", (t) => {
  const { root } = tempRoot(t);
  const victim = path.join(root, 'victim');
  fs.writeFileSync(victim, 'keep');
  const file = path.join(root, 'status.json');
  fs.symlinkSync(victim, path.join(root, '.status.json.rg-tmp'));
  writeStatusFile(file, docOf([]));
  t.is(fs.readFileSync(victim, 'utf8'), 'keep');
  t.is((JSON.parse(fs.readFileSync(file, 'utf8')) as StatusDocument).formatVersion, '2');
  t.deepEqual(fs.readdirSync(root).sort(), ['status.json', 'victim']);
});

test('a directory at the status file path fails the write, naming the path, and leaves no temp file', (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'status.json');
  fs.mkdirSync(file);
  t.throws(() => writeStatusFile(file, docOf([])), { message: new RegExp(`^write ${root}/status\\.json: E`) });
  t.deepEqual(fs.readdirSync(root), ['status.json']);
  t.true(fs.lstatSync(file).isDirectory());
});
