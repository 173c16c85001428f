/**
 * Multiplexing (S50–S56): the V2 gate keeps named slots down; the V3 fold also starts the root
 * slot for named profiles that asked to autostart, and reports them as folded.
 */
import test from 'ava';
import type { DesiredState } from '../../../src/model.js';
import { buildDesired, foldNotice } from '../../../src/desired/index.js';
import { type InputOverrides, SETTINGS, home, inputOf, observedOf, profile, stateOf } from '../../helpers/observed.js';

const RUNNING = stateOf({ gateway_state: 'running' });
const STOPPED = stateOf({ gateway_state: 'stopped' });

function actions(desired: DesiredState): string[][] {
  return desired.decisions.map((d) => [d.profile, d.action]);
}

const mux = (policy: 'gate' | 'fold'): InputOverrides => ({
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
  t.deepEqual(actions(desired), [
    ['default', 'started'],
    ['coder', 'registered'],
  ]);
});

test('S54 fold: root without state starts and multiplexes the running named profile', (t) => {
  const o = observedOf(home({ named: [profile('alpha', { state: stateOf({ desired_state: 'running' }) }), profile('beta')] }));
  const desired = buildDesired(inputOf(o, mux('fold')));
  t.deepEqual(desired.decisions, [
    {
      profile: 'default',
      service: 'gateway-default',
      priorState: null,
      autostart: true,
      action: 'started',
      priorExit: 'unknown',
      foldedIntoRoot: true,
    },
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
  t.deepEqual(
    desired.notices,
    [
      { level: 'info', message: foldNotice(['alpha'], 'gateway-') },
      { level: 'warn', message: foldNotice(['alpha'], 'gateway-'), profile: 'default' },
    ],
    'the stdout line, and the warning upstream logs when the root itself was not meant to run',
  );
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
  t.true(desired.notices.some((n) => n.level === 'warn' && n.message === foldNotice(['abe', 'zed'], 'gateway-')));
  const running = buildDesired(inputOf(observedOf(home({ root: RUNNING, named: [profile('zed', { state: RUNNING })] })), mux('fold')));
  t.deepEqual(
    running.notices.map((n) => n.level),
    ['info'],
    'a root meant to run: the stdout line only',
  );
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
  const o = observedOf(
    home({
      named: [profile('Bad', { state: RUNNING }), profile('gone', { state: RUNNING, soulMtimeMs: 1 })],
      tombstones: { gone: 2 },
    }),
  );
  const desired = buildDesired(inputOf(o, mux('fold')));
  t.deepEqual(desired.foldedProfiles, []);
  t.like(desired.decisions[0], { action: 'registered', foldedIntoRoot: false });
});

test('fold without multiplex is off: named profiles start normally', (t) => {
  const o = observedOf(home({ named: [profile('coder', { state: RUNNING })] }));
  const desired = buildDesired(inputOf(o, { settings: { ...SETTINGS, multiplexPolicy: 'fold' } }));
  t.deepEqual(actions(desired), [
    ['default', 'registered'],
    ['coder', 'started'],
  ]);
  t.is(desired.decisions[1]?.foldedIntoRoot, undefined);
});
