import test from 'ava';
import fc from 'fast-check';
import type { DeathRecord, LiveStatus, OperationResult } from '../../../src/model.js';
import {
  DEFAULT_DRIFT_POLICY,
  type DriftPolicy,
  PICKUP_REASON,
  awaitingSupervisor,
  planPickups,
  rememberPickups,
  describeEvidence,
  detectDrift,
  driftAfter,
  healBackoffSeconds,
  healsPointless,
  healsRefused,
  healsWaiting,
  planHeals,
} from '../../../src/desired/drift.js';
import { decodeDeathTally } from '../../../src/observe/death-tally.js';
import { buildDesired } from '../../../src/desired/index.js';
import {
  type SlotOptions,
  desiredOf,
  home,
  inputOf,
  liveUp,
  observedOf,
  profile,
  scandirOf,
  slotOf,
  specOf,
  stateOf,
} from '../../helpers/observed.js';

const POLICY: DriftPolicy = { graceSeconds: 30, crashRestarts: 5, crashWindowSeconds: 600 };
const NOW = 10_000;

/** Down, not wanted up, after `./run` exited with `code` at `since` (finish exited 125). */
function heldDown(since: number, code = 0, deaths: readonly DeathRecord[] = []): LiveStatus {
  return { ...liveUp(since), up: false, wantedUp: false, pid: -1, exitcode: code, deaths };
}

function deathsAt(times: readonly number[], exitcode = 1): DeathRecord[] {
  return times.map((atUnix) => ({ atUnix, exitcode, signum: -1 }));
}

function stateWith(
  autostart: boolean,
  live: LiveStatus | undefined,
  down = !autostart,
): { observed: ReturnType<typeof observedOf>; desired: ReturnType<typeof desiredOf> } {
  const spec = specOf('a', autostart);
  const slot = slotOf(spec, { down, ...(live === undefined ? {} : { live }) });
  return { observed: observedOf(home(), scandirOf([slot], { svscanLive: true })), desired: desiredOf([spec]) };
}

test('IntentRunningButDown holds only after the grace period, since the down transition, with the exit code as evidence', (t) => {
  const within = stateWith(true, heldDown(NOW - 30));
  t.deepEqual(detectDrift(within.observed, within.desired, NOW, POLICY), []);
  const past = stateWith(true, heldDown(NOW - 31, 0, deathsAt([NOW - 31], 0)));
  t.deepEqual(detectDrift(past.observed, past.desired, NOW, POLICY), [
    { type: 'IntentRunningButDown', service: 'gateway-a', profile: 'a', sinceUnix: NOW - 31, evidence: { exitcode: 0 } },
  ]);
  const { deaths: _tally, ...noTally } = heldDown(NOW - 31);
  const untold = stateWith(true, noTally);
  t.like(detectDrift(untold.observed, untold.desired, NOW, POLICY)[0], { evidence: { exitcode: 0 } }, 'no tally read: the status decides');
  const neverRan = stateWith(true, heldDown(NOW - 31));
  t.like(detectDrift(neverRan.observed, neverRan.desired, NOW, POLICY)[0], { evidence: {} }, 'an empty tally: s6 never ran it, no exit');
});

test('a service s6 is restarting (wanted up, within the grace) or finishing is not IntentRunningButDown', (t) => {
  const restarting = stateWith(true, { ...heldDown(NOW - 1, 1, deathsAt([NOW - 1])), wantedUp: true });
  t.deepEqual(detectDrift(restarting.observed, restarting.desired, NOW, POLICY), []);
  const finishing = stateWith(true, { ...heldDown(NOW - 100), finishing: true });
  t.deepEqual(detectDrift(finishing.observed, finishing.desired, NOW, POLICY), []);
  const unsupervised = stateWith(true, { ...heldDown(NOW - 100), supervised: false });
  t.deepEqual(detectDrift(unsupervised.observed, unsupervised.desired, NOW, POLICY), []);
});

test('a gateway s6 wants up but has not started past the grace is IntentRunningButDown too, and no heal: s6-svc -u would change nothing', (t) => {
  // s6-supervise that cannot spawn ./run (a missing interpreter) keeps "down, want up" and its down time.
  const never = stateWith(true, { ...heldDown(NOW - 31), wantedUp: true });
  const drift = detectDrift(never.observed, never.desired, NOW, POLICY);
  t.deepEqual(
    drift,
    [{ type: 'IntentRunningButDown', service: 'gateway-a', profile: 'a', sinceUnix: NOW - 31, evidence: {} }],
    'never ran: no exit to show',
  );
  t.deepEqual(planHeals(never.observed, drift, NOW, POLICY), []);
  t.deepEqual(healsWaiting(never.observed, drift, NOW, POLICY), []);
  t.deepEqual(healsPointless(never.observed, drift, NOW, POLICY), ['gateway-a'], 'so sync --heal can say why');
  const ranOnce = stateWith(true, { ...heldDown(NOW - 31, 3, deathsAt([NOW - 31], 3)), wantedUp: true });
  t.like(detectDrift(ranOnce.observed, ranOnce.desired, NOW, POLICY)[0], { type: 'IntentRunningButDown', evidence: { exitcode: 3 } });
});

test('with a --drift-grace under a second, a gateway s6 is restarting (down about 1 s between starts) is no IntentRunningButDown', (t) => {
  const policy = { ...POLICY, graceSeconds: 0.3 };
  const between = stateWith(true, { ...heldDown(NOW - 1, 1, deathsAt([NOW - 1])), wantedUp: true });
  t.deepEqual(detectDrift(between.observed, between.desired, NOW, policy), []);
  const stuck = stateWith(true, { ...heldDown(NOW - 3.5), wantedUp: true });
  t.like(detectDrift(stuck.observed, stuck.desired, NOW, policy)[0], { type: 'IntentRunningButDown' }, 'down past 3 s: not a restart');
  const held = stateWith(true, heldDown(NOW - 1, 1, deathsAt([NOW - 1])));
  t.like(detectDrift(held.observed, held.desired, NOW, policy)[0], { type: 'IntentRunningButDown' }, 'held down: the grace alone decides');
});

test('CrashLooping counts s6 deaths inside the window and needs more than the threshold', (t) => {
  const five = stateWith(true, { ...liveUp(NOW - 1), deaths: deathsAt([NOW - 700, NOW - 50, NOW - 40, NOW - 30, NOW - 20, NOW - 10]) });
  t.deepEqual(detectDrift(five.observed, five.desired, NOW, POLICY), []);
  const six = stateWith(true, { ...liveUp(NOW - 1), deaths: deathsAt([NOW - 60, NOW - 50, NOW - 40, NOW - 30, NOW - 20, NOW - 10]) });
  t.deepEqual(detectDrift(six.observed, six.desired, NOW, POLICY), [
    {
      type: 'CrashLooping',
      service: 'gateway-a',
      profile: 'a',
      sinceUnix: NOW - 60,
      evidence: { exitcode: 1, restarts: 6, windowSeconds: 600 },
    },
  ]);
});

test('CrashLooping over a full s6 tally (100 deaths, all in the window) says its count and start are lower bounds', (t) => {
  const times = Array.from({ length: 100 }, (_, i) => NOW - 200 + i);
  const full = stateWith(true, { ...liveUp(NOW - 1), deaths: deathsAt(times) });
  const [loop] = detectDrift(full.observed, full.desired, NOW, POLICY);
  t.deepEqual(loop?.evidence, { exitcode: 1, restarts: 100, windowSeconds: 600, truncated: true });
  t.is(describeEvidence(loop?.evidence ?? {}), ' (exit 1, 100+ restarts in 600 s, s6 keeps only the last 100 deaths: the loop is older)');
  // A full tally whose oldest record is outside the window dropped nothing that counts.
  const older = stateWith(true, { ...liveUp(NOW - 1), deaths: deathsAt([NOW - 900, ...times.slice(1)]) });
  t.deepEqual(detectDrift(older.observed, older.desired, NOW, POLICY)[0]?.evidence, { exitcode: 1, restarts: 99, windowSeconds: 600 });
});

test('a crash loop that ended with the gateway held down lasts until it runs again: its deaths ageing out never make it healable', (t) => {
  const policy = { ...POLICY, graceSeconds: 0 };
  const loopAt = (end: number): DeathRecord[] =>
    deathsAt(
      [50, 40, 30, 20, 10, 0].map((ago) => end - ago),
      78,
    );
  const looped = (live: LiveStatus, autostart = true): { types: string[]; heals: number } => {
    const { observed, desired } = stateWith(autostart, live, !autostart);
    const drift = detectDrift(observed, desired, NOW, policy);
    return { types: drift.map((d) => d.type), heals: planHeals(observed, drift, NOW, policy).length };
  };
  // Its last death an hour ago, its window long past: still a loop, never healed, alerts standing.
  t.deepEqual(looped(heldDown(NOW - 3600, 78, loopAt(NOW - 3600))), { types: ['IntentRunningButDown', 'CrashLooping'], heals: 0 });
  // Up since (an operator's s6-svc -u that stuck): the window ends now, and the loop is over.
  t.deepEqual(looped({ ...liveUp(NOW - 1000), deaths: loopAt(NOW - 3600) }), { types: [], heals: 0 });
  // Meant to stay stopped: the old loop is not reported.
  t.deepEqual(looped(heldDown(NOW - 3600, 78, loopAt(NOW - 3600)), false), { types: [], heals: 0 });
  // One death long after the loop: a new window, with the loop outside it: healable again.
  const later = [...loopAt(NOW - 7200), ...deathsAt([NOW - 60], 0)];
  t.deepEqual(looped(heldDown(NOW - 60, 0, later)), { types: ['IntentRunningButDown'], heals: 1 });
});

test('IntentStoppedButUp holds when the intent is not running and s6 runs the service', (t) => {
  const { observed, desired } = stateWith(false, liveUp(NOW - 5));
  t.deepEqual(detectDrift(observed, desired, NOW, POLICY), [
    { type: 'IntentStoppedButUp', service: 'gateway-a', profile: 'a', sinceUnix: NOW - 5, evidence: {} },
  ]);
});

test('heals wait a back-off step per recent death, skip CrashLooping services and services with a down marker', (t) => {
  t.deepEqual([0, 1, 2, 3, 9, 10, 40].map(healBackoffSeconds), [0, 1, 2, 4, 256, 300, 300]);
  const policy = { ...POLICY, graceSeconds: 0 };
  const heal = (live: LiveStatus, down = false): string[] => {
    const { observed, desired } = stateWith(true, live, down);
    return planHeals(observed, detectDrift(observed, desired, NOW, policy), NOW, policy).map((op) => `${op.kind} ${op.service}`);
  };
  t.deepEqual(heal(heldDown(NOW - 3, 0, deathsAt([NOW - 9, NOW - 3]))), ['heal gateway-a'], 'two deaths: a 2 s step has passed');
  t.deepEqual(heal(heldDown(NOW - 3, 0, deathsAt([NOW - 9, NOW - 6, NOW - 3]))), [], 'three deaths: the 4 s step has not');
  t.deepEqual(heal(heldDown(NOW - 100, 0, deathsAt([1, 2, 3, 4, 5, 6].map((i) => NOW - 100 - i)))), [], 'CrashLooping is never healed');
  t.deepEqual(heal(heldDown(NOW - 100), true), [], 'a down marker: the plan up starts it');
});

test('a heal names the slot directory observe saw, so actuate tells only that one', (t) => {
  const policy = { ...POLICY, graceSeconds: 0 };
  const spec = specOf('a', true);
  const identity = { dev: 7, ino: 42, uid: 0 };
  const slot = { ...slotOf(spec, { down: false, live: heldDown(NOW - 100) }), identity };
  const observed = observedOf(home(), scandirOf([slot], { svscanLive: true }));
  const desired = desiredOf([spec]);
  const [heal] = planHeals(observed, detectDrift(observed, desired, NOW, policy), NOW, policy);
  t.like(heal, { kind: 'heal', service: 'gateway-a', expect: identity });
});

test('healsWaiting names the heals held back for their back-off step, with the seconds left and the deaths that set it', (t) => {
  const policy = { ...POLICY, graceSeconds: 0 };
  const waits = (live: LiveStatus): ReturnType<typeof healsWaiting> => {
    const { observed, desired } = stateWith(true, live);
    return healsWaiting(observed, detectDrift(observed, desired, NOW, policy), NOW, policy);
  };
  t.deepEqual(waits(heldDown(NOW - 3, 0, deathsAt([NOW - 9, NOW - 6, NOW - 3]))), [{ service: 'gateway-a', inSeconds: 1, deaths: 3 }]);
  t.deepEqual(waits(heldDown(NOW - 3, 0, deathsAt([NOW - 9, NOW - 3]))), [], 'due: planned, not waiting');
  t.deepEqual(
    waits(heldDown(NOW - 100, 0, deathsAt([1, 2, 3, 4, 5, 6].map((i) => NOW - 100 - i)))),
    [],
    'a crash loop is not waiting: it is never healed',
  );
});

/** A running gateway (intent `intent`) whose logger is `logger`. */
function withLogger(logger: LiveStatus, intent = true): ReturnType<typeof stateWith> {
  const spec = specOf('a', intent);
  const slot = slotOf(spec, { down: !intent, live: intent ? liveUp(NOW - 500) : heldDown(NOW - 500), loggerLive: logger });
  return { observed: observedOf(home(), scandirOf([slot], { svscanLive: true })), desired: desiredOf([spec]) };
}

test('LoggerDown: a logger that keeps dying (s6-log exits 111 on a log directory it cannot make) is reported whatever the intent, never healed', (t) => {
  // s6 restarts a dead logger after a second: it is down ~1 s at a time, never past the grace.
  const looping = { ...heldDown(NOW - 1, 111, deathsAt([NOW - 9, NOW - 7, NOW - 5, NOW - 3, NOW - 2, NOW - 1], 111)), wantedUp: true };
  for (const intent of [true, false]) {
    const { observed, desired } = withLogger(looping, intent);
    const drift = detectDrift(observed, desired, NOW, POLICY);
    t.deepEqual(drift, [
      {
        type: 'LoggerDown',
        service: 'gateway-a',
        profile: 'a',
        sinceUnix: NOW - 9,
        evidence: { exitcode: 111, restarts: 6, windowSeconds: 600 },
      },
    ]);
    t.deepEqual(planHeals(observed, drift, NOW, POLICY), [], 's6 restarts a logger by itself');
  }
  const fewer = withLogger({ ...looping, deaths: deathsAt([NOW - 5, NOW - 3, NOW - 2, NOW - 1], 111) });
  t.deepEqual(detectDrift(fewer.observed, fewer.desired, NOW, POLICY), [], 'no more deaths than --crash-restarts');
});

test('LoggerDown: a logger held down (s6-svc -d on log/) past the grace, from its down transition; not within it, nor an unsupervised one', (t) => {
  const past = withLogger(heldDown(NOW - 31, 0, deathsAt([NOW - 31], 0)));
  t.deepEqual(detectDrift(past.observed, past.desired, NOW, POLICY), [
    { type: 'LoggerDown', service: 'gateway-a', profile: 'a', sinceUnix: NOW - 31, evidence: { exitcode: 0 } },
  ]);
  const within = withLogger(heldDown(NOW - 30));
  t.deepEqual(detectDrift(within.observed, within.desired, NOW, POLICY), []);
  const gone = withLogger({ ...heldDown(NOW - 100), supervised: false });
  t.deepEqual(detectDrift(gone.observed, gone.desired, NOW, POLICY), []);
  const fine = withLogger(liveUp(NOW - 100));
  t.deepEqual(detectDrift(fine.observed, fine.desired, NOW, POLICY), []);
});

test('a gateway held down after exiting 78 (a config error) is IntentRunningButDown but never healed: listed as refused; after exit 0 it is healed', (t) => {
  const config = stateWith(true, heldDown(NOW - 100, 78, deathsAt([NOW - 100], 78)), false);
  const drift = detectDrift(config.observed, config.desired, NOW, POLICY);
  t.like(drift[0], { type: 'IntentRunningButDown', evidence: { exitcode: 78 } });
  t.deepEqual(planHeals(config.observed, drift, NOW, POLICY), []);
  t.deepEqual(healsRefused(config.observed, drift, NOW, POLICY), ['gateway-a']);
  t.deepEqual(healsWaiting(config.observed, drift, NOW, POLICY), []);
  const zero = stateWith(true, heldDown(NOW - 100, 0, deathsAt([NOW - 100], 0)), false);
  const zeroDrift = detectDrift(zero.observed, zero.desired, NOW, POLICY);
  t.like(planHeals(zero.observed, zeroDrift, NOW, POLICY)[0], { kind: 'heal', service: 'gateway-a' });
  t.deepEqual(healsRefused(zero.observed, zeroDrift, NOW, POLICY), []);
});

const liveArb = fc.record({
  up: fc.boolean(),
  wantedUp: fc.boolean(),
  finishing: fc.boolean(),
  supervised: fc.boolean(),
  since: fc.integer({ min: 0, max: NOW }),
  deaths: fc.array(fc.integer({ min: 0, max: NOW }), { maxLength: 12 }),
});

/** The LiveStatus a liveArb value describes. */
function liveOfArb(x: {
  up: boolean;
  wantedUp: boolean;
  finishing: boolean;
  supervised: boolean;
  since: number;
  deaths: number[];
}): LiveStatus {
  const { up, wantedUp, finishing, supervised } = x;
  return { ...liveUp(x.since), up, wantedUp, finishing, supervised, deaths: deathsAt([...x.deaths].sort((a, b) => a - b)) };
}

test('property: drift is deterministic and sorted, heals are IntentRunningButDown and never CrashLooping', (t) => {
  fc.assert(
    fc.property(liveArb, fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 60 }), (l, autostart, down, grace) => {
      const live = liveOfArb(l);
      const policy = { ...DEFAULT_DRIFT_POLICY, graceSeconds: grace };
      const { observed, desired } = stateWith(autostart, live, down);
      const drift = detectDrift(observed, desired, NOW, policy);
      t.deepEqual(detectDrift(observed, desired, NOW, policy), drift);
      const types = drift.map((d) => d.type);
      if (types.includes('IntentRunningButDown'))
        t.true(autostart && !live.up && !live.finishing && NOW - l.since > (live.wantedUp ? Math.max(grace, 3) : grace));
      if (types.includes('IntentStoppedButUp')) t.true(!autostart && live.up);
      for (const op of planHeals(observed, drift, NOW, policy)) {
        t.true(types.includes('IntentRunningButDown') && !types.includes('CrashLooping') && !down && !live.wantedUp);
        t.is(op.kind, 'heal');
      }
    }),
  );
});

test("property: a logger's state adds at most a LoggerDown, never changes the gateway's conditions or heals", (t) => {
  fc.assert(
    fc.property(liveArb, liveArb, fc.boolean(), fc.integer({ min: 0, max: 60 }), (g, l, autostart, grace) => {
      const policy = { ...DEFAULT_DRIFT_POLICY, graceSeconds: grace };
      const spec = specOf('a', autostart);
      const state = (logger?: LiveStatus): ReturnType<typeof stateWith> => ({
        observed: observedOf(
          home(),
          scandirOf([slotOf(spec, { down: !autostart, live: liveOfArb(g), ...(logger === undefined ? {} : { loggerLive: logger }) })], {
            svscanLive: true,
          }),
        ),
        desired: desiredOf([spec]),
      });
      const without = state();
      const withLogger = state(liveOfArb(l));
      const before = detectDrift(without.observed, without.desired, NOW, policy);
      const after = detectDrift(withLogger.observed, withLogger.desired, NOW, policy);
      t.deepEqual(
        after.filter((d) => d.type !== 'LoggerDown'),
        before,
      );
      t.true(after.filter((d) => d.type === 'LoggerDown').length <= (g.supervised ? 1 : 0));
      if (!l.supervised) t.deepEqual(after, before, 'an unsupervised logger is no drift');
      t.deepEqual(planHeals(withLogger.observed, after, NOW, policy), planHeals(without.observed, before, NOW, policy));
    }),
  );
});

test('decodeDeathTally reads s6 records (exit code, or signal) and ignores a torn tail', (t) => {
  const record = (unix: number, code: number, sig: number): number[] => {
    const label = (1n << 62n) + 37n + BigInt(unix);
    const bytes = new Uint8Array(14);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, label);
    view.setUint32(8, 500_000_000);
    bytes[12] = code;
    bytes[13] = sig;
    return [...bytes];
  };
  const buf = Uint8Array.from([...record(1000, 3, 0), ...record(1001, 137, 9), 1, 2, 3]);
  t.deepEqual(decodeDeathTally(buf), [
    { atUnix: 1000.5, exitcode: 3, signum: -1 },
    { atUnix: 1001.5, exitcode: -1, signum: 9 },
  ]);
});

test('driftAfter drops the drift of services an applied operation just acted on, not of failed ones or a purge of the trash', (t) => {
  const drift = ['a', 'b', 'c', 'd'].map((p) => ({
    type: 'IntentStoppedButUp' as const,
    service: `gateway-${p}`,
    profile: p,
    sinceUnix: NOW,
    evidence: {},
  }));
  const base = (p: string) => ({ service: `gateway-${p}`, profile: p, reason: 'r' });
  const results: OperationResult[] = [
    { op: { kind: 'down', ...base('a') }, status: 'applied' },
    { op: { kind: 'down', ...base('b') }, status: 'failed', error: 'EIO' },
    { op: { kind: 'purge', ...base('c'), supervised: false }, status: 'applied' },
    { op: { kind: 'update', ...base('d'), dirs: [], changes: [] }, status: 'applied' },
  ];
  t.deepEqual(
    driftAfter(drift, results).map((d) => d.profile),
    ['b', 'c', 'd'],
  );
  t.is(driftAfter(drift, []), drift, 'nothing applied: the same list');
});

test('awaitingSupervisor names our desired slots no s6-supervise ever ran for while s6-svscan runs, and none while it does not', (t) => {
  const never = stateWith(true, undefined);
  t.deepEqual(awaitingSupervisor(never.observed, never.desired, 500), ['gateway-a'], 'never picked up: no supervise/status');
  const died = stateWith(false, { ...heldDown(NOW - 100), supervised: false });
  t.deepEqual(awaitingSupervisor(died.observed, died.desired, 500), [], 'a dead supervisor: s6-svscan restarts it by itself');
  const held = stateWith(true, liveUp(NOW - 5));
  t.deepEqual(awaitingSupervisor(held.observed, held.desired, 500), []);
  const noScan = { ...never, observed: { ...never.observed, scandir: { ...never.observed.scandir, svscanLive: false } } };
  t.deepEqual(awaitingSupervisor(noScan.observed, noScan.desired, 500), [], 'no s6-svscan: nobody to rescan');
  const kept = { ...never, desired: { ...never.desired, keep: new Set(['gateway-a']) } };
  t.deepEqual(awaitingSupervisor(kept.observed, kept.desired, 500), ['gateway-a'], 'intent unreadable: a rescan picks it up all the same');
  const slot = never.observed.scandir.slots.get('gateway-a');
  if (slot === undefined) return t.fail();
  const foreign = { ...never.observed, scandir: { ...never.observed.scandir, slots: new Map([['gateway-a', { ...slot, owned: false }]]) } };
  t.deepEqual(awaitingSupervisor(foreign, never.desired, 500), [], 'a foreign slot is not ours to plan for');
  t.deepEqual(awaitingSupervisor(foreign, never.desired, 500, new Set(['gateway-a'])), ['gateway-a'], 'unless this plan adopts it');
});

test("awaitingSupervisor: nothing while the services already supervised fill s6-svscan's -c, all while there is room", (t) => {
  const never = stateWith(true, undefined);
  const withCount = (n: number): typeof never.observed => ({ ...never.observed, scandir: { ...never.observed.scandir, serviceCount: n } });
  t.deepEqual(awaitingSupervisor(withCount(501), never.desired, 500), [], '500 supervised besides it: a rescan starts nothing');
  t.deepEqual(awaitingSupervisor(withCount(500), never.desired, 500), ['gateway-a'], '499 supervised: room for one');
  t.deepEqual(awaitingSupervisor(never.observed, never.desired, 0), []);
});

const NO_OPS = { operations: [], restartPending: [] };

test('planPickups: a slot without its ownership record that the plan adopts is picked up in the same pass', (t) => {
  const never = stateWith(true, undefined);
  const slot = never.observed.scandir.slots.get('gateway-a');
  if (slot === undefined) return t.fail();
  const unowned = { ...never.observed, scandir: { ...never.observed.scandir, slots: new Map([['gateway-a', { ...slot, owned: false }]]) } };
  t.deepEqual(
    planPickups({ observed: unowned, desired: never.desired, plan: NO_OPS, maxServices: 500, rescanned: new Set() }),
    [],
    'not ours, not adopted',
  );
  const adopt = { kind: 'update' as const, service: 'gateway-a', profile: 'a', reason: 'adopt', dirs: [], changes: [] };
  t.deepEqual(
    planPickups({
      observed: unowned,
      desired: never.desired,
      plan: { operations: [adopt], restartPending: [] },
      maxServices: 500,
      rescanned: new Set(),
    }).map((op) => op.service),
    ['gateway-a'],
  );
  const refused = { ...adopt, refused: true as const };
  t.deepEqual(
    planPickups({
      observed: unowned,
      desired: never.desired,
      plan: { operations: [refused], restartPending: [] },
      maxServices: 500,
      rescanned: new Set(),
    }),
    [],
    'a refused adoption is no pickup',
  );
});

test("a slot we may not adopt (another tool's, holding what the Hermes CLI never writes) has no drift, so no heal either", (t) => {
  // Through buildDesired, as a pass does: such a slot's profile is pending, so the slot is kept as it is.
  const live = heldDown(NOW - 31, 0, deathsAt([NOW - 31], 0));
  const driftWith = (slot: SlotOptions): number => {
    const observed = observedOf(
      home({ named: [profile('a', { state: stateOf({ desired_state: 'running' }) })] }),
      scandirOf([slotOf(specOf('a', true), { live, down: true, ...slot })], { svscanLive: true }),
    );
    return detectDrift(observed, buildDesired(inputOf(observed, { mode: 'sync' })), NOW, POLICY).length;
  };
  t.is(driftWith({}), 1, 'ours: IntentRunningButDown');
  t.is(driftWith({ owned: false, foreignEntries: ['data'] }), 0);
  t.is(driftWith({ owned: false }), 1, 'one this pass adopts is judged as ours');
});

test('planPickups: one pickup per awaiting slot, not for those a watcher already rescanned for; rememberPickups forgets on a full pass', (t) => {
  const never = stateWith(true, undefined);
  t.deepEqual(planPickups({ observed: never.observed, desired: never.desired, plan: NO_OPS, maxServices: 500, rescanned: new Set() }), [
    { kind: 'pickup', service: 'gateway-a', profile: 'a', reason: PICKUP_REASON },
  ]);
  const sent = rememberPickups(new Set(), ['gateway-a'], true, ['gateway-a']);
  t.deepEqual(
    planPickups({ observed: never.observed, desired: never.desired, plan: NO_OPS, maxServices: 500, rescanned: sent }),
    [],
    'still refused (its -c limit): not every pass',
  );
  t.deepEqual([...rememberPickups(sent, [], false, [])], ['gateway-a'], 'a targeted pass did not look at it: kept');
  const full = rememberPickups(sent, [], true, []);
  t.deepEqual([...full], [], 'a full pass saw it supervised: forgotten');
  t.is(
    planPickups({ observed: never.observed, desired: never.desired, plan: NO_OPS, maxServices: 500, rescanned: full }).length,
    1,
    'unsupervised again: picked up again',
  );
  t.deepEqual([...rememberPickups(sent, ['gateway-a'], true, ['gateway-b'])].sort(), ['gateway-a', 'gateway-b']);
});
