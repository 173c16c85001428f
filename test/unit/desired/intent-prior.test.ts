/**
 * src/desired/intent.ts: a profile's prior state and exit, as upstream resolves them
 * (upstream-behaviour.md: `_read_desired_state`, the lifecycle ledger).
 */
import test from 'ava';
import type { Lifecycle, StateFile } from '../../../src/model.js';
import { isAutostart, resolvePriorExit, resolvePriorState } from '../../../src/desired/intent.js';

// The parser keeps only string fields (issue 16 #1): a null or a number arrives here as undefined.
const parsed = (desiredState: string | undefined, gatewayState: string | undefined): StateFile => ({
  kind: 'parsed',
  desiredState,
  gatewayState,
});

const prior = test.macro({
  exec(t, state: StateFile, expected: string | null) {
    t.is(resolvePriorState(state), expected);
  },
  title: (provided = '') => `resolvePriorState: ${provided}`,
});

test('desired_state wins over gateway_state', prior, parsed('stopped', 'running'), 'stopped');
test('any string desired_state is kept verbatim', prior, parsed('paused', 'running'), 'paused');
test('without desired_state, gateway_state is used', prior, parsed(undefined, 'stopped'), 'stopped');
test('a null desired_state (parsed as absent) falls back to gateway_state', prior, parsed(undefined, 'startup_failed'), 'startup_failed');
test('draining means it was running', prior, parsed(undefined, 'draining'), 'running');
test('degraded means it was running', prior, parsed(undefined, 'degraded'), 'running');
test('a non-string desired_state (parsed as absent) and no gateway_state is unknown', prior, parsed(undefined, undefined), null);
test('a missing state file is unknown', prior, { kind: 'missing' }, null);
test('an unreadable state file is unknown', prior, { kind: 'unreadable', reason: 'empty file' }, null);

test('only exactly running autostarts', (t) => {
  t.true(isAutostart('running'));
  for (const other of ['Running', 'running ', 'stopped', 'startup_failed', '', null]) t.false(isAutostart(other), String(other));
});

test('the lifecycle phase maps to a prior exit', (t) => {
  const phase = (p: string | undefined): Lifecycle => ({ kind: 'parsed', phase: p });
  t.is(resolvePriorExit(phase('exited')), 'clean');
  t.is(resolvePriorExit(phase('running')), 'unclean');
  t.is(resolvePriorExit(phase('starting')), 'unknown');
  t.is(resolvePriorExit(phase(undefined)), 'unknown', 'a non-string phase is parsed as absent');
  t.is(resolvePriorExit({ kind: 'missing' }), 'unknown');
  t.is(resolvePriorExit({ kind: 'unreadable', reason: 'not valid UTF-8' }), 'unknown');
});
