import test from 'ava';
import fc from 'fast-check';
import type { FileRead, LiveStatus, ObservedSlot, Operation, Plan } from '../../../src/model.js';
import { type RestartInput, decideRestart, holdBack, isJournalTrusted, journalKeep } from '../../../src/diff/restarts.js';
import { fileRead, home, liveUp, observedOf, scandirOf, slotOf, specOf } from '../../helpers/observed.js';

const STARTED_S = 2_000;
const NOW_MS = 3_000_000;

/** A slot of `gateway-a` up since STARTED_S whose `run` was last written at `runMtimeMs`. */
function slot(opts: { live?: LiveStatus | 'none'; runMtimeMs?: number; owned?: boolean } = {}): ObservedSlot {
  const spec = specOf('a', true);
  const run = spec.files.find((f) => f.path === 'run');
  const files: Record<string, FileRead> =
    opts.runMtimeMs === undefined || run === undefined ? {} : { run: fileRead(run.content, run.mode, 0, opts.runMtimeMs) };
  const live = opts.live === 'none' ? undefined : (opts.live ?? liveUp(STARTED_S));
  return slotOf(spec, { files, owned: opts.owned ?? true, ...(live === undefined ? {} : { live }) });
}

const INPUT: RestartInput = { runtimeChanged: false, restartChanged: false, journalled: false, nowMs: NOW_MS };

const restart = test.macro({
  exec(t, s: ObservedSlot, over: Partial<RestartInput>, expected: ReturnType<typeof decideRestart>) {
    t.deepEqual(decideRestart(s, { ...INPUT, ...over }), expected);
  },
  title: (title) => `decideRestart: ${title ?? ''}`,
});

const PENDING = { pending: true };
const NOTHING = { pending: false };
const BY_FLAG = { restart: 'run-time files changed since the service started (--restart-changed)' };
const BY_JOURNAL = { restart: 'restart decided by an interrupted pass (journal)' };

test(
  'a service that is not running needs no restart',
  restart,
  slot({ live: 'none' }),
  { runtimeChanged: true, restartChanged: true },
  NOTHING,
);
test('a down service needs no restart', restart, slot({ live: { ...liveUp(STARTED_S), up: false } }), { runtimeChanged: true }, NOTHING);
test('an up service whose files do not change needs none', restart, slot(), {}, NOTHING);
test('a run-time file rewritten now leaves a restart pending', restart, slot(), { runtimeChanged: true }, PENDING);
test('with --restart-changed the restart is done', restart, slot(), { runtimeChanged: true, restartChanged: true }, BY_FLAG);
test('a run file written after the service started is pending', restart, slot({ runMtimeMs: STARTED_S * 1000 + 1 }), {}, PENDING);
test('a run file written before the service started is not', restart, slot({ runMtimeMs: STARTED_S * 1000 - 1 }), {}, NOTHING);
test('an mtime in the future says nothing', restart, slot({ runMtimeMs: NOW_MS + 1 }), { restartChanged: true }, NOTHING);
test('a journal entry restarts an owned slot running old files', restart, slot(), { runtimeChanged: true, journalled: true }, BY_JOURNAL);
test(
  'a journal entry restarts a slot this pass adopts, as the interrupted pass that adopted it would have',
  restart,
  slot({ owned: false }),
  { runtimeChanged: true, journalled: true },
  BY_JOURNAL,
);
test('a journal entry alone restarts nothing', restart, slot(), { journalled: true }, NOTHING);
test('--restart-changed wins over the journal', restart, slot(), { runtimeChanged: true, journalled: true, restartChanged: true }, BY_FLAG);

test('decideRestart never restarts a service that is not up (property)', (t) => {
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 2 * NOW_MS }), (changed, flag, journal, mtime) => {
      const d = decideRestart(slot({ live: { ...liveUp(STARTED_S), up: false }, runMtimeMs: mtime }), {
        runtimeChanged: changed,
        restartChanged: flag,
        journalled: journal,
        nowMs: NOW_MS,
      });
      return d.restart === undefined && !d.pending;
    }),
  );
  t.pass();
});

test('a journal is trusted when root wrote it, or when not running as root', (t) => {
  const observed = (journalUid?: number) => observedOf(home(), { ...scandirOf(), ...(journalUid === undefined ? {} : { journalUid }) });
  t.true(isJournalTrusted(observed(0), 0));
  t.false(isJournalTrusted(observed(10000), 0));
  t.true(isJournalTrusted(observed(10000), null));
  t.true(isJournalTrusted(observed(), 0), 'no journal: nothing to distrust');
});

const op = (kind: 'create' | 'restart' | 'up', service: string): Operation =>
  ({ kind, service, profile: service.slice('gateway-'.length), reason: 'r' }) as Operation;

test('holdBack takes held services’ operations out and keeps their restarts pending', (t) => {
  const plan: Plan = {
    operations: [op('create', 'gateway-a'), op('restart', 'gateway-b'), op('up', 'gateway-c')],
    restartPending: ['gateway-z'],
  };
  const { plan: left, held } = holdBack(plan, new Set(['gateway-b', 'gateway-c']));
  t.deepEqual(
    left.operations.map((o) => o.service),
    ['gateway-a'],
  );
  t.deepEqual(
    held.map((o) => o.service),
    ['gateway-b', 'gateway-c'],
  );
  t.deepEqual(left.restartPending, ['gateway-b', 'gateway-z']);
});

test('holdBack with nothing held returns the plan itself', (t) => {
  const plan: Plan = { operations: [op('create', 'gateway-a')], restartPending: [] };
  t.is(holdBack(plan, undefined).plan, plan);
  t.is(holdBack(plan, new Set()).plan, plan);
});

test('holdBack loses no operation and applies none that is held (property)', (t) => {
  const services = ['gateway-a', 'gateway-b', 'gateway-c'];
  const opArb = fc.tuple(fc.constantFrom<'create' | 'restart' | 'up'>('create', 'restart', 'up'), fc.constantFrom(...services));
  fc.assert(
    fc.property(fc.array(opArb), fc.subarray(services), (ops, hold) => {
      const plan: Plan = { operations: ops.map(([k, s]) => op(k, s)), restartPending: [] };
      const { plan: left, held } = holdBack(plan, new Set(hold));
      const heldOk = held.every((o) => hold.includes(o.service)) && left.operations.every((o) => !hold.includes(o.service));
      const sorted = [...left.restartPending].sort();
      return (
        heldOk && left.operations.length + held.length === ops.length && JSON.stringify(sorted) === JSON.stringify(left.restartPending)
      );
    }),
  );
  t.pass();
});

test('journalKeep keeps entries of held services and of services a targeted pass did not read', (t) => {
  const observed = observedOf(home(), scandirOf([], { pendingRestarts: ['gateway-a', 'gateway-b', 'gateway-c'] }));
  t.deepEqual(journalKeep(observed, [], undefined), [], 'a full pass handled every entry');
  t.deepEqual(journalKeep(observed, [op('restart', 'gateway-b')], undefined), ['gateway-b']);
  t.deepEqual(journalKeep(observed, [], new Set(['gateway-a'])), ['gateway-b', 'gateway-c']);
});

test('holdBack never holds a refused operation: it attempts nothing, and the pass must see whether it still is refused', (t) => {
  const refused: Operation = {
    kind: 'update',
    service: 'gateway-b',
    profile: 'b',
    reason: 'not adopted',
    dirs: [],
    changes: [],
    refused: true,
  };
  const { plan: left, held } = holdBack(
    { operations: [refused, op('up', 'gateway-c')], restartPending: [] },
    new Set(['gateway-b', 'gateway-c']),
  );
  t.deepEqual(
    left.operations.map((o) => o.service),
    ['gateway-b'],
  );
  t.deepEqual(
    held.map((o) => o.service),
    ['gateway-c'],
  );
});
