/**
 * The dispatcher in-process: help and version, exit codes of mistakes, and each command reached.
 * (The error record itself goes to this process's stderr through winston; main.test.ts reads it.)
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { EXIT, runCli } from '../../../src/cli/run.js';
import { commandHelp, packageVersion, usageText } from '../../../src/cli/help.js';
import { captureIo, world } from './support.js';

test('--version prints the package version', async (t) => {
  const io = captureIo();
  t.is(await runCli(['--version'], io), EXIT.ok);
  t.is(io.out(), `reconcile-gateways ${packageVersion()}\n`);
});

test('help prints the usage, or a command’s help, on stdout and exits 0', async (t) => {
  for (const [argv, text] of [
    [['--help'], usageText()],
    [['help', 'sync'], commandHelp('sync')],
    [['watch', '--help'], commandHelp('watch')],
  ] as const) {
    const io = captureIo();
    t.is(await runCli(argv, io), EXIT.ok);
    t.is(io.out(), text);
    t.is(io.err(), '');
  }
});

test('a mistyped flag exits 100 and points at the command’s help; nothing is run', async (t) => {
  const w = await world(t, {}, { scandir: 'missing' });
  const io = captureIo();
  t.is(await runCli(['sync', '--scandir', w.scandir, '--dif'], io), EXIT.usage);
  t.is(io.out(), '');
  t.is(io.err(), "Run 'reconcile-gateways sync --help' for its options.\n");
  t.false(fs.existsSync(w.scandir));
});

test('with --output json a mistake is one JSON error document on stdout', async (t) => {
  const io = captureIo();
  t.is(await runCli(['sync', '--output', 'json', '--bogus'], io), EXIT.usage);
  t.deepEqual(JSON.parse(io.out()), {
    formatVersion: '2',
    error: { code: 'usage', message: 'sync: unknown option --bogus', exitCode: 100 },
  });
});

test('a missing HERMES_HOME exits 111 with its error document', async (t) => {
  const w = await world(t);
  const io = captureIo();
  const missing = path.join(w.root, 'nope');
  const code = await runCli(['sync', '--hermes-home', missing, '--scandir', w.scandir, '--output=json', '--container-argv', '[]'], io);
  t.is(code, EXIT.fatal);
  const doc = JSON.parse(io.out()) as { error: { code: string; message: string } };
  t.is(doc.error.code, 'fatal');
  t.true(doc.error.message.startsWith(`HERMES_HOME ${missing} is missing or unreadable`));
});

test('each command is dispatched to its implementation', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const base = ['--hermes-home', w.home, '--scandir', w.scandir, '--config', w.configFile, '--container-argv', '[]'];
  const boot = captureIo();
  t.is(await runCli(['boot', ...base, '--diff'], boot), EXIT.pending);
  t.true(boot.out().includes('boot_log_lines='));
  const sync = captureIo();
  t.is(await runCli(['sync', ...base], sync), EXIT.ok);
  t.true(sync.out().includes('reconcile: summary profiles=2 '));
  const status = captureIo();
  t.is(await runCli(['status', ...base, '--status-file', w.statusFile, '--output', 'json'], status), EXIT.ok);
  t.like(JSON.parse(status.out()), { formatVersion: '2', scandir: w.scandir });
});
