import test from 'ava';
import { CLEAN, addHint, classifyEvent, isDirty } from '../../src/watch/hints.js';

const P = 'gateway-';

test('events map to the profile they concern', (t) => {
  t.deepEqual(classifyEvent({ kind: 'home' }, 'gateway_state.json', P), { kind: 'intent', profile: 'default' });
  t.deepEqual(classifyEvent({ kind: 'profiles' }, 'alice', P), { kind: 'profile', profile: 'alice' });
  t.deepEqual(classifyEvent({ kind: 'tombstones' }, 'alice', P), { kind: 'profile', profile: 'alice' });
  t.deepEqual(classifyEvent({ kind: 'profile', profile: 'alice' }, 'SOUL.md', P), { kind: 'profile', profile: 'alice' });
  t.deepEqual(classifyEvent({ kind: 'profile', profile: 'alice' }, 'gateway_state.json', P), { kind: 'intent', profile: 'alice' });
  t.deepEqual(classifyEvent({ kind: 'scandir' }, 'gateway-alice', P), { kind: 'profile', profile: 'alice' });
});

test('events that cannot change a decision are ignored', (t) => {
  t.is(classifyEvent({ kind: 'home' }, 'logs', P), undefined);
  t.is(classifyEvent({ kind: 'profile', profile: 'alice' }, 'gateway.pid', P), undefined);
  t.is(classifyEvent({ kind: 'profile', profile: 'alice' }, 'gateway_state.json.tmp', P), undefined);
  t.is(classifyEvent({ kind: 'scandir' }, '.reconcile-gateways.staging', P), undefined);
  t.is(classifyEvent({ kind: 'scandir' }, 'other-service', P), undefined);
  t.is(classifyEvent({ kind: 'scandir' }, 'gateway-', P), undefined);
  t.is(classifyEvent({ kind: 'profiles' }, '.hidden', P), undefined);
});

test('config.yaml, profiles/ itself, tombstones dir and an event without a name ask for a full pass', (t) => {
  t.like(classifyEvent({ kind: 'home' }, 'config.yaml', P), { kind: 'full' });
  t.like(classifyEvent({ kind: 'home' }, 'profiles', P), { kind: 'full' });
  t.like(classifyEvent({ kind: 'profiles' }, '.deleted', P), { kind: 'full' });
  t.like(classifyEvent({ kind: 'scandir' }, null, P), { kind: 'full' });
});

test('hints coalesce: a profile named twice is one entry; the batch keeps its first time', (t) => {
  let d = addHint(CLEAN, { kind: 'profile', profile: 'a' }, 5);
  d = addHint(d, { kind: 'profile', profile: 'a' }, 7);
  d = addHint(d, { kind: 'profile', profile: 'b' }, 9);
  t.deepEqual([...d.profiles], ['a', 'b']);
  t.is(d.sinceMs, 5);
  t.false(d.full);
  t.true(isDirty(d));
  t.false(isDirty(CLEAN));
});

test('intent hints stay cheap-checkable until another hint names the same profile', (t) => {
  let d = addHint(CLEAN, { kind: 'intent', profile: 'alice' }, 1);
  d = addHint(d, { kind: 'intent', profile: 'bob' }, 2);
  t.deepEqual([...d.profiles].sort(), ['alice', 'bob']);
  t.deepEqual([...d.intentOnly].sort(), ['alice', 'bob']);
  d = addHint(d, { kind: 'profile', profile: 'alice' }, 3);
  t.deepEqual([...d.intentOnly], ['bob'], 'a SOUL.md or slot event needs a real look');
  d = addHint(d, { kind: 'intent', profile: 'alice' }, 4);
  t.deepEqual([...d.intentOnly], ['bob'], 'a later intent hint does not make it cheap again');
  t.is(d.sinceMs, 1);
});
