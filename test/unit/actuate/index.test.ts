/**
 * src/actuate/index.ts: a whole plan applied on a temp HERMES_HOME and scandir. Results come back
 * in plan order, every operation fails alone, restarts are journalled around the updates they
 * pick up, and a live s6-svscan is asked to rescan only when a create was published.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { type ApplyContext, applyPlan } from '../../../src/actuate/index.js';
import { DEFAULT_SETTINGS } from '../../../src/cli/config.js';
import { renderSlotFiles } from '../../../src/desired/render.js';
import type { CreateOp, Operation, Plan } from '../../../src/model.js';
import { RESTARTS_FILE } from '../../../src/journal.js';
import { STAGING_PREFIX, STATE_DIR } from '../../../src/state-dir/index.js';
import { listenOnControl } from '../../helpers/fifo.js';
import { type TempRoot, put, tempRoot } from '../support.js';

interface World {
  readonly home: TempRoot;
  readonly scan: TempRoot;
  readonly ctx: ApplyContext;
}

function world(t: Parameters<typeof tempRoot>[0], extra: Partial<ApplyContext> = {}): World {
  const home = tempRoot(t, 'rg-home-');
  const scan = tempRoot(t, 'rg-scan-');
  const ctx: ApplyContext = {
    home: home.dir,
    scandir: scan.dir,
    settings: DEFAULT_SETTINGS,
    isRoot: false,
    live: false,
    rescan: false,
    journal: { present: false, keep: [] },
    sleep: () => undefined,
    removalWaitMs: 0,
    ...extra,
  };
  return { home, scan, ctx };
}

const planOf = (...operations: Operation[]): Plan => ({ operations, restartPending: [] });

function createOf(profile: string): CreateOp {
  const service = `gateway-${profile}`;
  return {
    kind: 'create',
    service,
    profile,
    reason: 'new',
    spec: { service, profile, autostart: true, files: renderSlotFiles(service, profile, DEFAULT_SETTINGS) },
  };
}

const base = (kind: string, profile: string): { service: string; profile: string; reason: string } => ({
  service: `gateway-${profile}`,
  profile,
  reason: `${kind} for the test`,
});

test('every kind of operation applies, and the results come back in plan order', async (t) => {
  const w = world(t);
  put(w.home.root, 'profiles/a/gateway.pid', '1');
  put(w.scan.root, 'gateway-b/run', 'old');
  put(w.scan.root, 'gateway-c/run', 'x');
  put(w.scan.root, 'gateway-d/run', 'x');
  const plan = planOf(
    { kind: 'remove', ...base('remove', 'd') },
    { kind: 'down', ...base('down', 'c') },
    {
      kind: 'update',
      ...base('update', 'b'),
      dirs: [],
      changes: [{ path: 'run', fix: 'write', spec: { path: 'run', content: 'new', mode: 0o755 } }],
    },
    createOf('e'),
    { kind: 'sweep', ...base('sweep', 'a'), dir: 'profiles/a', files: ['gateway.pid'] },
    { kind: 'seed', ...base('seed', 'default'), path: 'gateway_state.json', content: '{"desired_state":"running"}\n' },
  );
  const { results, warnings } = await applyPlan(plan, w.ctx);
  t.deepEqual(warnings, []);
  t.deepEqual(
    results.map((r) => [r.op.kind, r.status]),
    plan.operations.map((op) => [op.kind, 'applied']),
  );
  t.deepEqual(
    results.map((r) => r.op),
    plan.operations,
  );
  t.false(fs.existsSync(path.join(w.scan.root, 'gateway-d')));
  t.true(fs.existsSync(path.join(w.scan.root, 'gateway-c', 'down')));
  t.is(fs.readFileSync(path.join(w.scan.root, 'gateway-b', 'run'), 'utf8'), 'new');
  t.true(fs.lstatSync(path.join(w.scan.root, 'gateway-e', 'supervise', 'control')).isFIFO());
  t.false(fs.existsSync(path.join(w.home.root, 'profiles', 'a', 'gateway.pid')));
  t.is(fs.readFileSync(path.join(w.home.root, 'gateway_state.json'), 'utf8'), '{"desired_state":"running"}\n');
});

test('a refused remove or purge fails with its reason and touches nothing: the slot stays, no trash is made', async (t) => {
  const w = world(t);
  put(w.scan.root, 'gateway-d/run', 'x');
  const remove: Operation = { kind: 'remove', ...base('remove', 'd'), reason: 'not removed: the test refuses it', refused: true };
  const purge: Operation = {
    kind: 'purge',
    ...base('purge', 'p'),
    reason: 'not purged: the test refuses it',
    supervised: true,
    refused: true,
  };
  const { results } = await applyPlan(planOf(remove, purge), w.ctx);
  t.deepEqual(results, [
    { op: remove, status: 'failed', error: 'not removed: the test refuses it' },
    { op: purge, status: 'failed', error: 'not purged: the test refuses it' },
  ]);
  t.is(fs.readFileSync(path.join(w.scan.root, 'gateway-d', 'run'), 'utf8'), 'x');
  t.false(fs.existsSync(path.join(w.scan.root, STATE_DIR)), 'no state directory, no trash');
});

test('one failing operation is reported and the others still apply', async (t) => {
  const w = world(t);
  put(w.scan.root, 'gateway-c/run', 'x');
  const plan = planOf(
    { kind: 'up', ...base('up', 'gone') },
    { kind: 'down', ...base('down', 'c') },
    { kind: 'heal', ...base('heal', 'c') },
    createOf('e'),
  );
  const { results } = await applyPlan(plan, w.ctx);
  t.deepEqual(
    results.map((r) => r.status),
    ['failed', 'applied', 'failed', 'applied'],
  );
  t.true(results[0]?.error?.includes('gateway-gone'), results[0]?.error);
  t.true(fs.existsSync(path.join(w.scan.root, 'gateway-c', 'down')));
  t.true(fs.existsSync(path.join(w.scan.root, 'gateway-e')));
});

test('whatever the fault-injection hook throws fails that operation alone, as an unexpected error', async (t) => {
  const w = world(t, {
    beforeOperation: (op) => {
      if (op.profile === 'c') throw new Error('disk on fire');
    },
  });
  put(w.scan.root, 'gateway-c/run', 'x');
  put(w.scan.root, 'gateway-d/run', 'x');
  const { results } = await applyPlan(planOf({ kind: 'down', ...base('down', 'c') }, { kind: 'down', ...base('down', 'd') }), w.ctx);
  t.like(results[0], { status: 'failed', error: 'unexpected error: disk on fire' });
  t.is(results[1]?.status, 'applied');
  t.false(fs.existsSync(path.join(w.scan.root, 'gateway-c', 'down')));
});

test('with s6 live, a published create makes s6-svscan rescan; a plan without one does not', async (t) => {
  const w = world(t, { live: true, rescan: true });
  const svscan = listenOnControl(t, path.join(w.scan.root, '.s6-svscan'));
  put(w.scan.root, 'gateway-c/run', 'x');
  await applyPlan(planOf({ kind: 'down', ...base('down', 'c') }), w.ctx);
  t.is(svscan.received(), '');
  await applyPlan(planOf(createOf('e')), w.ctx);
  t.is(svscan.received(), 'a');
});

test('pickups: one rescan for all, after the markers changed, even when boot would not rescan for creates', async (t) => {
  const w = world(t, { live: true, rescan: false });
  put(w.scan.root, 'gateway-c/run', 'x');
  put(w.scan.root, 'gateway-c/down', '');
  put(w.scan.root, 'gateway-d/run', 'x');
  const svscan = listenOnControl(t, path.join(w.scan.root, '.s6-svscan'));
  let downAtRescan: boolean | undefined;
  const { results } = await applyPlan(
    planOf({ kind: 'up', ...base('up', 'c') }, { kind: 'pickup', ...base('pickup', 'c') }, { kind: 'pickup', ...base('pickup', 'd') }),
    {
      ...w.ctx,
      beforeOperation: (op) => {
        if (op.kind === 'pickup') downAtRescan ??= fs.existsSync(path.join(w.scan.root, 'gateway-c', 'down'));
      },
    },
  );
  t.deepEqual(
    results.map((r) => `${r.op.kind} ${r.status}`),
    ['up applied', 'pickup applied', 'pickup applied'],
  );
  t.false(downAtRescan, 'the supervisor the rescan starts finds the marker gone');
  t.is(svscan.received(), 'a', 'one rescan for both');
  await applyPlan(planOf(createOf('f'), { kind: 'pickup', ...base('pickup', 'd') }), { ...w.ctx, rescan: true });
  t.is(svscan.received(), 'a', 'a create and a pickup: still one rescan');
});

test('a pickup fails when its rescan does, and alone when the fault hook fails it', async (t) => {
  const w = world(t, { live: true, rescan: true });
  const deaf = await applyPlan(planOf({ kind: 'pickup', ...base('pickup', 'c') }), w.ctx);
  t.is(deaf.results[0]?.status, 'failed');
  t.regex(deaf.results[0]?.error ?? '', /^s6-svscanctl -a: /);
  const gone = await applyPlan(planOf({ kind: 'pickup', ...base('pickup', 'c') }), { ...w.ctx, live: false });
  t.is(gone.results[0]?.error, 's6-svscan is not running on the scandir');
  const svscan = listenOnControl(t, path.join(w.scan.root, '.s6-svscan'));
  const hooked = await applyPlan(planOf({ kind: 'pickup', ...base('pickup', 'c') }, { kind: 'pickup', ...base('pickup', 'd') }), {
    ...w.ctx,
    beforeOperation: (op) => {
      if (op.service === 'gateway-c') throw new Error('injected');
    },
  });
  t.deepEqual(
    hooked.results.map((r) => r.status),
    ['failed', 'applied'],
  );
  t.is(svscan.received(), 'a');
});

test('a rescan nobody hears is a warning; the create still counts as applied', async (t) => {
  const w = world(t, { live: true, rescan: true });
  const { results, warnings } = await applyPlan(planOf(createOf('e')), w.ctx);
  t.is(results[0]?.status, 'applied');
  t.is(warnings.length, 1);
  t.true(warnings[0]?.startsWith('s6-svscanctl -a: '), warnings[0]);
});

test('a done restart is journalled and then cleared; one that failed stays in the journal with the kept entries', async (t) => {
  const w = world(t, { journal: { present: false, keep: ['gateway-kept'] } });
  put(w.scan.root, 'gateway-a/run', 'x');
  put(w.scan.root, 'gateway-b/run', 'x');
  const supervisor = listenOnControl(t, path.join(w.scan.root, 'gateway-a', 'supervise'));
  const journal = path.join(w.scan.root, STATE_DIR, RESTARTS_FILE);
  const { results } = await applyPlan(
    planOf({ kind: 'restart', ...base('restart', 'a') }, { kind: 'restart', ...base('restart', 'b') }),
    w.ctx,
  );
  t.deepEqual(
    results.map((r) => r.status),
    ['applied', 'failed'],
  );
  t.is(supervisor.received(), 'r');
  t.deepEqual(JSON.parse(fs.readFileSync(journal, 'utf8')), { formatVersion: '1', services: ['gateway-b', 'gateway-kept'] });

  const next = world(t, { journal: { present: true, keep: [] } });
  put(next.scan.root, 'gateway-a/run', 'x');
  listenOnControl(t, path.join(next.scan.root, 'gateway-a', 'supervise'));
  await applyPlan(planOf({ kind: 'restart', ...base('restart', 'a') }), next.ctx);
  t.false(fs.existsSync(path.join(next.scan.root, STATE_DIR, RESTARTS_FILE)), 'all done: the journal is removed');
});

test('an empty plan still clears staging left by a dead run', async (t) => {
  const w = world(t);
  put(w.scan.root, `${STATE_DIR}/${STAGING_PREFIX}2147483646/s0/run`, 'x');
  fs.chmodSync(path.join(w.scan.root, STATE_DIR), 0o700);
  t.deepEqual(await applyPlan(planOf(), w.ctx), { results: [], warnings: [] });
  t.deepEqual(fs.readdirSync(path.join(w.scan.root, STATE_DIR)), []);
});

test('a restart is in the journal before the update it picks up changes any file', async (t) => {
  let journalAtUpdate: unknown;
  const w = world(t, {
    beforeOperation: (op) => {
      if (op.kind !== 'update') return;
      const file = path.join(w.scan.root, STATE_DIR, RESTARTS_FILE);
      journalAtUpdate = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : 'no journal';
    },
  });
  put(w.scan.root, 'gateway-a/run', 'old');
  listenOnControl(t, path.join(w.scan.root, 'gateway-a', 'supervise'));
  const update: Operation = {
    kind: 'update',
    ...base('update', 'a'),
    dirs: [],
    changes: [{ path: 'run', fix: 'write', spec: { path: 'run', content: 'new', mode: 0o755 } }],
  };
  const { results } = await applyPlan(planOf(update, { kind: 'restart', ...base('restart', 'a') }), w.ctx);
  t.deepEqual(
    results.map((r) => r.status),
    ['applied', 'applied'],
  );
  t.deepEqual(journalAtUpdate, { formatVersion: '1', services: ['gateway-a'] });
});

test('one removal budget covers the whole pass: cleanups and removes together, the rest left for the next pass', async (t) => {
  const w = world(t, { removalBudget: 8 });
  for (const f of ['run', 'finish', 'log/run']) put(w.scan.root, `.gateway-x.tmp/${f}`, 'x');
  for (const f of ['run', 'finish', 'log/run']) put(w.scan.root, `gateway-d/${f}`, 'x');
  const cleanup = { kind: 'cleanup' as const, ...base('cleanup', 'x'), entry: '.gateway-x.tmp' };
  const { results } = await applyPlan(planOf(cleanup, { kind: 'remove', ...base('remove', 'd') }), w.ctx);
  t.is(results[0]?.status, 'applied');
  t.is(results[1]?.status, 'failed', 'the budget the cleanup spent is not there for the remove');
  t.true(results[1]?.error?.includes('too large to delete in one pass'), results[1]?.error);
  const next = await applyPlan(planOf({ kind: 'purge', ...base('purge', 'd'), supervised: false }), w.ctx);
  t.is(next.results[0]?.status, 'applied', 'the next pass finishes it');
});
