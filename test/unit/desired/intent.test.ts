/**
 * State precedence (reference §1.4, S02–S19, S27–S32): which prior state a profile resolves to,
 * whether it autostarts, and that an unusable state file is "no prior state" with a warning.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { ProfileDecision, StateFile } from '../../../src/model.js';
import { buildDesired } from '../../../src/desired/index.js';
import { NO_STATE, home, inputOf, observedOf, profile, stateFromBytes, stateOf } from '../../helpers/observed.js';

interface Expect {
  readonly prior: string | null;
  readonly started: boolean;
}

function named(state: StateFile): ProfileDecision {
  const desired = buildDesired(inputOf(observedOf(home({ named: [profile('coder', { state })] }))));
  const decision = desired.decisions.find((d) => d.profile === 'coder');
  if (decision === undefined) throw new Error('no decision for coder');
  return decision;
}

const namedIntent = test.macro({
  exec(t: ExecutionContext, state: StateFile, want: Expect) {
    t.deepEqual(named(state), {
      profile: 'coder',
      service: 'gateway-coder',
      priorState: want.prior,
      autostart: want.started,
      action: want.started ? 'started' : 'registered',
      priorExit: 'unknown',
    });
    const desired = buildDesired(inputOf(observedOf(home({ named: [profile('coder', { state })] }))));
    t.is(desired.services.get('gateway-coder')?.autostart, want.started);
  },
  title: (title = '') => `named profile: ${title}`,
});

const rootIntent = test.macro({
  exec(t: ExecutionContext, state: StateFile, want: Expect) {
    const desired = buildDesired(inputOf(observedOf(home({ root: state }))));
    t.deepEqual(desired.decisions, [
      {
        profile: 'default',
        service: 'gateway-default',
        priorState: want.prior,
        autostart: want.started,
        action: want.started ? 'started' : 'registered',
        priorExit: 'unknown',
      },
    ]);
  },
  title: (title = '') => `root profile: ${title}`,
});

test('S01 no state file: registered down, prior None', rootIntent, NO_STATE, { prior: null, started: false });
test('S02 gateway_state running autostarts', rootIntent, stateOf({ gateway_state: 'running' }), { prior: 'running', started: true });
test('S03 gateway_state stopped stays down', rootIntent, stateOf({ gateway_state: 'stopped' }), { prior: 'stopped', started: false });
test('S04 startup_failed is not restarted (crash-loop guard)', rootIntent, stateOf({ gateway_state: 'startup_failed' }), {
  prior: 'startup_failed',
  started: false,
});
test('S05 draining without desired_state reads as running', rootIntent, stateOf({ gateway_state: 'draining' }), {
  prior: 'running',
  started: true,
});

test('S09 gateway_state running autostarts', namedIntent, stateOf({ gateway_state: 'running' }), { prior: 'running', started: true });
test('S10 stopped is registered down', namedIntent, stateOf({ gateway_state: 'stopped' }), { prior: 'stopped', started: false });
test('S11 startup_failed is registered down', namedIntent, stateOf({ gateway_state: 'startup_failed' }), {
  prior: 'startup_failed',
  started: false,
});
test('S12 starting is not mapped to running', namedIntent, stateOf({ gateway_state: 'starting' }), { prior: 'starting', started: false });
test(
  'S13 desired_state running wins over startup_failed',
  namedIntent,
  stateOf({ gateway_state: 'startup_failed', desired_state: 'running' }),
  { prior: 'running', started: true },
);
test('S14 desired_state stopped wins over running', namedIntent, stateOf({ gateway_state: 'running', desired_state: 'stopped' }), {
  prior: 'stopped',
  started: false,
});
test('S15 degraded without desired_state reads as running', namedIntent, stateOf({ gateway_state: 'degraded' }), {
  prior: 'running',
  started: true,
});
test(
  'S16 an explicit desired_state draining is verbatim and does not start',
  namedIntent,
  stateOf({ desired_state: 'draining', gateway_state: 'running' }),
  { prior: 'draining', started: false },
);
test(
  'S16 an explicit empty desired_state is verbatim and does not start',
  namedIntent,
  stateOf({ desired_state: '', gateway_state: 'running' }),
  { prior: '', started: false },
);
test('S17 desired_state null falls back to gateway_state', namedIntent, stateOf({ desired_state: null, gateway_state: 'running' }), {
  prior: 'running',
  started: true,
});
test('S18 no state file: registered down, prior None', namedIntent, NO_STATE, { prior: null, started: false });
test('S19 Running in another case does not autostart', namedIntent, stateOf({ gateway_state: 'Running' }), {
  prior: 'Running',
  started: false,
});
test('S19 desired_state with trailing space does not autostart', namedIntent, stateOf({ desired_state: 'running ' }), {
  prior: 'running ',
  started: false,
});
test(
  'a non-string desired_state counts as none (falls back to gateway_state)',
  namedIntent,
  stateOf({ desired_state: 1, gateway_state: 'running' }),
  { prior: 'running', started: true },
);
test(
  'a non-string desired_state and gateway_state count as none',
  namedIntent,
  stateOf({ desired_state: true, gateway_state: ['running'] }),
  { prior: null, started: false },
);
test('an object desired_state counts as none', namedIntent, stateOf({ desired_state: { state: 'running' } }), {
  prior: null,
  started: false,
});
test('a non-string gateway_state counts as none', namedIntent, stateOf({ gateway_state: 42 }), { prior: null, started: false });
test('an object without either field has no prior state', namedIntent, stateOf({ platforms: {} }), { prior: null, started: false });
test(
  'S28 a BOM is stripped before parsing',
  namedIntent,
  stateFromBytes(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"gateway_state":"running"}')])),
  { prior: 'running', started: true },
);
test(
  'the migration record (default json.dumps separators) parses',
  namedIntent,
  stateFromBytes('{"gateway_state": "running", "desired_state": "running", "timestamp": 1, "migrated_from": "legacy-container-cmd"}\n'),
  { prior: 'running', started: true },
);

/** State files that mean "no prior state" with a warning (S27, S29–S32 softened by §0). */
const UNUSABLE: ReadonlyArray<readonly [string, StateFile]> = [
  ['S27 corrupt JSON', stateFromBytes('{ not valid json')],
  ['S31 an empty file', stateFromBytes('')],
  ['a whitespace-only file', stateFromBytes(' \n')],
  ['S29 a JSON array', stateFromBytes('[]')],
  ['S29 JSON null', stateFromBytes('null')],
  ['S29 a JSON string', stateFromBytes('"running"')],
  ['S29 a JSON number', stateFromBytes('42')],
  ['S30 non-UTF-8 bytes', stateFromBytes(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]))],
  ['a BOM alone', stateFromBytes(new Uint8Array([0xef, 0xbb, 0xbf]))],
  ['S32 an unreadable file (refused by observe)', { kind: 'unreadable', reason: 'EACCES: permission denied' }],
];

const unusable = test.macro({
  exec(t: ExecutionContext, state: StateFile, isRoot: boolean) {
    const h = isRoot ? home({ root: state }) : home({ named: [profile('coder', { state })] });
    const desired = buildDesired(inputOf(observedOf(h)));
    const name = isRoot ? 'default' : 'coder';
    t.like(
      desired.decisions.find((d) => d.profile === name),
      { priorState: null, autostart: false, action: 'registered' },
    );
    t.is(desired.services.get(`gateway-${name}`)?.autostart, false);
    const path = isRoot ? '/opt/data/gateway_state.json' : '/opt/data/profiles/coder/gateway_state.json';
    const warnings = desired.notices.filter((n) => n.level === 'warn' && n.profile === name);
    t.is(warnings.length, 1);
    t.true(warnings[0]?.message.startsWith(`could not read ${path}`), warnings[0]?.message);
    // What to do depends on why: Hermes rewrites what it cannot parse; the rest takes a hand.
    const parseFailure = /\((invalid JSON|empty file|not valid UTF-8|not a JSON object)/.test(warnings[0]?.message ?? '');
    const fix = parseFailure
      ? `hermes${isRoot ? '' : ' -p coder'} gateway start (or stop) rewrites it, or fix it by hand`
      : /\(EACCES/.test(warnings[0]?.message ?? '')
        ? 'check the file and its permissions'
        : /\(holds more than/.test(warnings[0]?.message ?? '')
          ? 'rewrite it as one small JSON object'
          : 'replace it with a regular file holding one small JSON object';
    t.true(warnings[0]?.message.endsWith(`; treating as no prior state; ${fix}`), warnings[0]?.message);
  },
  title: (title = '', _state: StateFile, isRoot: boolean) =>
    `${title} ${isRoot ? 'at the root' : 'in a named profile'} is no prior state with a warning`,
});

for (const [title, state] of UNUSABLE) {
  test(title, unusable, state, false);
  test(title, unusable, state, true);
}

test('one unusable state file never stops the other profiles', (t) => {
  const h = home({
    root: stateOf({ gateway_state: 'running' }),
    named: [profile('alpha', { state: stateFromBytes('[]') }), profile('beta', { state: stateOf({ desired_state: 'running' }) })],
  });
  const desired = buildDesired(inputOf(observedOf(h)));
  t.deepEqual(
    desired.decisions.map((d) => [d.profile, d.action]),
    [
      ['default', 'started'],
      ['alpha', 'registered'],
      ['beta', 'started'],
    ],
  );
  t.deepEqual([...desired.services.keys()], ['gateway-default', 'gateway-alpha', 'gateway-beta']);
});

test('a readable state file gives no warning', (t) => {
  const desired = buildDesired(inputOf(observedOf(home({ root: stateOf({ gateway_state: 'stopped' }), named: [profile('coder')] }))));
  t.deepEqual(desired.notices, []);
});

test('prior_exit follows the lifecycle ledger (S57, S58)', (t) => {
  const h = home({
    named: [profile('a', { phase: 'exited' }), profile('b', { phase: 'running' }), profile('c', { phase: 'garbage' }), profile('d')],
  });
  const desired = buildDesired(inputOf(observedOf(h)));
  t.deepEqual(
    desired.decisions.map((d) => [d.profile, d.priorExit]),
    [
      ['default', 'unknown'],
      ['a', 'clean'],
      ['b', 'unclean'],
      ['c', 'unknown'],
      ['d', 'unknown'],
    ],
  );
});

test('the legacy seed makes the root running without reading its file (S40)', (t) => {
  const desired = buildDesired(inputOf(observedOf(home({ root: stateFromBytes('{ broken') })), { legacySeeded: true }));
  t.like(desired.decisions[0], { profile: 'default', priorState: 'running', action: 'started', autostart: true });
  t.deepEqual(desired.notices, []);
});

/** The warnings buildDesired gives the named profile `coder` with this state file. */
function intentWarnings(state: StateFile): string[] {
  const desired = buildDesired(inputOf(observedOf(home({ named: [profile('coder', { state })] }))));
  return desired.notices.filter((n) => n.level === 'warn' && n.profile === 'coder').map((n) => n.message);
}

const FILE = '/opt/data/profiles/coder/gateway_state.json';
const REWRITE = 'hermes -p coder gateway start (or stop) rewrites it, or fix it by hand';

test('a desired_state Hermes never writes is kept as upstream keeps it, and said', (t) => {
  t.deepEqual(intentWarnings(stateOf({ desired_state: 'RUNNING' })), [
    `${FILE}: desired_state "RUNNING" is neither "running" nor "stopped"; only "running" starts a gateway, so it is registered down; ${REWRITE}`,
  ]);
  t.deepEqual(intentWarnings(stateOf({ desired_state: 1, gateway_state: 'running' })), [
    `${FILE}: desired_state is a number, not "running" or "stopped"; ignored, so gateway_state decides; ${REWRITE}`,
  ]);
  t.deepEqual(intentWarnings(stateOf({ desired_state: { state: 'running' } })), [
    `${FILE}: desired_state is an object, not "running" or "stopped"; ignored, so the gateway has no intent and is registered down; ${REWRITE}`,
  ]);
  const long = intentWarnings(stateOf({ desired_state: `x\u001b[31m${'y'.repeat(100)}` }))[0] ?? '';
  t.true(long.includes('desired_state "x\u001b[31myyy'), 'the value as it is: the output escapes the whole line, once');
  t.false(long.includes('y'.repeat(41)), 'a long value is cut');
});

test('running, stopped, null or no desired_state, and any gateway_state, give no intent warning', (t) => {
  for (const fields of [
    { desired_state: 'running' },
    { desired_state: 'stopped' },
    { desired_state: null, gateway_state: 'startup_failed' },
    { gateway_state: 'draining' },
    {},
  ])
    t.deepEqual(intentWarnings(stateOf(fields)), [], JSON.stringify(fields));
});
