/**
 * The shipped form of the CLI (scripts/bundle.mjs): one classic script with a V8 code cache, and
 * yaml vendored the same way. These guard what a user would otherwise only notice as a slower or
 * broken start: the cache must be accepted by this Node, the bundle must not depend on import()
 * (a classic script has no module loader to serve it), and the vendored parser must parse as
 * the package does.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { parse as packageParse } from 'yaml';
import { repoRoot } from '../helpers/s6.js';

const require = createRequire(import.meta.url);
const cliDir = path.join(repoRoot(), 'dist', 'src', 'cli');
const load = require(path.join(cliDir, 'load.cjs')) as typeof import('../../src/cli/load.cjs');

test('the built code cache is accepted by a fresh Node, and the bundle exports runCli', (t) => {
  // In a child: V8 flags are per process, and passes in other test workers change one (heap.ts).
  const probe = `const c = require(${JSON.stringify(path.join(cliDir, 'load.cjs'))}).compileBundle();
    process.stdout.write(JSON.stringify(c && { rejected: c.script.cachedDataRejected, runCli: typeof c.module.runCli }));`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout || 'null'), { rejected: false, runCli: 'function' }, 'V8 rejected cli-bundle.cache, or the bundle is missing (npm run build)');
});

test('the bundle never calls import(), which a classic script cannot serve', (t) => {
  const source = fs.readFileSync(load.bundleFiles().script, 'utf8');
  t.notRegex(source, /\bimport\(/);
});

test('without a bundle the loader reports none (main falls back to the modules)', (t) => {
  t.is(load.compileBundle({ script: path.join(cliDir, 'no-such-bundle.js'), cache: path.join(cliDir, 'no-such-bundle.cache') }), undefined);
});

test('the vendored yaml parses config files as the package does, errors included', (t) => {
  const file = path.join(repoRoot(), 'dist', 'src', 'vendor', 'yaml.js');
  const script = new vm.Script(fs.readFileSync(file, 'utf8'), { filename: file, cachedData: fs.readFileSync(file.replace(/\.js$/, '.cache')) });
  t.false(script.cachedDataRejected);
  const vendored = (script.runInThisContext() as { parse: (s: string) => unknown }).parse;
  const samples = [
    'multiplex_profiles: true\n',
    'gateway:\n  multiplex_profiles: "yes"\n',
    'model:\n  provider: openrouter\nlist: [1, 2, {a: b}]\ntext: |\n  two\n  lines\n',
    '\ufeff# bom\nkey: value\n',
    'a: &x 1\nb: *x\n',
  ];
  for (const s of samples) t.deepEqual(vendored(s), packageParse(s), s);
  for (const bad of ['a: b: c\n', 'key: [unclosed\n', '- a\nb: c\n']) {
    const mine = t.throws(() => vendored(bad));
    const theirs = t.throws(() => packageParse(bad));
    t.is(mine?.message, theirs?.message);
  }
});
