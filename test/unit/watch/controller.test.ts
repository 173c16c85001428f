/**
 * The watch loop (src/watch/controller.ts) driven with a fake clock: `now` is a number the test
 * moves, and the loop's sleeps (setTimeout inside Alarm) run on Node's mock timers, advanced by
 * the same amount. Passes are recorded, not run, so every assertion is about *when* and *what*
 * the controller asks for: start, debounce, minimum gap, interval, SIGHUP, back-off, stop.
 */
import { mock } from 'node:test';
import test from 'ava';
import type { Operation } from '../../../src/model.js';
import type { DriftCondition } from '../../../src/desired/drift.js';
import type { PassResult } from '../../../src/reconcile.js';
import { Controller, type PassReport, type PassRequest } from '../../../src/watch/controller.js';
import type { Timing } from '../../../src/watch/scheduler.js';
import type { PassSummary, StatusDocument } from '../../../src/watch/status-file.js';
import { specOf } from '../../helpers/observed.js';
import { decisionOf, passResultOf } from '../../helpers/pass-result.js';

const TIMING: Timing = { intervalMs: 60_000, debounceMs: 50, minGapMs: 250 };

/** A pass that read nothing and changed nothing; with `failed`, one create of it failed. */
function resultOf(failed?: string): PassResult {
  if (failed === undefined) return passResultOf();
  const op: Operation = {
    kind: 'create',
    service: `gateway-${failed}`,
    profile: failed,
    reason: 'slot missing',
    spec: specOf(failed, true),
  };
  return passResultOf({
    plan: { operations: [op], restartPending: [] },
    results: [{ op, status: 'failed', error: 'EEXIST: file exists' }],
  });
}

const DONE: PassReport = { kind: 'done', result: resultOf(), scoped: false, exitCode: 0, warnings: [], servicePrefix: 'gateway-' };
const ERROR: PassReport = { kind: 'error', code: 'fatal', message: 'scandir unusable', terminal: false, exitCode: 111 };

interface Recorded {
  readonly atMs: number;
  readonly trigger: string;
  readonly profiles: string[] | 'all';
  readonly hold: string[];
}

/** A controller on a fake clock; `reply` decides each pass's report (1-based pass number). */
function drive(reply: (n: number, request: PassRequest, signal: AbortSignal) => PassReport | Promise<PassReport> = () => DONE) {
  let clock = 0;
  let mono = 0;
  const passes: Recorded[] = [];
  const reports: { doc: StatusDocument; summary: PassSummary; first: boolean }[] = [];
  const controller = new Controller({
    timing: TIMING,
    now: () => clock,
    monotonic: () => mono,
    random: () => 0.5, // jitter factor 0.9 + 0.2 × 0.5 = 1: the interval exactly
    runPass: async (request, signal) => {
      const profiles = request.profiles === undefined ? 'all' : [...request.profiles].sort();
      passes.push({ atMs: clock, trigger: request.trigger, profiles, hold: [...request.hold].sort() });
      const report = await reply(passes.length, request, signal);
      // As the real runner does: a pass over named profiles is scoped.
      return report.kind === 'done' ? { ...report, scoped: request.profiles !== undefined } : report;
    },
    refreshWatches: async () => undefined,
    watchedDirectories: () => 3,
    onPass: (doc, summary, first) => reports.push({ doc, summary, first }),
    meta: { pid: 4242, hermesHome: '/opt/data', scandir: '/run/service' },
  });
  const running = controller.run();
  /** Moves the clock and the loop's timers forward by `ms`, then lets the loop react. */
  const advance = async (ms: number): Promise<void> => {
    clock += ms;
    mono += ms;
    mock.timers.tick(ms);
    await settle();
  };
  /** Steps the wall clock alone (NTP, a VM resumed): no time passes. */
  const step = (ms: number): void => {
    clock += ms;
  };
  return { controller, running, passes, reports, advance, step, at: () => clock };
}

/** Lets every promise the loop is waiting on resolve (nothing here does real I/O). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

test.beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
test.afterEach.always(() => mock.timers.reset());

/** Stops the loop and waits for run() to return. */
async function finish(h: ReturnType<typeof drive>): Promise<void> {
  h.controller.stop();
  await settle();
  await h.running;
}

test.serial('the first pass is full, triggered by start, and marks the watcher ready', async (t) => {
  const h = drive();
  await settle();
  t.deepEqual(h.passes, [{ atMs: 0, trigger: 'start', profiles: 'all', hold: [] }]);
  t.is(h.reports.length, 1);
  t.true(h.reports[0]?.first);
  t.like(h.reports[0]?.doc, {
    formatVersion: '2',
    pid: 4242,
    ready: true,
    passes: 1,
    intervalSeconds: 60,
    lastFullPassAt: new Date(0).toISOString(),
    nextFullPassAt: new Date(60_000).toISOString(),
    watchedDirectories: 3,
  });
  t.like(h.reports[0]?.summary, { scope: 'full', trigger: 'start', result: 'converged' });
  await finish(h);
});

test.serial('an event runs a targeted pass once the debounce has passed, not before', async (t) => {
  const h = drive();
  await settle();
  await h.advance(1_000);
  h.controller.hint({ kind: 'profile', profile: 'alpha' });
  h.controller.hint({ kind: 'profile', profile: 'beta' });
  await settle();
  await h.advance(TIMING.debounceMs - 1);
  t.is(h.passes.length, 1, 'still debouncing');
  await h.advance(1);
  t.deepEqual(h.passes[1], { atMs: 1_050, trigger: 'event', profiles: ['alpha', 'beta'], hold: [] });
  t.false(h.reports[1]?.first);
  t.like(h.reports[1]?.summary, { scope: 'targeted', trigger: 'event', profiles: ['alpha', 'beta'] });
  await finish(h);
});

test.serial('an event right after a pass waits for the minimum gap', async (t) => {
  const h = drive();
  await settle();
  h.controller.hint({ kind: 'profile', profile: 'alpha' });
  await settle();
  await h.advance(TIMING.minGapMs - 1);
  t.is(h.passes.length, 1);
  await h.advance(1);
  t.deepEqual(
    h.passes.map((p) => [p.atMs, p.trigger]),
    [
      [0, 'start'],
      [250, 'event'],
    ],
  );
  await finish(h);
});

test.serial('a hint only a full pass can answer runs a full pass', async (t) => {
  const h = drive();
  await settle();
  await h.advance(5_000);
  h.controller.hint({ kind: 'full', why: 'config.yaml changed' });
  await settle();
  await h.advance(TIMING.debounceMs);
  t.deepEqual(h.passes[1], { atMs: 5_050, trigger: 'event', profiles: 'all', hold: [] });
  await finish(h);
});

test.serial('the interval runs a full pass every interval after the start of the last full one', async (t) => {
  const h = drive();
  await settle();
  await h.advance(TIMING.intervalMs - 1);
  t.is(h.passes.length, 1);
  await h.advance(1);
  await h.advance(TIMING.intervalMs);
  t.deepEqual(
    h.passes.map((p) => [p.atMs, p.trigger, p.profiles]),
    [
      [0, 'start', 'all'],
      [60_000, 'interval', 'all'],
      [120_000, 'interval', 'all'],
    ],
  );
  await finish(h);
});

test.serial('SIGHUP (force) runs a full pass at once', async (t) => {
  const h = drive();
  await settle();
  await h.advance(10);
  h.controller.force();
  await settle();
  t.deepEqual(h.passes[1], { atMs: 10, trigger: 'signal', profiles: 'all', hold: [] });
  await finish(h);
});

test.serial('a failing pass is retried after 1 s, 2 s, 4 s and events wait for it', async (t) => {
  const h = drive((n) => (n <= 4 ? ERROR : DONE));
  await settle();
  await h.advance(1_000);
  await h.advance(500);
  h.controller.hint({ kind: 'profile', profile: 'alpha' });
  await settle();
  await h.advance(1_500);
  await h.advance(4_000);
  await h.advance(8_000);
  t.deepEqual(
    h.passes.map((p) => [p.atMs, p.trigger, p.profiles]),
    [
      [0, 'start', 'all'],
      [1_000, 'retry', 'all'],
      [3_000, 'retry', 'all'],
      [7_000, 'retry', 'all'],
      [15_000, 'retry', 'all'],
    ],
    'no event pass while erroring: the full retry answers the hint',
  );
  t.like(h.reports[0]?.summary, { result: 'error', exitCode: 111, error: { code: 'fatal', message: 'scandir unusable', terminal: false } });
  t.false(h.reports[0]?.doc.ready, 'not ready until a pass completes');
  t.true(h.reports[4]?.first);
  t.like(h.reports[4]?.doc, { ready: true, nextFullPassAt: new Date(75_000).toISOString() });
  await finish(h);
});

test.serial('a terminal error (invalid config) waits for the interval, not a back-off', async (t) => {
  const h = drive((n) => (n === 1 ? { ...ERROR, code: 'usage', terminal: true, exitCode: 100 } : DONE));
  await settle();
  await h.advance(TIMING.intervalMs - 1);
  t.is(h.passes.length, 1);
  await h.advance(1);
  t.deepEqual(h.passes[1], { atMs: 60_000, trigger: 'retry', profiles: 'all', hold: [] });
  await h.advance(TIMING.intervalMs);
  t.like(h.passes[2], { trigger: 'interval' }, 'once a pass completes, the interval is the interval again');
  await finish(h);
});

test.serial('a failed operation holds its service and is retried alone after its back-off', async (t) => {
  const failing: PassReport = { ...DONE, result: resultOf('x') } as PassReport;
  const h = drive((n) => (n <= 2 ? failing : DONE));
  await settle();
  t.like(h.reports[0]?.summary, { result: 'partial', counts: { create: 1, failed: 1 } });
  t.like(h.reports[0]?.doc.services[0], { service: 'gateway-x', condition: 'Failed', consecutiveFailures: 1 });
  // An event for x inside its back-off: the pass runs, with x held.
  await h.advance(300);
  h.controller.hint({ kind: 'profile', profile: 'x' });
  await settle();
  await h.advance(TIMING.debounceMs);
  t.deepEqual(h.passes[1], { atMs: 350, trigger: 'event', profiles: ['x'], hold: ['gateway-x'] });
  // Still failing (second failure recorded at 350: next attempt 2 s later), then retried alone.
  await h.advance(2_000 - 1);
  t.is(h.passes.length, 2);
  await h.advance(1);
  t.deepEqual(h.passes[2], { atMs: 2_350, trigger: 'retry', profiles: ['x'], hold: [] });
  await finish(h);
});

test.serial('SIGHUP clears the back-off: the forced pass holds nothing', async (t) => {
  const failing: PassReport = { ...DONE, result: resultOf('x') } as PassReport;
  const h = drive((n) => (n === 1 ? failing : DONE));
  await settle();
  await h.advance(100);
  h.controller.force();
  await settle();
  t.deepEqual(h.passes[1], { atMs: 100, trigger: 'signal', profiles: 'all', hold: [] });
  await finish(h);
});

test.serial('a targeted pass whose intents are unchanged reports nothing and clears the batch', async (t) => {
  const h = drive((n) => (n === 2 ? { kind: 'unchanged' } : DONE));
  await settle();
  await h.advance(1_000);
  h.controller.hint({ kind: 'intent', profile: 'alpha' });
  await settle();
  await h.advance(TIMING.debounceMs);
  t.is(h.passes.length, 2);
  t.is(h.reports.length, 1, 'no status written for an unchanged check');
  await h.advance(10_000);
  t.is(h.passes.length, 2, 'the hint was consumed');
  await finish(h);
});

test.serial('stop aborts the pass in flight and run() returns without reporting it', async (t) => {
  let aborted = false;
  const h = drive((n, _request, signal) =>
    n === 1
      ? DONE
      : new Promise<PassReport>((resolve) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ kind: 'aborted' });
          }),
        ),
  );
  await settle();
  h.controller.force();
  await settle();
  t.is(h.passes.length, 2);
  h.controller.stop();
  await h.running;
  t.true(aborted);
  t.is(h.reports.length, 1);
});

test.serial('a pass that runs to its end after stop is still reported: what it applied is in the last document', async (t) => {
  let finish: ((r: PassReport) => void) | undefined;
  const h = drive((n) => (n === 1 ? DONE : new Promise<PassReport>((resolve) => (finish = resolve))));
  await settle();
  h.controller.force();
  await settle();
  t.is(h.passes.length, 2);
  h.controller.stop();
  finish?.({ kind: 'done', result: resultOf('b'), scoped: false, exitCode: 2, warnings: [], servicePrefix: 'gateway-' });
  await h.running;
  t.is(h.reports.length, 2);
  t.is(h.reports[1]?.doc.passes, 2);
  t.is(h.controller.document().lastPass?.exitCode, 2, 'the document after stop carries that pass');
});

test.serial('before the first pass the document names the watcher, with no pass and not ready', async (t) => {
  const h = drive(() => new Promise<PassReport>(() => undefined));
  t.like(h.controller.document(), { pid: 4242, passes: 0, ready: false, lastPass: null, lastFullPassAt: null });
  h.controller.stop();
});

test.serial('a pass with drift names the drifting services in its summary, sorted, each once', async (t) => {
  const drift: DriftCondition[] = [
    { type: 'IntentRunningButDown', service: 'gateway-b', profile: 'b', sinceUnix: 0, evidence: {} },
    { type: 'CrashLooping', service: 'gateway-a', profile: 'a', sinceUnix: 0, evidence: {} },
    { type: 'IntentRunningButDown', service: 'gateway-a', profile: 'a', sinceUnix: 0, evidence: {} },
  ];
  const drifted: PassReport = { ...DONE, result: withDrift(['a', 'b'], drift) } as PassReport;
  const h = drive(() => drifted);
  await settle();
  t.deepEqual(h.reports[0]?.summary.drifting, ['gateway-a', 'gateway-b']);
  t.like(h.reports[0]?.summary.drift, { IntentRunningButDown: 2, CrashLooping: 1 });
  await finish(h);
});

/** A pass that read the named profiles (each a running gateway) and found `drift`. */
function withDrift(profiles: readonly string[], drift: readonly DriftCondition[]): PassResult {
  return passResultOf({ desired: { decisions: profiles.map((p) => decisionOf(p)) }, drift });
}

test.serial('a targeted pass still counts the drift of services it did not read, as the metrics do', async (t) => {
  const down: DriftCondition = { type: 'IntentRunningButDown', service: 'gateway-a', profile: 'a', sinceUnix: 0, evidence: {} };
  const h = drive((n) => ({
    ...DONE,
    result: n === 1 ? withDrift(['a', 'c'], [down]) : n === 2 ? withDrift(['c'], []) : withDrift(['a', 'c'], []),
  }));
  await settle();
  t.like(h.reports[0]?.summary, { scope: 'full', drift: { IntentRunningButDown: 1 }, drifting: ['gateway-a'] });
  await h.advance(1_000);
  h.controller.hint({ kind: 'profile', profile: 'c' });
  await h.advance(TIMING.debounceMs);
  // Only c was read: a is still down as far as the watcher knows, so the line must not say 0.
  t.like(h.reports[1]?.summary, { scope: 'targeted', profiles: ['c'], drift: { IntentRunningButDown: 1 }, drifting: ['gateway-a'] });
  h.controller.force();
  await settle();
  const last = h.reports.at(-1)?.summary;
  t.like(last, { scope: 'full', drift: { IntentRunningButDown: 0 } });
  t.is(last?.drifting, undefined, 'a full pass that finds it up clears it');
  await finish(h);
});

test.serial(
  'a step of the wall clock moves every deadline with it: a step back does not stop the interval passes, nor a retry',
  async (t) => {
    const failing: PassReport = { ...DONE, result: resultOf('x') } as PassReport;
    const h = drive((n) => (n === 1 ? failing : DONE));
    await settle();
    t.like(h.reports[0]?.doc.services[0], { service: 'gateway-x', condition: 'Failed' });
    await h.advance(500);
    h.step(-600_000); // ten minutes back, half-way to x's retry (due 1 s after the first pass)
    await h.advance(500);
    t.like(h.passes[1], { atMs: -599_000, trigger: 'retry', profiles: ['x'] });
    await h.advance(TIMING.intervalMs - 1000);
    t.is(h.passes.length, 3, 'the interval pass ran one interval after the start, by the time that passed');
    t.like(h.passes[2], { atMs: -540_000, trigger: 'interval', profiles: 'all' });
    h.step(3_600_000); // an hour forward (or a VM resumed): no burst; the sleep runs out by the time that passed
    await h.advance(TIMING.intervalMs - 1);
    t.is(h.passes.length, 3);
    await h.advance(1);
    t.is(h.passes.length, 4);
    t.like(h.passes[3], { trigger: 'interval', profiles: 'all' });
    await finish(h);
  },
);

test.serial('a step back of the clock while a pass runs does not delay the next interval pass by the step', async (t) => {
  const during: { step?: (ms: number) => void } = {};
  const h = drive((n) => {
    if (n === 1) during.step?.(-600_000);
    return DONE;
  });
  during.step = h.step;
  await settle();
  t.is(h.passes.length, 1);
  await h.advance(TIMING.intervalMs);
  t.is(h.passes.length, 2, 'one interval after the start, by the time that passed');
  await finish(h);
});

test.serial('a refused service is not backed off, and a real failure after refusals backs off from 1 s', async (t) => {
  const refusedResult = (): PassResult => {
    const op: Operation = {
      kind: 'update',
      service: 'gateway-x',
      profile: 'x',
      reason: 'not adopted',
      dirs: [],
      changes: [],
      refused: true,
    };
    return passResultOf({ plan: { operations: [op], restartPending: [] }, results: [{ op, status: 'failed', error: 'not adopted' }] });
  };
  const refused: PassReport = { ...DONE, result: refusedResult() } as PassReport;
  const failing: PassReport = { ...DONE, result: resultOf('x') } as PassReport;
  const h = drive((n) => (n <= 3 ? refused : n === 4 ? failing : DONE));
  await settle();
  for (let i = 0; i < 2; i++) await h.advance(TIMING.intervalMs);
  t.like(h.reports[2]?.doc.services[0], { service: 'gateway-x', condition: 'Failed', consecutiveFailures: 3 });
  t.false('nextAttemptAt' in (h.reports[2]?.doc.services[0] ?? {}), 'no retry scheduled for a refusal');
  t.true(
    h.passes.every((p) => p.trigger !== 'retry' && p.hold.length === 0),
    'never retried, never held',
  );
  await h.advance(TIMING.intervalMs);
  t.like(h.reports[3]?.doc.services[0], { condition: 'Failed', consecutiveFailures: 1 });
  await h.advance(1000);
  t.like(h.passes[4], { trigger: 'retry', profiles: ['x'] });
  await finish(h);
});
