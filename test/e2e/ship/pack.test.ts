/**
 * The install paths a new user tries: `npm pack` and `npm install -g` of the tarball on a machine
 * with no compiler, `npm install -g <checkout>` and `npx <checkout>`. npm runs offline here: the
 * package has no dependencies to fetch, which is part of what these tests prove.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../helpers/s6.js';
import { sandbox } from '../../helpers/cli.js';
import { makeHermesHome, removeTree, tempDir } from '../../helpers/tree.js';

const ROOT = repoRoot();

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file args` with exactly `env`; never rejects on a non-zero exit. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd, encoding: 'utf8', timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** The npm CLI script that came with this Node (npm is a JavaScript program, run by `node`). */
function npmCli(): string {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'npm');
    if (dir !== '' && existsSync(candidate)) return realpathSync(candidate);
  }
  throw new Error('npm is not on PATH');
}

/**
 * A machine with Node and npm and nothing else: a PATH of one directory holding `node` and `npm`,
 * so no compiler (cc, g++, make, python3) or shell can be found; a fresh HOME and npm cache.
 */
async function bareMachine(): Promise<{ dir: string; env: NodeJS.ProcessEnv; npm(args: readonly string[], cwd?: string): Promise<Run> }> {
  const dir = await tempDir('rg-bare-');
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  await mkdir(path.join(dir, 'home'));
  await symlink(process.execPath, path.join(bin, 'node'));
  await symlink(npmCli(), path.join(bin, 'npm'));
  const env = {
    PATH: bin,
    HOME: path.join(dir, 'home'),
    TZ: 'UTC',
    npm_config_cache: path.join(dir, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  return { dir, env, npm: (args, cwd) => run(process.execPath, [npmCli(), ...args], env, cwd) };
}

let packed: Promise<{ tarball: string; files: string[] }> | undefined;
const scratch: string[] = [];
test.after.always('remove the packed tarball', async () => {
  for (const dir of scratch) await removeTree(dir);
});

/** `npm pack` of the built checkout, once per test file (the build already ran: no prepack here). */
function pack(): Promise<{ tarball: string; files: string[] }> {
  packed ??= (async () => {
    const machine = await bareMachine();
    scratch.push(machine.dir);
    const r = await machine.npm(['pack', '--ignore-scripts', '--json', '--pack-destination', machine.dir]);
    if (r.code !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
    const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
    if (info === undefined) throw new Error(`npm pack printed no package: ${r.stdout}`);
    return { tarball: path.join(machine.dir, info.filename), files: info.files.map((f) => f.path).sort() };
  })();
  return packed;
}

test('npm pack builds first and ships the bundle, its map, schemas, examples, docs, README, LICENSE and CHANGELOG, and no sources, tests or bench', async (t) => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[] };
  t.is(pkg.scripts['prepack'], 'npm run build', 'npm pack builds the bundle first');
  t.true(pkg.files.includes('CHANGELOG.md'));
  const { files } = await pack();
  const wanted = [
    'LICENSE',
    'README.md',
    'package.json',
    'bin/reconcile-gateways.cjs',
    'dist/reconcile-gateways.cjs',
    'dist/reconcile-gateways.cjs.map',
  ];
  if (existsSync(path.join(ROOT, 'CHANGELOG.md'))) wanted.push('CHANGELOG.md');
  for (const file of wanted) t.true(files.includes(file), `${file} is packed`);
  const schemas = (await readdir(path.join(ROOT, 'schemas'))).map((n) => `schemas/${n}`);
  for (const file of schemas) t.true(files.includes(file), `${file} is packed`);
  t.true(files.some((f) => f.startsWith('examples/cont-init.d/')));
  t.true(files.some((f) => f.startsWith('examples/s6/')));
  // --help, config errors and the status legend point at docs/: they are installed too.
  const docs = (await readdir(path.join(ROOT, 'docs'))).map((n) => `docs/${n}`);
  for (const file of docs) t.true(files.includes(file), `${file} is packed`);
  const unexpected = files.filter((f) => !wanted.includes(f) && !/^(schemas|examples|docs)\//.test(f));
  t.deepEqual(unexpected, [], 'nothing else: no src/, test/, bench/, scripts/ or dist/src');
});

test('the tarball installs with npm install -g on a machine without a compiler, with no dependency or install script, and runs', async (t) => {
  const { tarball } = await pack();
  const machine = await bareMachine();
  t.teardown(() => removeTree(machine.dir));
  const prefix = path.join(machine.dir, 'global');
  const install = await machine.npm(['install', '-g', '--prefix', prefix, tarball]);
  t.is(install.code, 0, install.stderr);
  const installed = path.join(prefix, 'lib', 'node_modules');
  t.deepEqual(await readdir(installed), ['reconcile-gateways'], 'no dependency was installed');
  const manifest = JSON.parse(await readFile(path.join(installed, 'reconcile-gateways', 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  t.is(manifest['dependencies'], undefined);
  const scripts = (manifest['scripts'] ?? {}) as Record<string, string>;
  t.deepEqual(
    ['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => s in scripts),
    [],
    'no install script',
  );

  const command = path.join(prefix, 'bin', 'reconcile-gateways');
  const help = await run(command, ['--help'], machine.env);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^usage: reconcile-gateways <command>/);
  const docs = path.join(installed, 'reconcile-gateways', 'docs', 'cli.md');
  t.true(help.stdout.includes(`Every flag and config setting: ${docs}\n`), help.stdout);
  t.true(existsSync(docs), 'the help names the installed docs');
  const version = await run(command, ['--version'], machine.env);
  const { version: expected } = JSON.parse(await readFile(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  t.is(version.stdout, `reconcile-gateways ${expected}\n`, 'the installed bundle knows its version');
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { desired_state: 'running' } } });
  const boot = await run(command, ['boot', '--hermes-home', box.home, '--scandir', box.scandir, '--container-argv', '[]'], machine.env);
  t.is(boot.code, 0, boot.stderr);
  t.regex(boot.stdout, /^reconcile: profile=coder prior_state=running action=started/m);
  t.true(existsSync(path.join(box.scandir, 'gateway-coder', 'run')));
});

test('npm install -g of a built checkout links a working reconcile-gateways command', async (t) => {
  const machine = await bareMachine();
  t.teardown(() => removeTree(machine.dir));
  const prefix = path.join(machine.dir, 'global');
  const install = await machine.npm(['install', '-g', '--prefix', prefix, ROOT]);
  t.is(install.code, 0, install.stderr);
  const help = await run(path.join(prefix, 'bin', 'reconcile-gateways'), ['--help'], machine.env);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^usage: reconcile-gateways /);
});

test('npx of a built checkout runs the command', async (t) => {
  const machine = await bareMachine();
  t.teardown(() => removeTree(machine.dir));
  // npx runs the bin through a shell: this machine needs one, still no compiler.
  await symlink('/bin/sh', path.join(machine.dir, 'bin', 'sh'));
  const npx = path.join(path.dirname(npmCli()), 'npx-cli.js');
  const r = await run(process.execPath, [npx, '--yes', ROOT, '--help'], machine.env, machine.dir);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^usage: reconcile-gateways /);
});
