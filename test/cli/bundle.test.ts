/**
 * The shipped form of the CLI (scripts/bundle.mjs): one classic script with a V8 code cache, and
 * yaml and winston vendored the same way (src/cli/vendor.ts). These guard what a user would otherwise only notice as a slower or
 * broken start: the cache must be accepted by this Node, the bundle must not depend on import()
 * (a classic script has no module loader to serve it), and the inlined yaml must parse as the
 * package does.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as packageParse } from 'yaml';
import { LARGE_PASS_PROFILES } from '../../src/cli/heap.js';
import { repoRoot } from '../helpers/s6.js';

const require = createRequire(import.meta.url);
const cliDir = path.join(repoRoot(), 'dist', 'src', 'cli');
const load = require(path.join(cliDir, 'load.cjs')) as typeof import('../../src/cli/load.cjs');

/**
 * Runs `sync --diff` through the bundle in a fresh node over a home with a corrupt state file (its
 * warning loads winston mid-pass), a config.yaml (loads yaml) and `extraDirs` empty directories in
 * profiles/; reports which caches V8 rejected and whether node:v8 was loaded (heap.ts sets the
 * young-generation flag through it, for homes of LARGE_PASS_PROFILES and more).
 */
function probeCaches(extraDirs: number): { bundle: boolean; vendored: Record<string, boolean>; v8Loaded: boolean } {
  // In a child: V8 flags are per process, and passes in other test workers change one (heap.ts).
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-bundle-'));
  try {
    fs.mkdirSync(path.join(home, 'profiles', 'broken'), { recursive: true });
    fs.writeFileSync(path.join(home, 'profiles', 'broken', 'SOUL.md'), '');
    fs.writeFileSync(path.join(home, 'profiles', 'broken', 'gateway_state.json'), '{"desired_state": "runn'); // warns: loads winston
    fs.writeFileSync(path.join(home, 'config.yaml'), 'model:\n  provider: x\n'); // loads yaml
    for (let i = 0; i < extraDirs; i += 1) fs.mkdirSync(path.join(home, 'profiles', `no-soul-${i}`));
    const probe = `const c = require(${JSON.stringify(path.join(cliDir, 'load.cjs'))}).compileBundle();
      const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {} };
      process.stderr.write = () => true;
      c.module.runCli(['sync', '--diff', '--hermes-home', ${JSON.stringify(home)}, '--scandir', ${JSON.stringify(path.join(home, 'scan'))}, '--container-argv', '[]'], io).then(() => {
        const vendored = Object.fromEntries([...c.module.vendoredScripts()].map(([n, s]) => [n, s.cachedDataRejected]));
        const v8Loaded = process.moduleLoadList.includes('NativeModule v8');
        process.stdout.write(JSON.stringify({ bundle: c.script.cachedDataRejected, vendored, v8Loaded }));
      });`;
    const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as { bundle: boolean; vendored: Record<string, boolean>; v8Loaded: boolean };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

test('the built code caches are accepted by a fresh Node; a small pass never loads node:v8', (t) => {
  t.deepEqual(probeCaches(0), { bundle: false, vendored: { yaml: false, winston: false }, v8Loaded: false }, 'V8 rejected a code cache: start-up compiles it again');
});

test('a large pass sets the young-generation flag, and the vendored caches are still accepted mid-pass', (t) => {
  t.deepEqual(probeCaches(LARGE_PASS_PROFILES), { bundle: false, vendored: { yaml: false, winston: false }, v8Loaded: true });
});

test('the bundle never calls import(), which a classic script cannot serve', (t) => {
  const source = fs.readFileSync(load.bundleFiles().script, 'utf8');
  t.notRegex(source, /\bimport\(/);
});

test('without a bundle the loader reports none (main falls back to the modules)', (t) => {
  t.is(load.compileBundle({ script: path.join(cliDir, 'no-such-bundle.js'), cache: path.join(cliDir, 'no-such-bundle.cache') }), undefined);
});

test('the vendored yaml parses config files as the package does, errors included', (t) => {
  const parse = load.compileBundle()?.module.loadYamlParse?.();
  if (parse === undefined) return t.fail('the bundle does not export loadYamlParse');
  const samples = [
    'multiplex_profiles: true\n',
    'gateway:\n  multiplex_profiles: "yes"\n',
    'model:\n  provider: openrouter\nlist: [1, 2, {a: b}]\ntext: |\n  two\n  lines\n',
    '\ufeff# bom\nkey: value\n',
    'a: &x 1\nb: *x\n',
  ];
  for (const s of samples) t.deepEqual(parse(s), packageParse(s), s);
  for (const bad of ['a: b: c\n', 'key: [unclosed\n', '- a\nb: c\n']) {
    const mine = t.throws(() => parse(bad));
    const theirs = t.throws(() => packageParse(bad));
    t.is(mine?.message, theirs?.message);
  }
});

test('the plain modules (a tsc-only build, main.cjs without a bundle) give the same report as the bundle', (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-bundle-'));
  try {
    fs.writeFileSync(path.join(home, 'gateway_state.json'), '{"desired_state": "running"}');
    for (const [name, state] of [['alpha', 'running'], ['beta', 'stopped']] as const) {
      fs.mkdirSync(path.join(home, 'profiles', name), { recursive: true });
      fs.writeFileSync(path.join(home, 'profiles', name, 'SOUL.md'), '');
      fs.writeFileSync(path.join(home, 'profiles', name, 'gateway_state.json'), JSON.stringify({ desired_state: state }));
    }
    const argv = JSON.stringify(['boot', '--diff', '--hermes-home', home, '--scandir', path.join(home, 'scan'), '--container-argv', '[]']);
    const report = (loader: string): string => {
      const probe = `${loader}.then(({ runCli }) => { let out = ''; const io = { stdout: { write: (s) => { out += s; return true; } }, stderr: { write: () => true }, env: {} };
        return runCli(${argv}, io).then((code) => process.stdout.write(JSON.stringify({ code, out }))); });`;
      const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stdout;
    };
    const bundled = report(`Promise.resolve(require(${JSON.stringify(path.join(cliDir, 'load.cjs'))}).compileBundle().module)`);
    const plain = report(`import(${JSON.stringify(pathToFileURL(path.join(cliDir, 'run.js')).href)})`);
    t.is(plain, bundled);
    t.regex(bundled, /gateway-alpha create: slot missing/);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
