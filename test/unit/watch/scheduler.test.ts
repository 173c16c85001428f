import test from 'ava';
import { type Dirty, type Hint, HintBatch } from '../../../src/watch/hints.js';
import { type SchedulerState, type Timing, nextFullAt, nextStep } from '../../../src/watch/scheduler.js';

const T: Timing = { intervalMs: 60_000, debounceMs: 250, minGapMs: 1000 };
const idle: SchedulerState = {
  nowMs: 10_000,
  nextFullAtMs: 70_000,
  forced: false,
  dirty: new HintBatch().view(),
  lastPassEndMs: 9_000,
  retry: undefined,
  erroring: false,
};

/** A batch of `hints`, each added at its time. */
function batchOf(...hints: (readonly [Hint, number])[]): Dirty {
  const batch = new HintBatch();
  for (const [hint, atMs] of hints) batch.add(hint, atMs);
  return batch.view();
}

function dirty(profiles: string[], sinceMs: number): Dirty {
  return batchOf(...profiles.map((profile) => [{ kind: 'profile', profile }, sinceMs] as const));
}

test('the first pass is a full one at start', (t) => {
  t.deepEqual(nextStep({ ...idle, lastPassEndMs: undefined, nextFullAtMs: 10_000 }, T), { kind: 'run', scope: 'full', trigger: 'start' });
});

test('with nothing to do the watcher sleeps until the next full pass', (t) => {
  t.deepEqual(nextStep(idle, T), { kind: 'wait', ms: 60_000 });
  t.deepEqual(nextStep({ ...idle, nowMs: 70_000 }, T), { kind: 'run', scope: 'full', trigger: 'interval' });
});

test('an event is debounced, then re-checks only the profiles it named', (t) => {
  const d = dirty(['a', 'b'], 10_000);
  t.deepEqual(nextStep({ ...idle, dirty: d }, T), { kind: 'wait', ms: 250 });
  const step = nextStep({ ...idle, dirty: d, nowMs: 10_250 }, T);
  t.like(step, { kind: 'run', scope: 'targeted', trigger: 'event' });
  t.deepEqual(step.kind === 'run' && step.scope === 'targeted' ? [...step.profiles] : [], ['a', 'b']);
});

test('event-driven passes keep a minimum gap after the previous pass', (t) => {
  const d = dirty(['a'], 10_000);
  t.deepEqual(nextStep({ ...idle, dirty: d, lastPassEndMs: 9_900, nowMs: 10_300 }, T), { kind: 'wait', ms: 600 });
});

test('a hint that only a full pass can answer runs a full pass', (t) => {
  const d = batchOf([{ kind: 'profile', profile: 'a' }, 10_000], [{ kind: 'full', why: 'config.yaml changed' }, 10_010]);
  t.deepEqual(nextStep({ ...idle, dirty: d, nowMs: 10_300 }, T), { kind: 'run', scope: 'full', trigger: 'event' });
});

test('SIGHUP runs a full pass at once, even inside the gap or while erroring', (t) => {
  t.deepEqual(nextStep({ ...idle, forced: true, lastPassEndMs: 9_999, erroring: true }, T), {
    kind: 'run',
    scope: 'full',
    trigger: 'signal',
  });
});

test('while erroring, events wait for the (backed-off) full retry', (t) => {
  t.deepEqual(nextStep({ ...idle, erroring: true, dirty: dirty(['a'], 0), nextFullAtMs: 12_000 }, T), { kind: 'wait', ms: 2000 });
});

test('the full pass after a failed one is a retry, not the interval', (t) => {
  t.deepEqual(nextStep({ ...idle, erroring: true, nextFullAtMs: 12_000, nowMs: 12_000 }, T), {
    kind: 'run',
    scope: 'full',
    trigger: 'retry',
  });
  t.deepEqual(nextStep({ ...idle, erroring: true, lastPassEndMs: undefined, nextFullAtMs: 10_000 }, T), {
    kind: 'run',
    scope: 'full',
    trigger: 'start',
  });
});

test('an expired per-service back-off re-checks that profile', (t) => {
  const step = nextStep({ ...idle, retry: { atMs: 10_000, profiles: ['x'] } }, T);
  t.like(step, { kind: 'run', scope: 'targeted', trigger: 'retry' });
  t.deepEqual(step.kind === 'run' && step.scope === 'targeted' ? [...step.profiles] : [], ['x']);
  t.deepEqual(nextStep({ ...idle, retry: { atMs: 14_000, profiles: ['x'] } }, T), { kind: 'wait', ms: 4000 });
});

test('the interval has ±10% jitter', (t) => {
  t.is(
    nextFullAt(0, 60_000, () => 0),
    54_000,
  );
  t.is(
    nextFullAt(0, 60_000, () => 1),
    66_000,
  );
  t.is(
    nextFullAt(1000, 60_000, () => 0.5),
    61_000,
  );
});
