/**
 * The shipped form (scripts/bundle.mjs, bin/reconcile-gateways.cjs): one CommonJS file with every
 * dependency inlined, its source map beside it, and a bin that only turns on Node's compile cache.
 */
import test from 'ava';
import { loadValidators } from '../../../src/cli/validate.js';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { makeHermesHome, removeTree, tempDir } from '../../helpers/tree.js';
import { repoRoot, stopAll } from '../../helpers/s6.js';
import { runCli, sandbox } from '../../helpers/cli.js';
import { smokeAllCommands } from './smoke.js';
import { needsS6 } from '../../helpers/needs.js';

const BUNDLE = path.join(repoRoot(), 'dist', 'reconcile-gateways.cjs');
const BIN = path.join(repoRoot(), 'bin', 'reconcile-gateways.cjs');

test.after.always('stop s6', () => stopAll({ removeState: true }));

needsS6(test)('the bundle file alone, copied into an empty directory, runs boot, sync, watch and status', async (t) => {
  const dir = await tempDir('rg-alone-');
  t.teardown(() => removeTree(dir));
  const alone = path.join(dir, 'reconcile-gateways.cjs');
  await copyFile(BUNDLE, alone);
  await smokeAllCommands(t, { node: process.execPath, cli: alone });
});

test('the bundle copied alone names the docs by their place in the package, not a docs/ it happens to sit beside', async (t) => {
  const dir = await tempDir('rg-alone-docs-');
  t.teardown(() => removeTree(dir));
  await mkdir(path.join(dir, 'lib'));
  await mkdir(path.join(dir, 'docs'));
  await writeFile(path.join(dir, 'docs', 'cli.md'), 'another package\n');
  await writeFile(path.join(dir, 'package.json'), '{"name":"other"}\n');
  const alone = path.join(dir, 'lib', 'reconcile-gateways.cjs');
  await copyFile(BUNDLE, alone);
  const help = await runCli(['--help'], { main: alone });
  t.is(help.code, 0, help.stderr);
  t.true(help.stdout.includes('Every flag and config setting: docs/cli.md in the reconcile-gateways package\n'), help.stdout);
});

test('the bundle requires nothing but Node built-ins: every dependency is inlined', async (t) => {
  const source = await readFile(BUNDLE, 'utf8');
  const required = new Set([...source.matchAll(/(?<![\w$.'"])require\("([^"]+)"\)/g)].map((m) => m[1] ?? ''));
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  t.deepEqual(
    [...required].filter((m) => !builtins.has(m)),
    [],
  );
  t.false(/\bimport\(/.test(source), 'no dynamic import() left for Node to resolve at run time');
});

test('at --log-level debug an unexpected error is logged with a stack that points into src/ through the source map', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { desired_state: 'running' } } });
  // A fault no code path expects: stdout throws a plain TypeError on the first report line.
  const fault = path.join(box.root, 'fault.cjs');
  await writeFile(fault, "process.stdout.write = () => { throw new TypeError('injected stdout fault'); };\n");
  const args = ['boot', '--diff', '--hermes-home', box.home, '--scandir', box.scandir, '--container-argv', '[]'];
  const env = { NODE_OPTIONS: `--require ${fault}` };
  const debug = await runCli([...args, '--log-level', 'debug'], { env });
  t.is(debug.code, 111);
  t.regex(debug.stderr, /injected stdout fault/);
  // The logger writes the stack as one line, its newlines escaped (a log line is never forged).
  const frames = debug.stderr.split(/\\n|\n/).filter((l) => /^\s+at /.test(l));
  t.true(
    frames.some((l) => l.includes(`${path.join(repoRoot(), 'src', 'cli')}${path.sep}`) && /\.ts:\d+:\d+\)?$/.test(l)),
    frames.join('\n'),
  );
  t.false(
    frames.some((l) => l.includes('reconcile-gateways.cjs')),
    frames.join('\n'),
  );
  const quiet = await runCli(args, { env });
  t.is(quiet.code, 111);
  t.false(quiet.stderr.includes('    at '), 'no stack below debug');
});

test('the start-up and shipping code (bin, bundling script) stays under 150 lines, with no loader besides', async (t) => {
  const files = [BIN, path.join(repoRoot(), 'scripts', 'bundle.mjs')];
  const lines = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).reduce((n, text) => n + text.split('\n').length - 1, 0);
  t.true(lines <= 150, `${lines} lines`);
  const bin = await readFile(BIN, 'utf8');
  t.regex(bin, /enableCompileCache\?\.\(/, 'the bin turns on the compile cache where Node has it');
  t.notRegex(bin, /\bvm\b|setFlagsFromString|cachedData/, 'no vm.Script loader, code cache or V8 flag switching');
});

test('the bin says how to build when run from a checkout that was never built', async (t) => {
  const checkout = await tempDir('rg-unbuilt-');
  t.teardown(() => removeTree(checkout));
  await mkdir(path.join(checkout, 'bin'));
  await copyFile(BIN, path.join(checkout, 'bin', 'reconcile-gateways.cjs'));
  const r = await runCli(['--help'], { main: path.join(checkout, 'bin', 'reconcile-gateways.cjs') });
  t.is(r.code, 111);
  const missing = path.join(checkout, 'dist', 'reconcile-gateways.cjs');
  t.is(
    r.stderr,
    `reconcile-gateways: error: ${missing} is missing: this is a source checkout that was not built; run \`npm ci && npm run build\` in ${checkout}\n`,
  );
  t.is(r.stdout, '');
  // --output json gets its error document (the last --output given counts, as in a run).
  const json = await runCli(['status', '--output=text', '--output', 'json'], {
    main: path.join(checkout, 'bin', 'reconcile-gateways.cjs'),
  });
  t.is(json.code, 111);
  const doc = JSON.parse(json.stdout) as object;
  t.like(doc, { formatVersion: '2', error: { code: 'fatal', exitCode: 111 } });
  t.true((await loadValidators()).validatePlan(doc), 'the error document matches plan.schema.json');
  const text = await runCli(['status', '--output', 'json', '--output=text'], {
    main: path.join(checkout, 'bin', 'reconcile-gateways.cjs'),
  });
  t.is(text.stdout, '');
});
