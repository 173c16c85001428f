/**
 * src/desired/intent.ts: a profile's prior state and exit, as upstream resolves them
 * (upstream-behaviour.md: `_read_desired_state`, the lifecycle ledger).
 */
import test from 'ava';
import type { Lifecycle, StateFile } from '../../../src/model.js';
import { isAutostart, resolvePriorExit, resolvePriorState } from '../../../src/desired/intent.js';

const parsed = (desiredState: unknown, gatewayState: unknown): StateFile => ({ kind: 'parsed', desiredState, gatewayState });

const prior = test.macro({
  exec(t, state: StateFile, expected: string | null) {
    t.is(resolvePriorState(state), expected);
  },
  title: (provided = '') => `resolvePriorState: ${provided}`,
});

test('desired_state wins over gateway_state', prior, parsed('stopped', 'running'), 'stopped');
test('any string desired_state is kept verbatim', prior, parsed('paused', 'running'), 'paused');
test('without desired_state, gateway_state is used', prior, parsed(undefined, 'stopped'), 'stopped');
test('a null desired_state falls back to gateway_state', prior, parsed(null, 'startup_failed'), 'startup_failed');
test('draining means it was running', prior, parsed(undefined, 'draining'), 'running');
test('degraded means it was running', prior, parsed(undefined, 'degraded'), 'running');
test('a non-string desired_state and no gateway_state is unknown', prior, parsed(1, undefined), null);
test('a missing state file is unknown', prior, { kind: 'missing' }, null);
test('an unreadable state file is unknown', prior, { kind: 'unreadable', reason: 'empty file' }, null);

test('only exactly running autostarts', (t) => {
  t.true(isAutostart('running'));
  for (const other of ['Running', 'running ', 'stopped', 'startup_failed', '', null]) t.false(isAutostart(other), String(other));
});

test('the lifecycle phase maps to a prior exit', (t) => {
  const phase = (p: unknown): Lifecycle => ({ kind: 'parsed', phase: p });
  t.is(resolvePriorExit(phase('exited')), 'clean');
  t.is(resolvePriorExit(phase('running')), 'unclean');
  t.is(resolvePriorExit(phase('starting')), 'unknown');
  t.is(resolvePriorExit(phase(42)), 'unknown');
  t.is(resolvePriorExit({ kind: 'missing' }), 'unknown');
  t.is(resolvePriorExit({ kind: 'unreadable', reason: 'not valid UTF-8' }), 'unknown');
});
