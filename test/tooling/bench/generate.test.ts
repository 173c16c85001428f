/**
 * The benchmark's synthetic HERMES_HOME (bench/generate.ts): its numbers mean something only if
 * the tree is what bench/README.md says — the same bytes for the same (n, seed), profile i
 * independent of n, the stated mix of states, and a tree the tool reconciles as the bench expects.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import * as gen from '../../../bench/generate.js';
import { runCli } from '../../helpers/cli.js';
import { diffSnapshots, removeTree, snapshotTree, tempDir } from '../../helpers/tree.js';

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await tempDir('rg-bench-gen-');
  t.teardown(() => removeTree(dir));
  return dir;
}

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

test('the same (n, seed) gives a byte-identical tree, and profile i does not depend on n', async (t) => {
  const g = gen;
  const dir = await scratch(t);
  g.generateHermesHome(path.join(dir, 'a'), 80, 7);
  g.generateHermesHome(path.join(dir, 'b'), 80, 7);
  const small = g.generateHermesHome(path.join(dir, 'c'), 30, 7);
  const a = await snapshotTree(path.join(dir, 'a'));
  t.deepEqual(diffSnapshots(a, await snapshotTree(path.join(dir, 'b')), { ignoreVolatile: true }), []);
  // The tree of n=80, less its profiles past the first 30, is the tree of n=30.
  const first = new Set(small.profiles.map((p) => p.name));
  const kept = new Map([...a].filter(([p]) => !p.startsWith('profiles/') || first.has(p.split('/')[1] ?? '')));
  t.deepEqual(diffSnapshots(kept, await snapshotTree(path.join(dir, 'c')), { ignoreVolatile: true }), []);
  const other = g.generateHermesHome(path.join(dir, 'd'), 30, 8);
  t.notDeepEqual(
    other.profiles.map((p) => p.name),
    small.profiles.map((p) => p.name),
    'another seed, another tree',
  );
});

test('the mix of states is the documented one, and each kind is what it claims to be', async (t) => {
  const g = gen;
  const dir = await scratch(t);
  const n = 2000;
  const m = g.generateHermesHome(path.join(dir, 'home'), n, 1);
  t.is(m.profiles.length, n);
  for (const [kind, share] of g.STATE_MIX) {
    const count = m.profiles.filter((p) => p.kind === kind).length;
    t.true(Math.abs(count / n - share) < 0.025, `${kind}: ${count} of ${n}, documented ${share}`);
  }
  for (const p of m.profiles) {
    if (!p.hasState) {
      t.false(fs.existsSync(p.stateFile), `${p.name} (missing) has no state file`);
      continue;
    }
    const text = fs.readFileSync(p.stateFile, 'utf8');
    if (p.corrupt) {
      t.false(isJson(text), `${p.name} (corrupt) must not parse: ${JSON.stringify(text.slice(0, 60))}`);
    } else {
      t.true(isJson(text), `${p.name} (${p.kind}) parses`);
      t.true(text.length >= 250 && text.length <= 400, `${p.name}: ${text.length} bytes, ~300 documented`);
    }
  }
  const stale = m.profiles.filter((p) => p.stale);
  t.true(stale.length > 0 && stale.every((p) => fs.existsSync(path.join(path.dirname(p.stateFile), 'gateway.pid'))));
});

test('the tool reconciles a generated home as the bench expects: a slot per profile, then a converged sync', async (t) => {
  const g = gen;
  const dir = await scratch(t);
  const home = path.join(dir, 'home');
  const scandir = path.join(dir, 'scan');
  const m = g.generateHermesHome(home, 60, 3);
  const args = ['--hermes-home', home, '--scandir', scandir, '--output', 'json', '--container-argv', '[]'];
  const boot = await runCli(['boot', ...args], { timeoutMs: 60_000 });
  t.true(boot.code === 0 || boot.code === 2, boot.stderr);
  const slots = fs.readdirSync(scandir).filter((e) => e.startsWith('gateway-'));
  t.is(slots.length, m.profiles.length + 1, 'every profile and the root');
  const sync = await runCli(['sync', ...args], { timeoutMs: 60_000 });
  const doc = JSON.parse(sync.stdout) as { operations: unknown[] };
  t.deepEqual(doc.operations, [], 'nothing left to do');
});
