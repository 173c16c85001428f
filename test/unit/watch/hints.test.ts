import test from 'ava';
import { HintBatch, classifyEvent, isDirty } from '../../../src/watch/hints.js';

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
  const batch = new HintBatch();
  t.false(isDirty(batch.view()));
  t.true(batch.add({ kind: 'profile', profile: 'a' }, 5), 'the first hint starts the debounce clock');
  t.false(batch.add({ kind: 'profile', profile: 'a' }, 7));
  t.false(batch.add({ kind: 'profile', profile: 'b' }, 9));
  const d = batch.view();
  t.deepEqual([...d.profiles], ['a', 'b']);
  t.is(d.sinceMs, 5);
  t.false(d.full);
  t.true(isDirty(d));
});

test('a cleared batch starts afresh and leaves the view handed out before intact', (t) => {
  const batch = new HintBatch();
  batch.add({ kind: 'full', why: 'config.yaml changed' }, 1);
  batch.add({ kind: 'full', why: 'config.yaml changed' }, 2);
  batch.add({ kind: 'intent', profile: 'alice' }, 3);
  const before = batch.view();
  t.deepEqual(before.why, ['config.yaml changed']);
  batch.clear();
  t.false(isDirty(batch.view()));
  t.true(batch.add({ kind: 'profile', profile: 'bob' }, 10));
  t.deepEqual([...before.profiles], ['alice'], 'the earlier batch is not reused');
  t.is(batch.view().sinceMs, 10);
});

test('intent hints stay cheap-checkable until another hint names the same profile', (t) => {
  const batch = new HintBatch();
  batch.add({ kind: 'intent', profile: 'alice' }, 1);
  batch.add({ kind: 'intent', profile: 'bob' }, 2);
  t.deepEqual([...batch.view().profiles].sort(), ['alice', 'bob']);
  t.deepEqual([...batch.view().intentOnly].sort(), ['alice', 'bob']);
  batch.add({ kind: 'profile', profile: 'alice' }, 3);
  t.deepEqual([...batch.view().intentOnly], ['bob'], 'a SOUL.md or slot event needs a real look');
  batch.add({ kind: 'intent', profile: 'alice' }, 4);
  t.deepEqual([...batch.view().intentOnly], ['bob'], 'a later intent hint does not make it cheap again');
  t.is(batch.view().sinceMs, 1);
});
