import test from 'ava';
import type { LiveStatus, Operation, ProfileDecision } from '../../../src/model.js';
import type { PassResult } from '../../../src/reconcile.js';
import type { DriftCondition } from '../../../src/desired/drift.js';
import { FINISH_FAILURE_EXIT, driftConditionLine, liveReport, statusRows } from '../../../src/cli/status-report.js';
import { home, liveUp, observedOf, profile, scandirOf, slotOf, specOf, stateOf } from '../../helpers/observed.js';
import { passResultOf } from '../../helpers/pass-result.js';

const NOW_MS = 2_000_000_000_000;
const SCANDIR = '/run/service';
const NOW_S = NOW_MS / 1000;

/** A service s6 holds down after `run` exited with `code` (or was killed by `signal`). */
function downAfter(code: number, signal = -1, wantedUp = false): LiveStatus {
  return { ...liveUp(NOW_S - 90), up: false, wantedUp, pid: 0, exitcode: signal >= 0 ? -1 : code, signum: signal };
}

const decode = test.macro({
  exec(t, live: LiveStatus, slot: { hasDownMarker: boolean; finishOurs: boolean }, expected: Record<string, unknown>) {
    t.like(liveReport(live, slot, NOW_MS), expected);
  },
  title: (title) => `liveReport: ${title ?? ''}`,
});

const UP_MARKER = { hasDownMarker: false, finishOurs: true };
test('an up service has its pid and no last exit', decode, liveUp(NOW_S - 42), UP_MARKER, {
  up: true,
  pid: 4242,
  lastExit: null,
  forSeconds: 42,
  permanentFailure: false,
});
test('exit 78 under our finish, marker up, is a permanent failure', decode, downAfter(FINISH_FAILURE_EXIT), UP_MARKER, {
  pid: null,
  lastExit: { code: 78 },
  permanentFailure: true,
});
test(
  'exit 78 under a foreign finish is only stopped',
  decode,
  downAfter(78),
  { hasDownMarker: false, finishOurs: false },
  {
    permanentFailure: false,
  },
);
test(
  'exit 78 with a down marker is an intended stop',
  decode,
  downAfter(78),
  { hasDownMarker: true, finishOurs: true },
  {
    permanentFailure: false,
  },
);
test('exit 0 is a clean stop, not a failure', decode, downAfter(0), UP_MARKER, { lastExit: { code: 0 }, permanentFailure: false });
test(
  'a service s6 never ran (an empty death tally) has no last exit, though s6 reports exit 0',
  decode,
  { ...downAfter(0), deaths: [] },
  UP_MARKER,
  {
    lastExit: null,
    permanentFailure: false,
  },
);
test(
  'an exit 78 with a tally emptied by s6-svdt-clear (or not kept) is still a death, and a permanent failure',
  decode,
  { ...downAfter(FINISH_FAILURE_EXIT), deaths: [] },
  UP_MARKER,
  {
    lastExit: { code: FINISH_FAILURE_EXIT },
    permanentFailure: true,
  },
);
test('a killed service reports its signal', decode, downAfter(0, 15), UP_MARKER, { lastExit: { signal: 15 }, permanentFailure: false });
test('a service s6 is restarting is not a permanent failure', decode, downAfter(78, -1, true), UP_MARKER, {
  wantedUp: true,
  permanentFailure: false,
});
test('a transition in the future is 0 s ago, and since is ISO time', decode, liveUp(NOW_S + 100), UP_MARKER, {
  forSeconds: 0,
  since: new Date((NOW_S + 100) * 1000).toISOString(),
});

test('a drift condition line gives its type, age and evidence', (t) => {
  t.is(
    driftConditionLine({ type: 'CrashLooping', since: '', forSeconds: 12, evidence: { signal: 9, restarts: 6, windowSeconds: 600 } }),
    'CrashLooping for 12 s (signal 9, 6 restarts in 600 s)',
  );
  t.is(driftConditionLine({ type: 'IntentStoppedButUp', since: '', forSeconds: 0, evidence: {} }), 'IntentStoppedButUp for 0 s');
});

function decision(name: string, over: Partial<ProfileDecision> = {}): ProfileDecision {
  return {
    profile: name,
    service: `gateway-${name}`,
    priorState: 'running',
    autostart: true,
    action: 'started',
    priorExit: 'clean',
    ...over,
  };
}

/** A dry-run pass: profiles a (up), b (held down by s6), c (skipped, no slot), and a stray slot `old`. */
function pass(): PassResult {
  const observed = observedOf(
    home({ named: [profile('a', { state: stateOf({ desired_state: 'running' }) }), profile('b'), profile('c')] }),
    scandirOf([
      slotOf(specOf('a', true), { live: liveUp(NOW_S - 10) }),
      slotOf(specOf('b', true), { live: downAfter(FINISH_FAILURE_EXIT) }),
      slotOf(specOf('old', true)),
    ]),
  );
  const remove: Operation = { kind: 'remove', service: 'gateway-old', profile: 'old', reason: 'profile is gone' };
  const drift: DriftCondition = {
    type: 'IntentRunningButDown',
    service: 'gateway-b',
    profile: 'b',
    sinceUnix: NOW_S - 90,
    evidence: { exitcode: 78 },
  };
  return passResultOf({
    observed,
    desired: {
      decisions: [decision('a'), decision('b'), decision('c', { action: 'skipped', reason: 'lifecycle says deleting' })],
    },
    plan: { operations: [remove], restartPending: ['gateway-a'] },
    drift: [drift],
  });
}

test('statusRows: one row per decision and per stray slot, sorted by service', (t) => {
  const rows = statusRows(pass(), NOW_MS, new Map(), SCANDIR);
  t.deepEqual(
    rows.map((r) => r.service),
    ['gateway-a', 'gateway-b', 'gateway-c', 'gateway-old'],
  );
});

test('statusRows: intent, slot, live state and restart pending of a running profile', (t) => {
  const a = statusRows(pass(), NOW_MS, new Map(), SCANDIR).find((r) => r.profile === 'a');
  t.like(a, {
    intent: { stateFile: 'parsed', desiredState: 'running', action: 'started', autostart: true },
    slot: { present: true, kind: 'dir', owned: true, marker: 'up' },
    live: { up: true, forSeconds: 10 },
    restartPending: true,
    watcher: null,
  });
});

test('statusRows: a failed service shows why, with its drift condition', (t) => {
  const b = statusRows(
    pass(),
    NOW_MS,
    new Map([['gateway-b', { condition: 'Failed', consecutiveFailures: 3, reason: 'EIO' }]]),
    SCANDIR,
  ).find((r) => r.profile === 'b');
  t.true(b?.live?.permanentFailure);
  t.deepEqual(b?.drift, [
    'live: failed (exit 78, config error); s6 will not restart it: fix the cause, then s6-svc -u /run/service/gateway-b',
    'IntentRunningButDown for 90 s (exit 78)',
  ]);
  t.is(b?.driftConditions.length, 1);
  t.deepEqual(b?.watcher, { condition: 'Failed', consecutiveFailures: 3, reason: 'EIO' });
});

test('statusRows: a skipped profile has no autostart and keeps its reason; a stray slot shows its removal', (t) => {
  const rows = statusRows(pass(), NOW_MS, new Map(), SCANDIR);
  t.like(
    rows.find((r) => r.profile === 'c'),
    {
      intent: { stateFile: 'missing', action: 'skipped', autostart: null, reason: 'lifecycle says deleting' },
      slot: { present: false, kind: null, marker: null },
      live: null,
    },
  );
  const old = rows.find((r) => r.profile === 'old');
  t.like(old, { intent: { stateFile: 'unknown', action: null }, slot: { present: true } });
  t.deepEqual(old?.drift, ['remove: profile is gone']);
});

test('statusRows: a slot held down by its marker is not also "stopped (s6 or operator)": the planned up says why', (t) => {
  const result = pass();
  const marked = slotOf(specOf('b', true), { live: downAfter(0) });
  const observed = {
    ...result.observed,
    scandir: scandirOf([
      { ...marked, hasDownMarker: true },
      ...[...result.observed.scandir.slots.values()].filter((x) => x.service !== 'gateway-b'),
    ]),
  };
  const up: Operation = { kind: 'up', service: 'gateway-b', profile: 'b', reason: 'intent is running; down marker present' };
  const b = statusRows({ ...result, observed, plan: { ...result.plan, operations: [up] }, drift: [] }, NOW_MS, new Map(), SCANDIR).find(
    (r) => r.profile === 'b',
  );
  t.like(b, { slot: { marker: 'down' } });
  t.deepEqual(b?.drift, ['up: intent is running; down marker present']);
  const stopped = statusRows(
    {
      ...result,
      observed: { ...result.observed, scandir: scandirOf([slotOf(specOf('b', true), { live: downAfter(0) })]) },
      drift: [],
    },
    NOW_MS,
    new Map(),
    SCANDIR,
  ).find((r) => r.profile === 'b');
  t.deepEqual(
    stopped?.drift,
    ['live: stopped (s6 or operator); s6-svc -u /run/service/gateway-b starts it'],
    'marker up: stopped by s6 or an operator',
  );
});

test('statusRows: a service s6 wants up but has not started, IntentRunningButDown, says s6-supervise cannot run ./run', (t) => {
  const result = pass();
  // s6-supervise that cannot spawn ./run keeps "down (exitcode 0), want up" and the time of the last transition.
  const stuck = (seconds: number, condition: boolean): PassResult => {
    const slot = slotOf(specOf('b', true), { live: { ...downAfter(0, -1, true), updownSinceUnix: NOW_S - seconds } });
    const others = [...result.observed.scandir.slots.values()].filter((x) => x.service !== 'gateway-b');
    const drift: DriftCondition[] = condition
      ? [{ type: 'IntentRunningButDown', service: 'gateway-b', profile: 'b', sinceUnix: NOW_S - seconds, evidence: {} }]
      : [];
    return { ...result, observed: { ...result.observed, scandir: scandirOf([slot, ...others]) }, drift };
  };
  const notes = (r: PassResult): readonly string[] | undefined =>
    statusRows(r, NOW_MS, new Map(), SCANDIR).find((x) => x.profile === 'b')?.drift;
  t.deepEqual(notes(stuck(31, true)), [
    "live: wanted up, yet down for 31 s: s6-supervise has not started ./run (can it run? s6-svscan's output says why)",
    'IntentRunningButDown for 31 s',
  ]);
  t.deepEqual(notes(stuck(31, false)), [], 'the note follows the condition (its grace, and s6 restarting within 3 s)');
});

test('statusRows: a named gateway up while multiplexing keeps it down says so, not that its intent is not running', (t) => {
  const result = pass();
  const up = (over: Partial<ProfileDecision>): readonly string[] | undefined =>
    statusRows(
      {
        ...result,
        desired: { ...result.desired, decisions: [decision('a', { autostart: false, action: 'registered', ...over })] },
        drift: [],
      },
      NOW_MS,
      new Map(),
      SCANDIR,
    ).find((r) => r.profile === 'a')?.drift;
  t.deepEqual(up({ reason: 'multiplexing: named slots stay down' }), [
    'live: running although it should be down (multiplexing: named slots stay down)',
  ]);
  t.deepEqual(up({ priorState: 'stopped' }), ['live: running although intent is not running']);
});
