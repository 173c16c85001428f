import test from 'ava';
import {
  BACKOFF_CAP_MS,
  type ConditionTable,
  backoffDelayMs,
  clearBackoff,
  heldServices,
  nextRetry,
  recordOutcomes,
} from '../../../src/watch/conditions.js';
import type { Outcome } from '../../../src/watch/outcomes.js';

const failed = (service: string): Outcome => ({
  service,
  profile: service.slice(8),
  kind: 'failed',
  reason: 'EEXIST',
  restartPending: false,
});
const ready = (service: string): Outcome => ({ service, profile: service.slice(8), kind: 'ready', restartPending: false, autostart: true });

test('back-off doubles from 1 s and stops at 5 min', (t) => {
  t.deepEqual([1, 2, 3, 4].map(backoffDelayMs), [1000, 2000, 4000, 8000]);
  t.is(backoffDelayMs(9), 256_000);
  t.is(backoffDelayMs(10), BACKOFF_CAP_MS);
  t.is(backoffDelayMs(1000), BACKOFF_CAP_MS);
});

test('a failing service is held until its back-off expires, others are not', (t) => {
  let table: ConditionTable = {};
  table = recordOutcomes(table, [failed('gateway-x'), ready('gateway-y')], 1000, true);
  t.like(table['gateway-x'], { condition: 'Failed', consecutiveFailures: 1, nextAttemptAtMs: 2000, reason: 'EEXIST' });
  t.like(table['gateway-y'], { condition: 'Ready', consecutiveFailures: 0 });
  t.deepEqual([...heldServices(table, 1500)], ['gateway-x']);
  t.deepEqual([...heldServices(table, 2000)], []);
  t.deepEqual(nextRetry(table, 1500), { atMs: 2000, profiles: ['x'] });

  table = recordOutcomes(table, [failed('gateway-x')], 2000, false);
  t.like(table['gateway-x'], { consecutiveFailures: 2, nextAttemptAtMs: 4000 });
  const held: Outcome = { ...failed('gateway-x'), kind: 'held' };
  t.like(recordOutcomes(table, [held], 3000, true)['gateway-x'], { consecutiveFailures: 2, nextAttemptAtMs: 4000 });

  table = recordOutcomes(table, [ready('gateway-x')], 4000, false);
  t.like(table['gateway-x'], { condition: 'Ready', consecutiveFailures: 0 });
  t.is(table['gateway-x']?.nextAttemptAtMs, undefined);
  t.is(nextRetry(table, 4000), undefined);
});

test('the next retry is found among any number of failing services (no argument-count limit)', (t) => {
  const many = Array.from({ length: 200_000 }, (_, i) => failed(`gateway-p${i}`));
  const table = recordOutcomes({}, many, 1000, true);
  const next = nextRetry(table, 1500);
  t.is(next?.atMs, 2000);
  t.is(next?.profiles.length, 200_000);
});

test('targeted passes keep services they did not see; full passes drop them; gone services leave', (t) => {
  let table = recordOutcomes({}, [ready('gateway-a'), ready('gateway-b')], 0, true);
  table = recordOutcomes(table, [ready('gateway-a')], 1, false);
  t.deepEqual(Object.keys(table).sort(), ['gateway-a', 'gateway-b']);
  table = recordOutcomes(table, [ready('gateway-a')], 2, true);
  t.deepEqual(Object.keys(table), ['gateway-a']);
  table = recordOutcomes(table, [{ ...ready('gateway-a'), kind: 'gone' }], 3, false);
  t.deepEqual(table, {});
});

test('SIGHUP clears every back-off but keeps the failure count', (t) => {
  const table = clearBackoff(recordOutcomes({}, [failed('gateway-x')], 0, true));
  t.like(table['gateway-x'], { condition: 'Failed', consecutiveFailures: 1 });
  t.is(table['gateway-x']?.nextAttemptAtMs, undefined);
  t.deepEqual([...heldServices(table, 0)], []);
});

test('the table is never mutated in place', (t) => {
  const before = recordOutcomes({}, [ready('gateway-a')], 0, true);
  const frozen = JSON.stringify(before);
  recordOutcomes(before, [failed('gateway-a')], 1, true);
  t.is(JSON.stringify(before), frozen);
});

test('a quiet pass that changes no condition keeps the table and its Ready-since times as they were', (t) => {
  const first = recordOutcomes({}, [ready('gateway-a'), ready('gateway-b')], 1000, true);
  const again = recordOutcomes(first, [ready('gateway-a'), ready('gateway-b')], 61_000, true);
  t.is(again, first, 'nothing changed: the same table, nothing rebuilt');
  t.is(again['gateway-a']?.sinceMs, 1000);
  const changed = recordOutcomes(again, [ready('gateway-a'), failed('gateway-b')], 62_000, true);
  t.not(changed, again);
  t.is(changed['gateway-a'], again['gateway-a'], 'an unchanged condition is the same object');
  t.like(changed['gateway-b'], { condition: 'Failed', sinceMs: 62_000 });
});

test('a service reported twice in one pass counts both outcomes', (t) => {
  const table = recordOutcomes({}, [failed('gateway-x'), failed('gateway-x')], 1000, true);
  t.like(table['gateway-x'], { condition: 'Failed', consecutiveFailures: 2 });
});
