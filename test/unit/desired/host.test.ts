import test from 'ava';
import fc from 'fast-check';
import type { ConfigRead, HostFacts, ObservedHome } from '../../../src/model.js';
import {
  NON_GATEWAY_COMMANDS,
  accountNotice,
  homeNotice,
  decideMultiplex,
  decideRole,
  decideSeed,
  isTruthy,
  nonGatewayCommand,
  skipLine,
  stripContainerArgv,
  wantsLegacySeed,
} from '../../../src/desired/host.js';
import { hostEnv } from '../../../src/observe/host.js';
import { DASHBOARD_SHAPES, RC_INIT, WRAPPER } from '../../helpers/argv-shapes.js';
import { HOST, home } from '../../helpers/observed.js';

test('truthy values are upstream’s (1, true, yes, on), in any case and with spaces, and nothing else', (t) => {
  for (const v of ['1', 'true', 'TRUE', 'True', 'yes', 'YES', 'on', 'On', ' on ', ' On ']) t.true(isTruthy(v), v);
  for (const v of [undefined, '', '0', 'false', 'no', 'off', 'y', '2', 'enabled', 'truee']) t.false(isTruthy(v), String(v));
});

const strip = test.macro({
  exec: (t, argv: string[], rest: string[]) => t.deepEqual(stripContainerArgv(argv), rest),
  title: (_, argv: string[], rest: string[]) => `strips ${JSON.stringify(argv)} to ${JSON.stringify(rest)}`,
});
test(strip, ['/init', '/opt/hermes/main-wrapper.sh', 'hermes', 'gateway', 'run'], ['gateway', 'run']);
test(strip, ['/init', 'hermes', 'dashboard'], ['dashboard']);
test(strip, ['/sbin/init', '/usr/local/bin/entrypoint-dispatch.sh', '/usr/bin/hermes', 'serve'], ['serve']);
test(strip, ['gateway', 'run'], ['gateway', 'run']);
test(strip, ['/bin/sh', '-c', 'hermes'], ['/bin/sh', '-c', 'hermes']);
test(strip, [], []);

test('prefix stripping drops through the wrapper, else a leading init, then the dispatcher, then hermes (S44)', (t) => {
  t.deepEqual(stripContainerArgv(['/init', WRAPPER, 'hermes', 'gateway', 'run']), ['gateway', 'run']);
  t.deepEqual(stripContainerArgv([...RC_INIT, WRAPPER, 'dashboard', '--host', 'x']), ['dashboard', '--host', 'x']);
  t.deepEqual(stripContainerArgv(['/init', '/x/entrypoint-dispatch.sh', '/usr/bin/hermes', 'chat']), ['chat']);
  t.deepEqual(stripContainerArgv(['/sbin/init', 'gateway', 'run']), ['gateway', 'run']);
  t.deepEqual(stripContainerArgv(['initial', 'gateway']), ['initial', 'gateway'], 'only a token whose basename is exactly init');
  t.deepEqual(stripContainerArgv(['hermes', 'hermes', 'chat']), ['hermes', 'chat'], 'hermes is dropped once');
  t.deepEqual(stripContainerArgv(['chat', WRAPPER, 'gateway', 'run']), ['gateway', 'run'], 'the wrapper may appear anywhere');
});

const isDashboardArgv = (argv: readonly string[]): boolean => nonGatewayCommand(argv) === 'dashboard';

/** Not dashboards (S45): including `gateway run -p dashboard`, whose profile is merely named so. */
const NOT_DASHBOARD: readonly (readonly string[])[] = [
  [],
  ['gateway', 'run'],
  ['/init', WRAPPER, 'gateway', 'run'],
  [...RC_INIT, WRAPPER, 'gateway', 'run'],
  ['chat'],
  ['gateway', 'run', '-p', 'dashboard'],
  ['/init', WRAPPER, 'gateway', 'run', '-p', 'dashboard'],
  ['-p', 'dashboard', 'gateway', 'run'],
  ['serve'],
  ['/init', WRAPPER],
  ['sh', '-c', 'dashboard'],
];

for (const argv of DASHBOARD_SHAPES) {
  test(`a dashboard container is recognised from argv ${JSON.stringify(argv)}`, (t) => {
    t.true(isDashboardArgv(argv));
    t.false(wantsLegacySeed(argv, {}), 'a dashboard is never a legacy gateway run');
  });
}

for (const argv of NOT_DASHBOARD) {
  test(`argv ${JSON.stringify(argv)} is not a dashboard container`, (t) => {
    t.false(isDashboardArgv(argv));
  });
}

const role = test.macro({
  exec(t, flag: 'gateway' | 'dashboard' | 'none' | undefined, argv: string[], expected: string) {
    const d = decideRole(flag, argv);
    t.is(d.kind === 'gateway' ? 'gateway' : `skip ${d.role}`, expected);
    if (d.kind === 'skip') t.is(d.message, skipLine(d.role));
  },
  title: (_, flag, argv: string[], expected: string) => `role ${String(flag)} with argv ${JSON.stringify(argv)} is ${expected}`,
});
test(role, undefined, [], 'gateway');
test(role, undefined, ['/init', 'hermes', 'gateway', 'run'], 'gateway');
test(role, undefined, ['/init', 'hermes', 'gateway', 'run', '-p', 'dashboard'], 'gateway');
test(role, undefined, ['/init', 'hermes', 'dashboard'], 'skip dashboard');
test(role, undefined, ['hermes', 'desktop'], 'skip desktop');
test(role, 'gateway', ['/init', 'hermes', 'dashboard'], 'gateway');
test(role, 'none', ['/init', 'hermes', 'gateway', 'run'], 'skip none');
test(role, 'dashboard', [], 'skip dashboard');

test('every non-gateway command is recognised behind any wrapper', (t) => {
  for (const c of NON_GATEWAY_COMMANDS) t.is(nonGatewayCommand(['/init', '/x/main-wrapper.sh', 'hermes', c, '--flag']), c);
});

test('the skip lines say why nothing is registered; the dashboard’s is upstream’s', (t) => {
  t.is(skipLine('dashboard'), 'reconcile: skipping (dashboard container \u2014 does not need per-profile gateways)');
  t.is(skipLine('none'), 'reconcile: skipping (role none \u2014 this container registers and removes no gateways)');
});

const multiplex = test.macro({
  exec(t, env: string | undefined, config: ConfigRead, expected: boolean) {
    t.is(decideMultiplex(env === undefined ? {} : { multiplex: env }, config, '/opt/data').multiplex, expected);
  },
  title: (_, env, config: ConfigRead, expected: boolean) =>
    `multiplex with env ${JSON.stringify(env)} and config ${JSON.stringify(config)} is ${expected ? 'on' : 'off'}`,
});
const parsed = (doc: unknown): ConfigRead => ({ kind: 'parsed', doc });
test(multiplex, undefined, { kind: 'missing' }, false);
test(multiplex, '1', { kind: 'missing' }, true);
test(multiplex, 'no', parsed({ multiplex_profiles: true }), false);
test(multiplex, '', parsed({ multiplex_profiles: true }), true);
test(multiplex, undefined, parsed({ multiplex_profiles: 'yes' }), true);
test(multiplex, undefined, parsed({ multiplex_profiles: 1 }), true);
test(multiplex, undefined, parsed({ gateway: { multiplex_profiles: true } }), true);
test(multiplex, undefined, parsed({ multiplex_profiles: false, gateway: { multiplex_profiles: true } }), false);
test(multiplex, undefined, parsed(['multiplex_profiles']), false);
test(multiplex, undefined, parsed(null), false);
// `<<` merge keys, as PyYAML applies them: the map's own key first, then each merged map in order.
test(multiplex, undefined, parsed({ gateway: { '<<': { multiplex_profiles: true } } }), true);
test(multiplex, undefined, parsed({ '<<': [{ other: 1 }, { multiplex_profiles: true }, { multiplex_profiles: false }] }), true);
test(multiplex, undefined, parsed({ '<<': { multiplex_profiles: true }, multiplex_profiles: false }), false);
test(multiplex, undefined, parsed({ '<<': { gateway: { multiplex_profiles: true } } }), true);
test(multiplex, undefined, parsed({ gateway: { '<<': { '<<': { multiplex_profiles: true } } } }), true);
test('a merge key that names its own map (a cycle) ends the lookup', (t) => {
  const cycle: Record<string, unknown> = {};
  cycle['<<'] = cycle;
  t.false(decideMultiplex({}, parsed(cycle), '/opt/data').multiplex);
});

test('a broken config.yaml is reported, even when the environment decides', (t) => {
  const broken: ConfigRead = { kind: 'unreadable', problem: 'is not valid YAML (line 3)' };
  t.deepEqual(decideMultiplex({}, broken, '/opt/data'), {
    multiplex: false,
    notice:
      '/opt/data/config.yaml is not valid YAML (line 3); multiplex_profiles ignored: multiplexing is off until config.yaml can be read and parses',
  });
  t.deepEqual(decideMultiplex({ multiplex: 'true' }, broken, '/h'), {
    multiplex: true,
    notice: '/h/config.yaml is not valid YAML (line 3); multiplex_profiles ignored: GATEWAY_MULTIPLEX_PROFILES decides',
  });
});

test('the environment overrides config.yaml whenever it is set (property)', (t) => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.boolean(), (env, fromConfig) => {
      return decideMultiplex({ multiplex: env }, parsed({ multiplex_profiles: fromConfig }), '/h').multiplex === isTruthy(env);
    }),
  );
  t.pass();
});

test('a legacy `gateway run` wants the root seeded unless it asked not to be supervised', (t) => {
  t.true(wantsLegacySeed(['/init', 'hermes', 'gateway', 'run'], {}));
  t.false(wantsLegacySeed(['/init', 'hermes', 'gateway', 'run', '--no-supervise'], {}));
  t.false(wantsLegacySeed(['gateway', 'run'], { noSupervise: 'yes' }));
  t.true(wantsLegacySeed(['gateway', 'run'], { noSupervise: 'no' }));
  t.false(wantsLegacySeed(['gateway', 'status'], {}));
  t.false(wantsLegacySeed([], {}));
});

const LEGACY: readonly [readonly string[], NodeJS.ProcessEnv, boolean][] = [
  [['gateway', 'run'], {}, true],
  [['/init', WRAPPER, 'gateway', 'run'], {}, true],
  [[...RC_INIT, WRAPPER, 'gateway', 'run'], {}, true],
  [['hermes', 'gateway', 'run', '--replace'], {}, true],
  [['gateway', 'run', '-p', 'x'], {}, true],
  [['-p', 'x', 'gateway', 'run'], {}, false],
  [['gateway', 'run', '--no-supervise'], {}, false],
  [['/init', WRAPPER, 'gateway', 'run', '-v', '--no-supervise'], {}, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: '1' }, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'TRUE' }, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'Yes' }, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'on' }, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: '0' }, true],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: '' }, true],
  [['gateway', 'start'], {}, false],
  [['gateway'], {}, false],
  [[], {}, false],
];

for (const [argv, env, expected] of LEGACY) {
  test(`legacy seed is ${expected ? 'wanted' : 'not wanted'} for ${JSON.stringify(argv)} env ${JSON.stringify(env)}`, (t) => {
    t.is(wantsLegacySeed(argv, hostEnv(env)), expected);
  });
}

const WHERE = { hermesHome: '/opt/data', service: 'gateway-default' };
const absent: ObservedHome = { ...home(), rootStateEntry: { kind: 'absent' } };

function facts(over: Partial<HostFacts>): HostFacts {
  return { ...HOST, ...over };
}

test('a legacy container without a state file seeds the migrated state, byte-compatible with Python', (t) => {
  const host = facts({ argv: ['gateway', 'run'], nowMs: 1_700_000_000_999 });
  t.deepEqual(decideSeed(host, absent, WHERE), {
    seed: {
      service: 'gateway-default',
      path: '/opt/data/gateway_state.json',
      content:
        '{"gateway_state": "running", "desired_state": "running", "timestamp": 1700000000, "migrated_from": "legacy-container-cmd"}\n',
      reason: 'legacy gateway run container without a state file',
    },
  });
});

test('the bootstrap state seeds exactly running', (t) => {
  const { seed } = decideSeed(facts({ env: { bootstrapState: 'running' } }), absent, WHERE);
  t.is(seed?.content, '{"gateway_state":"running"}\n');
  t.is(seed?.reason, 'first boot with HERMES_GATEWAY_BOOTSTRAP_STATE=running');
});

test('no seed when a state file exists, nothing asks for one, or the bootstrap value is not running', (t) => {
  t.deepEqual(decideSeed(facts({ argv: ['gateway', 'run'] }), { ...home(), rootStateEntry: { kind: 'file' } }, WHERE), {});
  t.deepEqual(decideSeed(facts({ argv: ['gateway', 'run'] }), home(), WHERE), {}, 'unknown entry: assumed present');
  t.deepEqual(decideSeed(facts({}), absent, WHERE), {});
  t.deepEqual(decideSeed(facts({ env: { bootstrapState: 'stopped' } }), absent, WHERE), {});
});

test('a path taken by something that is not a file is reported, not seeded', (t) => {
  const blocked: ObservedHome = { ...home(), rootStateEntry: { kind: 'blocked', reason: 'is a directory' } };
  t.deepEqual(decideSeed(facts({ argv: ['gateway', 'run'] }), blocked, WHERE), {
    notice: 'legacy gateway run container: /opt/data/gateway_state.json is a directory; not seeding it',
  });
  t.deepEqual(decideSeed(facts({ env: { bootstrapState: 'running' } }), blocked, WHERE), {
    notice: 'HERMES_GATEWAY_BOOTSTRAP_STATE=running: /opt/data/gateway_state.json is a directory; not seeding it',
  });
});

test('a config user that /etc/passwd gives another uid than the config is warned of, naming both and what to set', (t) => {
  const notice = accountNotice({ user: 'app', uid: 10000 }, { uid: 1001 });
  t.regex(notice ?? '', /^config: user "app" is uid 1001 in \/etc\/passwd, not the config's uid 10000: /);
  t.regex(notice ?? '', /set "uid" and "gid" in the config \(--config\) to app's ids, or "user" to the account of uid 10000$/);
});

test('a config user whose passwd uid is the config uid, or who has no passwd entry, is not warned of', (t) => {
  t.is(accountNotice({ user: 'app', uid: 1001 }, { uid: 1001 }), undefined);
  t.is(accountNotice({ user: 'hermes', uid: 10000 }, undefined), undefined);
  // root may write whatever boot makes.
  t.is(accountNotice({ user: 'root', uid: 10000 }, { uid: 0 }), undefined);
});

test("gateways that would run on another volume than the pass's are warned of, naming where from and what to set", (t) => {
  const unset = homeNotice('/opt/data', {}, '/srv/hermes');
  t.regex(unset ?? '', /^the config's home is \/opt\/data, not \/srv\/hermes, the volume this pass reads, and HERMES_HOME is not set: /);
  t.regex(unset ?? '', /set "home" in the config \(--config\) to \/srv\/hermes$/);
  const overridden = homeNotice('/srv/hermes', { hermesHome: '/opt/data' }, '/srv/hermes');
  t.regex(
    overridden ?? '',
    /^HERMES_HOME in this environment is \/opt\/data, not \/srv\/hermes \(--hermes-home\), the volume this pass reads: .*set HERMES_HOME to \/srv\/hermes rather than --hermes-home$/,
  );
});

test("gateways on the pass's own volume, by HERMES_HOME or the config's home, are not warned of", (t) => {
  t.is(homeNotice('/opt/data', {}, '/opt/data'), undefined);
  t.is(homeNotice('/opt/data/', {}, '/opt/data'), undefined);
  t.is(homeNotice('/opt//data/.', {}, '/opt/data'), undefined);
  t.is(homeNotice('/elsewhere', { hermesHome: '/srv/hermes' }, '/srv/hermes'), undefined);
  t.is(homeNotice('/elsewhere', {}, undefined), undefined);
});
