import test from 'ava';
import { type Args, ArgumentError, type Parsed, parseCliArgs } from '../../../src/cli/args.js';
import { DEFAULT_STATUS_FILE } from '../../../src/cli/help.js';
import { UsageError } from '../../../src/errors.js';

function run(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Args {
  const parsed: Parsed = parseCliArgs(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed.args;
}

/** The ArgumentError `argv` is refused with. */
function refusal(t: import('ava').ExecutionContext, argv: readonly string[]): ArgumentError {
  const err = t.throws(() => parseCliArgs(argv, {}), { instanceOf: ArgumentError });
  if (err === undefined) throw new Error('no error');
  t.true(err instanceof UsageError, 'an argument mistake is a usage error (exit 100)');
  return err;
}

const refused = test.macro({
  exec(t, argv: readonly string[], message: string) {
    t.is(refusal(t, argv).message, message);
  },
  title: (_, argv: readonly string[]) => `refuses ${JSON.stringify(argv.join(' '))} naming what is wrong`,
});

test('a string flag takes its value as the next word or after =', (t) => {
  t.is(run(['sync', '--scandir', '/srv/s']).scandir, '/srv/s');
  t.is(run(['sync', '--scandir=/srv/s']).scandir, '/srv/s');
  t.is(run(['sync', '--hermes-home=-1']).hermesHome, '-1');
});

test('a boolean flag is true when given, false otherwise', (t) => {
  const a = run(['sync', '--diff', '--wait', '--allow-empty', '--restart-changed', '--heal']);
  t.deepEqual([a.diff, a.wait, a.allowEmpty, a.restartChanged, a.heal], [true, true, true, true, true]);
  const b = run(['sync']);
  t.deepEqual([b.diff, b.wait, b.allowEmpty, b.restartChanged, b.heal], [false, false, false, false, false]);
});

test('sync and watch prune unless --no-prune; boot never prunes', (t) => {
  t.true(run(['sync']).prune);
  t.false(run(['sync', '--no-prune']).prune);
  t.true(run(['watch']).prune);
  t.false(run(['boot']).prune);
});

test('defaults come from the environment, then built-ins; flags win over both', (t) => {
  const env = {
    HERMES_HOME: '/data',
    S6_PROFILE_GATEWAY_SCANDIR: '/scan',
    RECONCILE_GATEWAYS_CONFIG: '/etc/rg.json',
    RECONCILE_GATEWAYS_LOCK_FILE: '/run/rg.lock',
    RECONCILE_GATEWAYS_ROLE: 'dashboard',
    RECONCILE_GATEWAYS_STATUS_FILE: '/run/rg.json',
  };
  const a = run(['watch'], env);
  t.deepEqual(
    [a.hermesHome, a.scandir, a.config, a.lockFile, a.role, a.statusFile],
    ['/data', '/scan', '/etc/rg.json', '/run/rg.lock', 'dashboard', '/run/rg.json'],
  );
  const b = run(['watch', '--hermes-home', '/h', '--role', 'gateway'], env);
  t.is(b.hermesHome, '/h');
  t.is(b.role, 'gateway');
  const c = run(['watch'], { HERMES_HOME: '' });
  t.deepEqual(
    [c.hermesHome, c.scandir, c.config, c.lockFile, c.role, c.statusFile],
    ['/opt/data', '/run/service', undefined, undefined, undefined, DEFAULT_STATUS_FILE],
  );
  t.deepEqual([c.output, c.logFormat, c.logLevel, c.interval, c.readyFd], ['text', 'text', 'info', 60, undefined]);
  t.deepEqual(c.drift, { graceSeconds: 30, crashRestarts: 5, crashWindowSeconds: 600 });
});

test('numbers are parsed within their ranges', (t) => {
  const a = run(['watch', '--interval', '0.5', '--ready-fd', '3', '--drift-grace', '0', '--crash-restarts', '2', '--crash-window', '90']);
  t.is(a.interval, 0.5);
  t.is(a.readyFd, 3);
  t.deepEqual(a.drift, { graceSeconds: 0, crashRestarts: 2, crashWindowSeconds: 90 });
});

test('sync takes the drift flags as watch does, and watch takes --heal as sync does', (t) => {
  t.deepEqual(run(['sync', '--drift-grace', '0.5', '--crash-restarts', '2', '--crash-window', '60']).drift, {
    graceSeconds: 0.5,
    crashRestarts: 2,
    crashWindowSeconds: 60,
  });
  t.true(run(['watch', '--heal']).heal);
});

test('--metrics-listen takes HOST:PORT, [IPv6]:PORT and :PORT', (t) => {
  t.deepEqual(run(['watch', '--metrics-listen', '127.0.0.1:9464']).metricsListen, { host: '127.0.0.1', port: 9464 });
  t.deepEqual(run(['watch', '--metrics-listen', '[::1]:0']).metricsListen, { host: '::1', port: 0 });
  t.deepEqual(run(['watch', '--metrics-listen', ':9464']).metricsListen, { host: '0.0.0.0', port: 9464 });
  t.deepEqual(run(['watch', '--metrics-listen', 'localhost:80']).metricsListen, { host: 'localhost', port: 80 });
});

test('--container-argv is a JSON array of strings', (t) => {
  t.deepEqual(run(['boot', '--container-argv', '["/init","hermes","dashboard"]']).containerArgv, ['/init', 'hermes', 'dashboard']);
  t.is(run(['boot']).containerArgv, undefined);
});

test('help and version are recognised in every position they are documented in', (t) => {
  t.deepEqual(parseCliArgs(['--help'], {}), { kind: 'help' });
  t.deepEqual(parseCliArgs(['-h'], {}), { kind: 'help' });
  t.deepEqual(parseCliArgs(['help', 'watch'], {}), { kind: 'help', command: 'watch' });
  t.deepEqual(parseCliArgs(['help', 'nonsense'], {}), { kind: 'help' });
  t.deepEqual(parseCliArgs(['sync', '--help'], {}), { kind: 'help', command: 'sync' });
  t.deepEqual(parseCliArgs(['status', '-h'], {}), { kind: 'help', command: 'status' });
  t.deepEqual(parseCliArgs(['watch', '--interval', 'x', '--help'], {}), { kind: 'help', command: 'watch' });
  for (const v of ['--version', '-V', 'version']) t.deepEqual(parseCliArgs([v], {}), { kind: 'version' });
  t.deepEqual(parseCliArgs(['--', '--version'], {}), { kind: 'version' }, "a launcher's leading -- (npx . -- --version)");
  for (const v of ['--version', '-V']) t.deepEqual(parseCliArgs(['sync', '--no-prune', v], {}), { kind: 'version' }, `sync ${v}`);
});

test('a mistyped flag suggests the flag meant and names the command', (t) => {
  const err = refusal(t, ['sync', '--scnadir', '/x']);
  t.is(err.message, 'sync: unknown option --scnadir (did you mean --scandir?)');
  t.is(err.command, 'sync');
  t.is(refusal(t, ['watch', '--intervall=5']).message, 'watch: unknown option --intervall (did you mean --interval?)');
  t.is(
    refusal(t, ['boot', '--no-prnue']).message,
    'boot: unknown option --no-prnue (did you mean --no-prune? it is an option of sync and watch, not of boot)',
  );
  t.is(refusal(t, ['boot', '--frobnicate']).message, 'boot: unknown option --frobnicate');
});

test('a flag of another command names the commands it belongs to, rather than a near flag of this one', (t) => {
  t.is(refusal(t, ['boot', '--metrics-listen', ':1']).message, 'boot: --metrics-listen is an option of watch, not of boot');
  t.is(refusal(t, ['boot', '--heal']).message, 'boot: --heal is an option of sync and watch, not of boot');
  t.is(refusal(t, ['status', '--diff']).message, 'status: --diff is an option of boot and sync, not of status');
  t.is(refusal(t, ['sync', '--interval=5']).message, 'sync: --interval is an option of watch, not of sync');
  t.is(
    refusal(t, ['status', '--dif']).message,
    'status: unknown option --dif (did you mean --diff? it is an option of boot and sync, not of status)',
  );
  t.is(
    refusal(t, ['sync', '--stauts-file', 'x']).message,
    'sync: unknown option --stauts-file (did you mean --status-file? it is an option of watch and status, not of sync)',
  );
});

test('a mistyped command suggests the command meant', (t) => {
  const err = refusal(t, ['snyc']);
  t.is(err.message, 'unknown command "snyc" (did you mean sync?)');
  t.is(err.command, undefined);
  t.is(refusal(t, ['frobnicate']).message, 'unknown command "frobnicate"');
});

test(refused, [], 'no command given');
test(refused, ['--scandir', '/x', 'sync'], 'the command comes first, before --scandir');
test(refused, ['--heal', 'sync'], 'the command comes first, before --heal');
test(refused, ['watch', '--interval', '-5'], 'watch: --interval must be a number between 0.05 and 86400 (got "-5")');
test(refused, ['--versoin'], 'unknown option --versoin (did you mean --version?)');
test(refused, ['-v'], 'unknown option -v (did you mean --version?)');
test(refused, ['sync', '--versio'], 'sync: unknown option --versio (did you mean --version?)');
test(refused, ['status', '--verison'], 'status: unknown option --verison (did you mean --version?)');
test(
  refused,
  ['--verbose', 'sync'],
  'unknown option --verbose (did you mean --log-level debug, after the command?); the command comes first, then its options',
);
test(refused, ['--frobnicate', 'sync'], 'unknown option --frobnicate; the command comes first, then its options');
test(refused, ['status', '--json'], 'status: unknown option --json (did you mean --output json?)');
test(refused, ['sync', '--dry-run'], 'sync: unknown option --dry-run (did you mean --diff?)');
test(refused, ['status', '--dry-run'], 'status: unknown option --dry-run');
test(refused, ['status', '--constructor'], 'status: unknown option --constructor');
test(refused, ['sync', '--toString'], 'sync: unknown option --toString');
test(refused, ['--dry-run', 'status'], 'unknown option --dry-run; the command comes first, then its options');
test(
  refused,
  ['--dry-run', 'sync'],
  'unknown option --dry-run (did you mean --diff, after the command?); the command comes first, then its options',
);
for (const v of ['0x10', '30.', '1e3']) {
  const said = `sync: --drift-grace must be a number between 0 and 86400, written in plain decimals (30 or 0.5, not 1e3, 0x10 or 30.) (got "${v}")`;
  test(refused, ['sync', '--drift-grace', v], said);
}
test(refused, ['sync', '--drift-grace', ' '], 'sync: --drift-grace must be a number between 0 and 86400 (got " ")');
test(refused, ['sync', '--drift-grace', '1e9'], 'sync: --drift-grace must be a number between 0 and 86400 (got "1e9")');
test(refused, ['sync', '--restart'], 'sync: unknown option --restart (did you mean --restart-changed?)');
test(refused, ['sync', '--re'], 'sync: unknown option --re (did you mean --role?)');
test(refused, ['sync', '--prune'], 'sync: unknown option --prune (sync does that by default; --no-prune turns it off)');
test(refused, ['status', '--legend'], 'status: unknown option --legend (status does that by default; --no-legend turns it off)');
test(refused, ['status', '-o', 'json'], 'status: unknown option -o (did you mean --output?)');
test(refused, ['sync', '-n'], 'sync: unknown option -n (did you mean --diff?)');
test(refused, ['sync', '-d'], 'sync: unknown option -d (did you mean --diff?)');
test(refused, ['sync', '-v'], 'sync: unknown option -v (did you mean --log-level debug?)');
test(refused, ['status', '--format', 'json'], 'status: unknown option --format (did you mean --output?)');
for (const flag of ['--no-color', '--no-colour', '--color']) {
  test(
    refused,
    ['sync', flag],
    `sync: unknown option ${flag} (colour is automatic: on on a terminal, off through a pipe or with NO_COLOR=1 in the environment)`,
  );
}
test(refused, ['sync', 'x\u001b[31m'], 'sync: unexpected argument "x\u001b[31m"');
test(
  refused,
  ['watch', '--ready-fd', '3.0'],
  'watch: --ready-fd must be an integer between 0 and 1024, written in digits (10, not 1e1, 0xa or 10.0) (got "3.0")',
);

test('seconds are plain decimals, a leading dot and spaces around included', (t) => {
  for (const [v, n] of [
    ['.5', 0.5],
    ['0.25', 0.25],
    ['45', 45],
    [' 5 ', 5],
  ] as const) {
    t.is(run(['sync', '--drift-grace', v]).drift.graceSeconds, n, v);
  }
});
test(refused, ['--version=1'], '--version takes no value (got "1")');
test(refused, ['--help=a=b'], '--help takes no value (got "a=b")');
test(refused, ['sync', '--version=1'], 'sync: --version takes no value (got "1")');
test(refused, ['--hepl=x'], 'unknown option --hepl (did you mean --help?)');
test(refused, ['sync', 'extra'], 'sync: unexpected argument "extra"');
test(refused, ['sync', '--', '--diff'], 'sync: takes no arguments after --');
test(refused, ['sync', '--diff=yes'], 'sync: --diff takes no value (got "yes")');
test(refused, ['sync', '--scandir'], 'sync: --scandir needs a value: --scandir DIR');
test(
  refused,
  ['sync', '--scandir', '--diff'],
  'sync: --scandir needs a value, got the option --diff (write --scandir=--diff if you mean it)',
);
test(refused, ['sync', '--scandir='], 'sync: --scandir must not be empty');
test(refused, ['sync', '--output', 'yaml'], 'sync: --output must be one of text, json (got "yaml")');
test(refused, ['sync', '--log-level', 'trace'], 'sync: --log-level must be one of error, warn, info, debug (got "trace")');
test(refused, ['sync', '--role', 'worker'], 'sync: --role must be one of gateway, dashboard, none (got "worker")');
test(refused, ['watch', '--interval', '0'], 'watch: --interval must be a number between 0.05 and 86400 (got "0")');
test(refused, ['watch', '--interval', ' '], 'watch: --interval must be a number between 0.05 and 86400 (got " ")');
test(refused, ['watch', '--ready-fd', '3.5'], 'watch: --ready-fd must be an integer between 0 and 1024 (got "3.5")');
test(refused, ['sync', '--crash-restarts', '0'], 'sync: --crash-restarts must be an integer between 1 and 99 (got "0")');
const HOST_PORT = 'must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464';
const PORT_RANGE = ': the port must be 0 to 65535, 0 for any free one';
for (const [value, rule] of [
  ['9464', ` ${HOST_PORT}`],
  [':70000', PORT_RANGE],
  [':1234567', PORT_RANGE],
  ['127.0.0.1:70000', PORT_RANGE],
  ['localhost', ` ${HOST_PORT}`],
  ['127.0.0.1:', ` ${HOST_PORT}`],
] as const) {
  test(refused, ['watch', '--metrics-listen', value], `watch: --metrics-listen${rule} (got "${value}")`);
}
test(refused, ['sync', '--metrics-listen', '127.0.0.1:1'], 'sync: --metrics-listen is an option of watch, not of sync');
test(refused, ['status', '--heal'], 'status: --heal is an option of sync and watch, not of status');
test(
  refused,
  ['boot', '--container-argv', '[1]'],
  `boot: --container-argv must be a JSON array of strings, e.g. '["hermes","gateway"]' (got "[1]")`,
);
test(
  refused,
  ['boot', '--container-argv', 'hermes gateway'],
  `boot: --container-argv must be a JSON array of strings, e.g. '["hermes","gateway"]' (got "hermes gateway")`,
);

test('an invalid environment default is a usage error naming the variable; the flag overrides it', (t) => {
  const err = t.throws(() => parseCliArgs(['sync'], { RECONCILE_GATEWAYS_ROLE: 'worker' }), { instanceOf: ArgumentError });
  t.is(err?.message, 'sync: RECONCILE_GATEWAYS_ROLE must be one of gateway, dashboard, none (got "worker")');
  t.is(err?.command, 'sync');
  const parsed = parseCliArgs(['sync', '--role', 'gateway'], { RECONCILE_GATEWAYS_ROLE: 'worker' });
  t.is(parsed.kind === 'run' ? parsed.args.role : undefined, 'gateway');
});
