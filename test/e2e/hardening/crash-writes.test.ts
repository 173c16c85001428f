/**
 * Issue 4, crashes: an interrupted write never leaves a truncated file (scripts, ownership
 * records and the restart journal all go through write-temp + rename), and a pass killed at any
 * operation boundary converges on the next run.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderOwnership, renderRun } from '../../../src/desired/render.js';
import { closeDir, openRoot, writeFileAt } from '../../../src/safe-fs/index.js';
import { repoRoot } from '../../helpers/s6.js';
import { makeRng, trialSeed, writeCrashProfiles } from './crash-trials.js';
import {
  TEST_SETTINGS,
  killGroup,
  removeWorlds,
  runWorld,
  runWorldJson,
  type World,
  writeConfig,
  writeProfiles,
  makeWorld,
  startNode,
} from '../../helpers/cli.js';
import { diffSnapshot, slotProblems, snapshot } from './tree-check.js';

const DRIVERS = path.join(repoRoot(), 'dist', 'test', 'e2e', 'hardening');

test.after.always('remove scratch trees', async () => {
  await removeWorlds();
});

/** How many services a journal file lists. */
function readJournal(file: string): number {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { services: string[] }).services.length;
}

function journal(count: number): string {
  const services = Array.from({ length: count }, (_, i) => `gateway-p${String(i).padStart(5, '0')}`);
  return `${JSON.stringify({ formatVersion: '1', services })}\n`;
}

const TARGETS = [
  { name: 'restarts.json', a: journal(3000), b: journal(5000) },
  { name: 'run', a: renderRun('alice', TEST_SETTINGS as Parameters<typeof renderRun>[1]), b: `${'#'.repeat(300_000)}\n` },
  { name: '.reconcile-gateways.json', a: renderOwnership('gateway-alice', 'alice'), b: renderOwnership('gateway-bob', 'bob') },
] as const;

async function killWriterOnce(dir: string, target: (typeof TARGETS)[number], delayMs: number): Promise<string> {
  const { child, done } = startNode([path.join(DRIVERS, 'write-driver.js'), dir, target.name, path.join(dir, 'a'), path.join(dir, 'b')]);
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  await sleep(delayMs);
  killGroup(child, 'SIGKILL');
  await done;
  return fs.readFileSync(path.join(dir, target.name), 'utf8');
}

test('a write killed at random moments leaves the old or the new journal, script or record, never a torn one', async (t) => {
  const seed = trialSeed();
  t.log(`seed ${seed}`);
  const rng = makeRng(seed);
  const l = await makeWorld('torn');
  for (const target of TARGETS) {
    const dir = path.join(l.root, target.name.replace(/^\./, 'dot'));
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'a'), target.a);
    fs.writeFileSync(path.join(dir, 'b'), target.b);
    for (let trial = 0; trial < 15; trial += 1) {
      const content = await killWriterOnce(dir, target, rng() * 40);
      t.true(content === target.a || content === target.b, `${target.name}: torn after a kill (${content.length} bytes)`);
    }
    const handle = openRoot(dir);
    try {
      if (target.name === 'restarts.json') t.true([3000, 5000].includes(readJournal(path.join(dir, target.name))));
      writeFileAt(handle, target.name, target.a, { mode: 0o644, fsync: true });
    } finally {
      closeDir(handle);
    }
    t.deepEqual(fs.readdirSync(dir).sort(), [target.name, 'a', 'b'].sort(), 'a leftover temp file survived the next write');
  }
});

/** A sync with every kind of operation: creates, updates (config change), up, down, removes. */
async function everyKindOfSync(): Promise<{ l: World; template: string; operations: number }> {
  const l = await makeWorld('kill-points');
  writeCrashProfiles(l, 16);
  const template = path.join(l.root, 'template');
  fs.mkdirSync(template, { mode: 0o755 });
  if ((await runWorld('boot', { ...l, scandir: template })).code !== 0) throw new Error('boot of the template failed');
  fs.rmSync(path.join(l.home, 'profiles', 'p0003'), { recursive: true });
  fs.rmSync(path.join(l.home, 'profiles', 'p0007'), { recursive: true });
  writeProfiles(l.home, { p0000: 'stopped', p0001: 'running', p0100: 'running', p0101: 'stopped' });
  writeConfig(l, { gatewayCommand: '/bin/false' });
  const plan = await runWorldJson('sync', { ...l, scandir: template }, ['--diff']);
  return { l, template, operations: plan.doc.operations?.length ?? 0 };
}

test('a sync killed just before each of its operations never leaves a half-built slot and converges on the next run', async (t) => {
  const { l, template, operations } = await everyKindOfSync();
  t.true(operations >= 20, `only ${operations} operations planned`);
  const reference = path.join(l.root, 'reference');
  execFileSync('cp', ['-a', template, reference]);
  t.is((await runWorld('sync', { ...l, scandir: reference })).code, 0);
  const want = snapshot(reference);
  for (let killAt = 1; killAt <= operations; killAt += 1) {
    const dir = path.join(l.root, `kill-${killAt}`);
    execFileSync('cp', ['-a', template, dir]);
    const request = { mode: 'sync', home: l.home, scandir: dir, config: l.config, killAt };
    const killed = await startNode([path.join(DRIVERS, 'pass-driver.js'), JSON.stringify(request)]).done;
    t.is(killed.signal, 'SIGKILL', `the pass was not killed before operation ${killAt}: ${killed.stderr}`);
    const problems = new Set<string>();
    slotProblems(dir, problems);
    t.deepEqual([...problems], [], `killed before operation ${killAt}`);
    const next = await runWorld('sync', { ...l, scandir: dir });
    t.is(next.code, 0, `after a kill before operation ${killAt}: ${next.stderr}`);
    t.deepEqual(diffSnapshot(want, snapshot(dir)), [], `killed before operation ${killAt}: the next sync did not converge`);
    fs.rmSync(dir, { recursive: true });
  }
});
