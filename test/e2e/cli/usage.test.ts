/**
 * The command line as a new user meets it: help per command, --version, and every mistake (no
 * command, a typo, a missing value, a bad --ready-fd) reported as real lines — the error, then
 * the commands or a pointer to the command's help — with exit 100. Internal errors with a multi-line message print as real lines too.
 */
import test from 'ava';
import { COMMANDS, flagsOf } from '../../../src/cli/help.js';
import { createLogger } from '../../../src/cli/logger.js';
import { reportError } from '../../../src/cli/report.js';
import { bootArgs, runCli, sandbox } from '../../helpers/cli.js';

/** No line may carry an escaped newline: every line a person reads is a real line. */
function assertRealLines(t: import('ava').ExecutionContext, text: string): void {
  t.false(text.includes('\\n'), `no literal \\n in:\n${text}`);
}

test('no arguments prints the usage to stderr and exits 100', async (t) => {
  const r = await runCli([]);
  t.is(r.code, 100);
  t.is(r.stdout, '');
  const lines = r.stderr.split('\n');
  t.is(lines[0], 'reconcile-gateways: error: no command given');
  t.true(lines.includes('usage: reconcile-gateways <command> [options]'));
  for (const c of COMMANDS)
    t.true(
      lines.some((l) => l.startsWith(`  ${c} `)),
      `the usage lists ${c}`,
    );
  assertRealLines(t, r.stderr);
});

test('--help and help print the usage to stdout and exit 0', async (t) => {
  for (const argv of [['--help'], ['-h'], ['help']]) {
    const r = await runCli(argv);
    t.is(r.code, 0, argv.join(' '));
    t.true(r.stdout.startsWith('usage: reconcile-gateways <command> [options]\n'));
    t.is(r.stderr, '');
  }
});

test('--version prints the package version and exits 0', async (t) => {
  const r = await runCli(['--version']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^reconcile-gateways \d+\.\d+\.\d+\S*\n$/);
});

for (const command of COMMANDS) {
  test(`${command} --help lists each of its flags on a line of its own and exits 0`, async (t) => {
    const r = await runCli([command, '--help']);
    t.is(r.code, 0);
    t.is(r.stderr, '');
    const lines = r.stdout.split('\n');
    t.is(lines[0], `usage: reconcile-gateways ${command} [options]`);
    for (const flag of flagsOf(command)) {
      t.is(
        lines.filter((l) => l.trimStart().startsWith(`--${flag.name} `) || l.trim() === `--${flag.name}`).length,
        1,
        `--${flag.name} has one line`,
      );
    }
    for (const l of lines) t.true(l.length <= 100, `fits 100 columns: ${l}`);
  });
}

const usageError = test.macro({
  async exec(t, argv: readonly string[], first: string) {
    const r = await runCli(argv);
    t.is(r.code, 100);
    t.is(r.stdout, '');
    const lines = r.stderr.split('\n');
    t.is(lines[0], `reconcile-gateways: error: ${first}`);
    const command = COMMANDS.find((c) => c === argv[0]);
    if (command === undefined) {
      t.true(
        lines.some((l) => l.startsWith('usage: reconcile-gateways ')),
        'the commands follow an error without one',
      );
    } else {
      // The error stays in sight: one line points at the command's help, which is not printed.
      t.deepEqual(lines.slice(1), [`Run 'reconcile-gateways ${command} --help' for its options.`, '']);
    }
    assertRealLines(t, r.stderr);
  },
  title: (title = '') => `usage error: ${title} prints the error, then where to read more, and exits 100`,
});

test('an unknown command', usageError, ['stauts'], 'unknown command "stauts" (did you mean status?)');
test('an option before the command', usageError, ['--scandir', '/x', 'boot'], 'the command comes first, before --scandir');
test('a mistyped flag', usageError, ['boot', '--dif'], 'boot: unknown option --dif (did you mean --diff?)');
test('an unknown flag', usageError, ['boot', '--bogus'], 'boot: unknown option --bogus');
test('a flag of another command', usageError, ['status', '--diff'], 'status: --diff is an option of boot and sync, not of status');
test('a missing value', usageError, ['boot', '--scandir'], 'boot: --scandir needs a value: --scandir DIR');
test(
  'a flag taken as a value',
  usageError,
  ['boot', '--scandir', '--diff'],
  'boot: --scandir needs a value, got the option --diff (write --scandir=--diff if you mean it)',
);
test('a stray argument', usageError, ['sync', 'now'], 'sync: unexpected argument "now"');
test(
  'a value out of range',
  usageError,
  ['watch', '--interval', '0'],
  'watch: --interval must be a number between 0.05 and 86400 (got "0")',
);
test('a bad choice', usageError, ['boot', '--output', 'xml'], 'boot: --output must be one of text, json (got "xml")');

test('--ready-fd on a descriptor that is not open is a usage error', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const r = await runCli(['watch', '--hermes-home', box.home, '--scandir', box.scandir, '--container-argv', '[]', '--ready-fd', '9']);
  t.is(r.code, 100, r.stderr);
  t.regex(
    r.stderr.split('\n')[0] ?? '',
    /^reconcile-gateways: error: watch: --ready-fd 9 is not a descriptor s6 opened for writing \(it is one of Node's own /,
  );
  t.is(r.stdout, '', 'no pass ran');
});

test('a usage error with --output json prints the error document on stdout and the pointer to help on stderr', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const r = await runCli([...bootArgs(box.home, box.scandir), '--output', 'json', '--wiat']);
  t.is(r.code, 100);
  t.like(JSON.parse(r.stdout), { error: { code: 'usage', exitCode: 100, message: 'boot: unknown option --wiat (did you mean --wait?)' } });
  t.true(r.stderr.endsWith("\nRun 'reconcile-gateways boot --help' for its options.\n"), r.stderr);
});

test('an internal error with a multi-line message prints as real lines, continuations indented', (t) => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } };
  const logged: string[] = [];
  const logger = { ...createLogger('info', 'text'), error: (m: string) => logged.push(m) };
  const code = reportError(new Error("Cannot find module 'x'\nRequire stack:\n- /a/b.js"), { json: false, logFormat: 'text' }, io, logger);
  t.is(code, 111);
  t.deepEqual(logged, ["Cannot find module 'x'"]);
  t.deepEqual(err, ['  Require stack:\n', '  - /a/b.js\n']);
});

test('with --log-format json a usage error is one JSON log record on stderr, without the usage text', async (t) => {
  for (const argv of [
    ['sync', '--log-format', 'json', '--bogus'],
    ['sync', '--bogus', '--log-format=json'],
  ]) {
    const r = await runCli(argv);
    t.is(r.code, 100, argv.join(' '));
    const lines = r.stderr.trimEnd().split('\n');
    t.is(lines.length, 1, r.stderr);
    t.like(JSON.parse(lines[0] ?? ''), { level: 'error', message: 'sync: unknown option --bogus' });
  }
});
