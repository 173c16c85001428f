import test from 'ava';
import { parseCliArgs } from '../../../src/cli/args.js';
import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS, COMMAND_FLAGS, commandHelp, docPath, flagsOf, packageVersion, usageText } from '../../../src/cli/help.js';

/** The flag names a help text lists, in order (`  --name …` at the start of a line). */
function listedFlags(help: string): string[] {
  return help
    .split('\n')
    .map((l) => /^ {2}--([a-z-]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

for (const command of COMMANDS) {
  test(`${command} --help lists exactly the flags ${command} accepts, one line each`, (t) => {
    const help = commandHelp(command);
    t.deepEqual(listedFlags(help), [...flagsOf(command).map((f) => f.name), 'version']);
    t.like(parseCliArgs([command, '--version'], {}), { kind: 'version' }, '--version is accepted after the command');
    t.like(parseCliArgs([command, '-V'], {}), { kind: 'version' }, 'and -V, as its line says');
    t.true(help.startsWith(`usage: reconcile-gateways ${command} [options]\n`));
    t.true(help.endsWith('\n'));
  });

  test(`every flag ${command} --help lists is accepted by the parser`, (t) => {
    for (const f of flagsOf(command)) {
      if (f.name === 'help') continue;
      const argv = f.type === 'boolean' ? [`--${f.name}`] : [`--${f.name}=${sampleValue(f.name)}`];
      t.notThrows(() => parseCliArgs([command, ...argv], {}), `--${f.name}`);
    }
  });

  test(`${command} --help aligns the descriptions in one column`, (t) => {
    const lines = commandHelp(command)
      .split('\n')
      .filter((l) => l.startsWith('  --'));
    const columns = new Set(lines.map((l) => /^ {2}--\S+(?: \S+)? +/.exec(l)?.[0].length));
    t.is(columns.size, 1);
  });
}

function sampleValue(flag: string): string {
  const samples: Record<string, string> = {
    output: 'json',
    'log-format': 'json',
    'log-level': 'debug',
    role: 'gateway',
    'container-argv': '["hermes","gateway","run"]',
    interval: '5',
    'ready-fd': '3',
    'drift-grace': '10',
    'crash-restarts': '3',
    'crash-window': '60',
    'metrics-listen': '127.0.0.1:9464',
  };
  return samples[flag] ?? '/tmp/x';
}

test('the usage names every command with its summary and where to read more', (t) => {
  const usage = usageText();
  for (const c of COMMANDS) t.true(usage.includes(`  ${c.padEnd(8)}${COMMAND_FLAGS[c].summary}`), c);
  t.true(usage.includes("'reconcile-gateways <command> --help'"));
});

test('boot takes no prune flags and status takes no write flags', (t) => {
  const names = (c: (typeof COMMANDS)[number]): string[] => flagsOf(c).map((f) => f.name);
  t.false(names('boot').includes('no-prune'));
  t.false(names('status').includes('diff'));
  t.true(names('watch').includes('metrics-listen'));
  t.false(names('sync').includes('metrics-listen'));
});

test('the version is read from package.json', (t) => {
  t.regex(packageVersion(), /^\d+\.\d+\.\d+/);
});

test('watch and status --help give the status file\u2019s default, under its description', (t) => {
  for (const command of ['watch', 'status'] as const) {
    const lines = commandHelp(command).split('\n');
    const at = lines.findIndex((l) => l.startsWith('  --status-file FILE '));
    t.true(lines[at]?.endsWith('(env RECONCILE_GATEWAYS_STATUS_FILE;'), lines[at]);
    t.is(lines[at + 1]?.trim(), 'default /run/reconcile-gateways/status.json)');
    t.is(lines[at + 1]?.indexOf('default'), lines[at]?.indexOf("the watcher's"), 'in the description column');
  }
});

test('help names the docs by their absolute path in a checkout or an installed package', (t) => {
  const cli = docPath('cli.md');
  t.true(path.isAbsolute(cli) && fs.existsSync(cli), cli);
  t.true(usageText().includes(`Every flag and config setting: ${cli}\n`));
  for (const command of COMMANDS) t.true(commandHelp(command).endsWith(`\nEvery flag and config setting: ${cli}\n`));
  t.is(docPath('no-such-page.md'), 'docs/no-such-page.md in the reconcile-gateways package');
});
