/**
 * buildDesired beyond single intents: pending slots in sync, tombstones, role none, multiplex
 * gate and fold (S50–S56), and the empty-set guard.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { DesiredState, ObservedState } from '../../src/model.js';
import { type DesiredInput, buildDesired, foldNotice } from '../../src/desired/index.js';
import {
  SETTINGS,
  foreignEntry,
  home,
  inputOf,
  observedOf,
  profile,
  scandirOf,
  slotOf,
  specOf,
  stateFromBytes,
  stateOf,
} from '../helpers/observed.js';

const RUNNING = stateOf({ gateway_state: 'running' });
const STOPPED = stateOf({ gateway_state: 'stopped' });

function actions(desired: DesiredState): string[][] {
  return desired.decisions.map((d) => [d.profile, d.action]);
}

// ---- pending (sync only) ------------------------------------------------------------------------

const withSlot = (state = stateFromBytes('{ broken')): ObservedState =>
  observedOf(home({ named: [profile('coder', { state })] }), scandirOf([slotOf(specOf('coder', true))]));

test('sync leaves a slot whose state file is unreadable as it is (pending)', (t) => {
  const desired = buildDesired(inputOf(withSlot(), { mode: 'sync' }));
  const { reason, ...rest } = desired.decisions[1] ?? { reason: undefined };
  t.deepEqual(rest, { profile: 'coder', service: 'gateway-coder', priorState: null, autostart: false, action: 'pending', priorExit: 'unknown' });
  t.regex(reason ?? '', /^state file unreadable: invalid JSON: .*; slot left as it is$/);
  t.false(desired.services.has('gateway-coder'));
  t.true(desired.keep.has('gateway-coder'));
  t.false(desired.gone.has('gateway-coder'));
  t.true(desired.notices.some((n) => n.level === 'warn' && n.message.includes('treating as no prior state')));
});

test('boot registers the same slot down: no prior state at boot', (t) => {
  const desired = buildDesired(inputOf(withSlot(), { mode: 'boot' }));
  t.like(desired.decisions[1], { action: 'registered', priorState: null, autostart: false });
  t.is(desired.services.get('gateway-coder')?.autostart, false);
  t.false(desired.keep.has('gateway-coder'));
});

test('sync with an unreadable state file and no slot registers it down', (t) => {
  const o = observedOf(home({ named: [profile('coder', { state: stateFromBytes('[]') })] }));
  const desired = buildDesired(inputOf(o, { mode: 'sync' }));
  t.like(desired.decisions[1], { action: 'registered', autostart: false });
});

test('sync with an unreadable state file and a foreign file on the slot path does not keep it', (t) => {
  const o = observedOf(home({ named: [profile('coder', { state: stateFromBytes('[]') })] }), scandirOf([foreignEntry('gateway-coder', 'coder', 'file')]));
  const desired = buildDesired(inputOf(o, { mode: 'sync' }));
  t.like(desired.decisions[1], { action: 'registered' });
});

test('sync with a readable state file decides normally', (t) => {
  const desired = buildDesired(inputOf(withSlot(STOPPED), { mode: 'sync' }));
  t.like(desired.decisions[1], { action: 'registered', priorState: 'stopped' });
  t.is(desired.services.get('gateway-coder')?.autostart, false);
});

// ---- tombstones ---------------------------------------------------------------------------------

test('a tombstone newer than SOUL.md skips the profile as tombstoned and marks its slot gone', (t) => {
  const o = observedOf(home({ named: [profile('old', { state: RUNNING, soulMtimeMs: 1000 })], tombstones: { old: 2000 } }));
  const desired = buildDesired(inputOf(o));
  t.deepEqual(desired.decisions[1], {
    profile: 'old',
    service: 'gateway-old',
    priorState: null,
    autostart: false,
    action: 'skipped',
    reason: 'tombstoned',
    priorExit: 'unknown',
  });
  t.false(desired.services.has('gateway-old'));
  t.true(desired.gone.has('gateway-old'));
  t.deepEqual(desired.notices, []);
});

test('a tombstone as old as SOUL.md still counts as deletion', (t) => {
  const desired = buildDesired(inputOf(observedOf(home({ named: [profile('old', { soulMtimeMs: 1000 })], tombstones: { old: 1000 } }))));
  t.like(desired.decisions[1], { action: 'skipped', reason: 'tombstoned' });
});

test('a tombstone older than SOUL.md: the profile was re-created, registered with a warning', (t) => {
  const o = observedOf(home({ named: [profile('back', { state: RUNNING, soulMtimeMs: 5000 })], tombstones: { back: 1000 } }));
  const desired = buildDesired(inputOf(o));
  t.like(desired.decisions[1], { profile: 'back', action: 'started', priorState: 'running' });
  t.true(desired.services.has('gateway-back'));
  t.false(desired.gone.has('gateway-back'));
  t.deepEqual(desired.notices, [
    {
      level: 'warn',
      message: 'profiles/back: SOUL.md is newer than its tombstone profiles/.deleted/back; treating the profile as re-created',
      profile: 'back',
    },
  ]);
});

test('a tombstone for a profile that is not there touches no other profile', (t) => {
  const desired = buildDesired(inputOf(observedOf(home({ named: [profile('live')], tombstones: { ghost: 9999 } }))));
  t.deepEqual(actions(desired), [['default', 'registered'], ['live', 'registered']]);
});

// ---- gone / keep of existing slots ---------------------------------------------------------------

test('an existing slot of a deleted profile is gone; one whose dir lacks SOUL.md is kept', (t) => {
  const o = observedOf(
    home({ named: [profile('live', { state: STOPPED })], strayDirs: ['halfway'] }),
    scandirOf([slotOf(specOf('deleted', false)), slotOf(specOf('halfway', false)), slotOf(specOf('live', false))]),
  );
  const desired = buildDesired(inputOf(o, { mode: 'sync' }));
  t.deepEqual([...desired.gone], ['gateway-deleted']);
  t.deepEqual([...desired.keep], ['gateway-halfway']);
});

test('nothing is gone when profiles/ cannot be listed', (t) => {
  const o = observedOf(home({ profilesRoot: { kind: 'unreadable', reason: 'EIO' } }), scandirOf([slotOf(specOf('x', false))]));
  const desired = buildDesired(inputOf(o));
  t.deepEqual([...desired.gone], []);
  t.deepEqual([...desired.keep], ['gateway-x']);
});

// ---- role none ----------------------------------------------------------------------------------

test('role none registers every slot down, the root included', (t) => {
  const o = observedOf(home({ root: RUNNING, named: [profile('coder', { state: RUNNING }), profile('idle', { state: STOPPED })] }));
  const desired = buildDesired(inputOf(o, { role: 'none' }));
  t.deepEqual(actions(desired), [['default', 'registered'], ['coder', 'registered'], ['idle', 'registered']]);
  t.true(desired.decisions.every((d) => d.reason === 'role none: gateways never start here' && !d.autostart));
  t.deepEqual(desired.decisions.map((d) => d.priorState), ['running', 'running', 'stopped']);
  t.true([...desired.services.values()].every((s) => !s.autostart));
});

// ---- multiplex ----------------------------------------------------------------------------------

const mux = (policy: 'gate' | 'fold'): Partial<Omit<DesiredInput, 'observed'>> => ({
  multiplex: true,
  settings: { ...SETTINGS, multiplexPolicy: policy },
});

test('S50 gate: a running named profile is registered down; the root follows its own state', (t) => {
  const o = observedOf(home({ root: STOPPED, named: [profile('coder', { state: RUNNING })] }));
  const desired = buildDesired(inputOf(o, mux('gate')));
  t.deepEqual(desired.decisions, [
    { profile: 'default', service: 'gateway-default', priorState: 'stopped', autostart: false, action: 'registered', priorExit: 'unknown' },
    {
      profile: 'coder',
      service: 'gateway-coder',
      priorState: 'running',
      autostart: false,
      action: 'registered',
      reason: 'multiplexing: named slots stay down',
      priorExit: 'unknown',
    },
  ]);
  t.deepEqual(desired.foldedProfiles, []);
  t.deepEqual(desired.notices, []);
});

test('gate: a running root still starts', (t) => {
  const desired = buildDesired(inputOf(observedOf(home({ root: RUNNING, named: [profile('coder', { state: RUNNING })] })), mux('gate')));
  t.deepEqual(actions(desired), [['default', 'started'], ['coder', 'registered']]);
});

test('S54 fold: root without state starts and multiplexes the running named profile', (t) => {
  const o = observedOf(home({ named: [profile('alpha', { state: stateOf({ desired_state: 'running' }) }), profile('beta')] }));
  const desired = buildDesired(inputOf(o, mux('fold')));
  t.deepEqual(desired.decisions, [
    { profile: 'default', service: 'gateway-default', priorState: null, autostart: true, action: 'started', priorExit: 'unknown', foldedIntoRoot: true },
    {
      profile: 'alpha',
      service: 'gateway-alpha',
      priorState: 'running',
      autostart: false,
      action: 'registered',
      reason: 'folded into the root slot (multiplexing)',
      priorExit: 'unknown',
      foldedIntoRoot: true,
    },
    {
      profile: 'beta',
      service: 'gateway-beta',
      priorState: null,
      autostart: false,
      action: 'registered',
      reason: 'multiplexing: named slots stay down',
      priorExit: 'unknown',
      foldedIntoRoot: false,
    },
  ]);
  t.deepEqual(desired.foldedProfiles, ['alpha']);
  t.deepEqual(desired.notices, [{ level: 'info', message: foldNotice(['alpha'], 'gateway-') }]);
  t.is(
    foldNotice(['alpha'], 'gateway-'),
    'reconcile: profile gateway(s) alpha asked to autostart; one gateway per container serves every profile, so the ROOT slot (gateway-default) was started instead and multiplexes them.',
  );
  t.true(desired.services.get('gateway-default')?.autostart);
  t.false(desired.services.get('gateway-alpha')?.autostart);
});

test('S55 fold: an explicit root stopped is started anyway when a named profile runs', (t) => {
  const o = observedOf(home({ root: STOPPED, named: [profile('zed', { state: RUNNING }), profile('abe', { state: RUNNING })] }));
  const desired = buildDesired(inputOf(o, mux('fold')));
  t.like(desired.decisions[0], { profile: 'default', priorState: 'stopped', action: 'started', foldedIntoRoot: true });
  t.deepEqual(desired.foldedProfiles, ['abe', 'zed']);
});

test('S56 fold: running root with no running named profile starts unfolded, no notice', (t) => {
  const o = observedOf(home({ root: RUNNING, named: [profile('idle', { state: STOPPED })] }));
  const desired = buildDesired(inputOf(o, mux('fold')));
  t.like(desired.decisions[0], { action: 'started', foldedIntoRoot: false });
  t.like(desired.decisions[1], { action: 'registered', foldedIntoRoot: false });
  t.deepEqual(desired.foldedProfiles, []);
  t.deepEqual(desired.notices, []);
});

test('fold: a skipped (tombstoned or invalid) running profile is not folded', (t) => {
  const o = observedOf(home({
    named: [profile('Bad', { state: RUNNING }), profile('gone', { state: RUNNING, soulMtimeMs: 1 })],
    tombstones: { gone: 2 },
  }));
  const desired = buildDesired(inputOf(o, mux('fold')));
  t.deepEqual(desired.foldedProfiles, []);
  t.like(desired.decisions[0], { action: 'registered', foldedIntoRoot: false });
});

test('fold without multiplex is off: named profiles start normally', (t) => {
  const o = observedOf(home({ named: [profile('coder', { state: RUNNING })] }));
  const desired = buildDesired(inputOf(o, { settings: { ...SETTINGS, multiplexPolicy: 'fold' } }));
  t.deepEqual(actions(desired), [['default', 'registered'], ['coder', 'started']]);
  t.is(desired.decisions[1]?.foldedIntoRoot, undefined);
});

// ---- empty-set guard ----------------------------------------------------------------------------

const owned = (...names: string[]) => scandirOf(names.map((n) => slotOf(specOf(n, false))));

const guarded = test.macro({
  exec(t: ExecutionContext, o: ObservedState, over: Partial<Omit<DesiredInput, 'observed'>>, blocked: RegExp | undefined) {
    const desired = buildDesired(inputOf(o, { mode: 'sync', ...over }));
    if (blocked === undefined) {
      t.is(desired.pruneBlocked, undefined);
      t.false(desired.notices.some((n) => n.message.includes('removing nothing')));
    } else {
      t.regex(desired.pruneBlocked ?? '', blocked);
      t.true(desired.notices.some((n) => n.level === 'warn' && n.message === desired.pruneBlocked));
    }
  },
  title: (title = '') => `empty-set guard: ${title}`,
});

const GUARD = /removing nothing \(pass --allow-empty if this is intended\)$/;
test('every named profile vanished without tombstones blocks pruning', guarded, observedOf(home(), owned('a', 'b')), {}, GUARD);
test('a missing profiles/ with owned named slots blocks pruning', guarded, observedOf(home({ profilesRoot: { kind: 'missing' } }), owned('a')), {}, /\/opt\/data\/profiles is missing while 1 named slot\(s\) exist/);
test('an unreadable profiles/ blocks pruning', guarded, observedOf(home({ profilesRoot: { kind: 'unreadable', reason: 'EIO' } }), owned('a')), {}, /is unreadable \(EIO\)/);
test('--allow-empty lifts the guard', guarded, observedOf(home(), owned('a', 'b')), { allowEmpty: true }, undefined);
test('tombstoned deletions are intended', guarded, observedOf(home({ tombstones: { a: 5 } }), owned('a')), {}, undefined);
test('one remaining profile means the volume is mounted', guarded, observedOf(home({ named: [profile('c')] }), owned('a', 'b', 'c')), {}, undefined);
test('no owned named slot, nothing to guard', guarded, observedOf(home(), scandirOf([slotOf(specOf('a', false), { owned: false })])), {}, undefined);
test('boot never sets the guard (it never prunes)', guarded, observedOf(home(), owned('a')), { mode: 'boot' }, undefined);
