/**
 * buildDesired beyond single intents: pending slots in sync, tombstones, which existing slots
 * are gone or kept, and role none.
 */
import test from 'ava';
import type { DesiredState, ObservedState } from '../../../src/model.js';
import { buildDesired } from '../../../src/desired/index.js';
import {
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
} from '../../helpers/observed.js';

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
  t.deepEqual(rest, {
    profile: 'coder',
    service: 'gateway-coder',
    priorState: null,
    autostart: false,
    action: 'pending',
    priorExit: 'unknown',
  });
  t.regex(reason ?? '', /^state file unreadable: invalid JSON( at line \d+ column \d+|: unexpected end)?; slot kept up or down as it is$/);
  t.true(desired.services.has('gateway-coder'), 'its files are still repaired');
  t.true(desired.keep.has('gateway-coder'));
  t.false(desired.gone.has('gateway-coder'));
  t.true(desired.notices.some((n) => n.level === 'warn' && n.message.includes('keeping its slot up or down as it is')));
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
  const o = observedOf(
    home({ named: [profile('coder', { state: stateFromBytes('[]') })] }),
    scandirOf([foreignEntry('gateway-coder', 'coder', 'file')]),
  );
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
  t.deepEqual(actions(desired), [
    ['default', 'registered'],
    ['live', 'registered'],
  ]);
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

test('a tombstoned profile whose directory is still there with no readable SOUL.md keeps its slot (an editor saving, a restore)', (t) => {
  const o = observedOf(
    home({
      named: [profile('locked', { unusable: 'open profiles/locked: EACCES' })],
      strayDirs: ['saving'],
      tombstones: { saving: 1000, locked: 1000, gone: 1000 },
    }),
    scandirOf([slotOf(specOf('saving', true)), slotOf(specOf('locked', true)), slotOf(specOf('gone', true))]),
  );
  const desired = buildDesired(inputOf(o, { mode: 'sync' }));
  t.deepEqual([...desired.gone], ['gateway-gone'], 'only the one whose directory went');
  t.deepEqual([...desired.keep].sort(), ['gateway-locked', 'gateway-saving']);
});

test("a profile whose slot is another tool's (not adoptable) is pending: its slot is left up or down as it is", (t) => {
  const o = observedOf(
    home({ named: [profile('proxy', { state: RUNNING })] }),
    scandirOf([slotOf(specOf('proxy', true), { owned: false, foreignEntries: ['data'], down: true })]),
  );
  const desired = buildDesired(inputOf(o, { mode: 'sync' }));
  t.like(desired.decisions[1], { profile: 'proxy', action: 'pending', priorState: 'running', autostart: false });
  t.is(desired.decisions[1]?.reason, 'its slot is not adopted (its update says why); left up or down as it is');
  t.true(desired.keep.has('gateway-proxy'));
  t.true(desired.services.has('gateway-proxy'), 'still planned for, so diff says why it is refused');
});

test('nothing is gone when profiles/ cannot be listed', (t) => {
  const o = observedOf(home({ profilesRoot: { kind: 'unreadable', reason: 'EIO' } }), scandirOf([slotOf(specOf('x', false))]));
  const desired = buildDesired(inputOf(o));
  t.deepEqual([...desired.gone], []);
  t.deepEqual([...desired.keep], ['gateway-x']);
});
