import test, { type ExecutionContext } from 'ava';
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { diffSnapshots, makeHermesHome, removeTree, snapshotTree } from '../../helpers/tree.js';
import { parseDoc, makeWorld, profileLines, removeWorlds, runCli, type World, worldArgs } from '../../helpers/cli.js';

test.after.always('remove the temp worlds, failed tests included', removeWorlds);

const WRAPPER = '/opt/hermes/docker/main-wrapper.sh';
const SEED = /^\{"gateway_state": "running", "desired_state": "running", "timestamp": (\d+), "migrated_from": "legacy-container-cmd"\}\n$/;
const ROOT_STARTED = 'reconcile: profile=default prior_state=running action=started prior_exit=unknown';
const ROOT_REGISTERED = 'reconcile: profile=default prior_state=None action=registered prior_exit=unknown';

async function emptyWorld(prefix: string): Promise<World> {
  const w = await makeWorld(prefix, { create: 'none' });
  await makeHermesHome(w.home, { coder: { state: { desired_state: 'stopped' } } });
  return w;
}

async function assertSeeded(t: ExecutionContext, w: World, startedAt: number): Promise<void> {
  const file = path.join(w.home, 'gateway_state.json');
  const text = await readFile(file, 'utf8');
  const match = SEED.exec(text);
  t.truthy(match, `seed bytes: ${JSON.stringify(text)}`);
  const ts = Number(match?.[1]);
  t.true(ts >= startedAt && ts <= Math.ceil(Date.now() / 1000), `timestamp ${ts} is the time of the pass`);
  const st = lstatSync(file);
  t.true(st.isFile());
  t.is(st.mode & 0o7777, 0o644);
  if (process.geteuid?.() === 0) t.deepEqual([st.uid, st.gid], [65534, 65534], 'owned by the configured uid:gid');
  t.deepEqual(
    readdirSync(w.home).filter((n) => n.includes('tmp')),
    [],
    'no temp file left behind',
  );
  t.false(existsSync(path.join(w.scandir, 'gateway-default', 'down')), 'the root gateway autostarts');
}

const SEEDING: readonly (readonly string[])[] = [
  ['gateway', 'run'],
  ['/init', WRAPPER, 'gateway', 'run'],
  ['/bin/sh', '-e', '/run/s6/basedir/scripts/rc.init', 'top', WRAPPER, 'hermes', 'gateway', 'run', '--replace'],
  ['gateway', 'run', '-p', 'coder'],
];

for (const argv of SEEDING) {
  test(`a legacy ${JSON.stringify(argv)} container without root state seeds it exactly as upstream (S40, S44)`, async (t) => {
    const w = await emptyWorld('seed');
    const startedAt = Math.floor(Date.now() / 1000);
    const run = await runCli(['boot', ...worldArgs(w, argv)]);
    t.is(run.code, 0, run.stderr);
    t.is(profileLines(run.stdout)[0], ROOT_STARTED);
    await assertSeeded(t, w, startedAt);
    t.true(existsSync(path.join(w.scandir, 'gateway-coder', 'down')), '-p x still seeds the root, not x');
    await removeTree(w.root);
  });
}

const NOT_SEEDING: readonly [string, readonly string[], Record<string, string>][] = [
  ['--no-supervise (S41)', ['gateway', 'run', '--no-supervise'], {}],
  ['wrapped --no-supervise (S41)', ['/init', WRAPPER, 'gateway', 'run', '-v', '--no-supervise'], {}],
  ['HERMES_GATEWAY_NO_SUPERVISE=1 (S42)', ['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: '1' }],
  ['HERMES_GATEWAY_NO_SUPERVISE=TRUE (S42)', ['/init', WRAPPER, 'gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'TRUE' }],
  ['HERMES_GATEWAY_NO_SUPERVISE=yes (S42)', ['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'yes' }],
  ['HERMES_GATEWAY_NO_SUPERVISE=on', ['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'on' }],
  ['-p x before the command (S44)', ['-p', 'coder', 'gateway', 'run'], {}],
  ['no container command', [], {}],
];

for (const [what, argv, env] of NOT_SEEDING) {
  test(`no legacy seed with ${what}: the root is registered down`, async (t) => {
    const w = await emptyWorld('noseed');
    const run = await runCli(['boot', ...worldArgs(w, argv)], { env });
    t.is(run.code, 0, run.stderr);
    t.false(existsSync(path.join(w.home, 'gateway_state.json')));
    t.is(profileLines(run.stdout)[0], ROOT_REGISTERED);
    t.true(existsSync(path.join(w.scandir, 'gateway-default', 'down')));
    await removeTree(w.root);
  });
}

test('HERMES_GATEWAY_NO_SUPERVISE=0 does not block the seed', async (t) => {
  const w = await emptyWorld('nsfalse');
  const startedAt = Math.floor(Date.now() / 1000);
  const run = await runCli(['boot', ...worldArgs(w, ['gateway', 'run'])], { env: { HERMES_GATEWAY_NO_SUPERVISE: '0' } });
  t.is(run.code, 0, run.stderr);
  await assertSeeded(t, w, startedAt);
  await removeTree(w.root);
});

test('an existing root state is never replaced: a stopped root stays stopped (S03)', async (t) => {
  const w = await emptyWorld('exists');
  const file = path.join(w.home, 'gateway_state.json');
  await writeFile(file, '{"gateway_state": "stopped"}');
  const run = await runCli(['boot', ...worldArgs(w, ['gateway', 'run'])]);
  t.is(run.code, 0, run.stderr);
  t.is(await readFile(file, 'utf8'), '{"gateway_state": "stopped"}');
  t.is(profileLines(run.stdout)[0], 'reconcile: profile=default prior_state=stopped action=registered prior_exit=unknown');
  await removeTree(w.root);
});

test('the seed is written once: the next boot reads it and leaves it as it is', async (t) => {
  const w = await emptyWorld('twice');
  const file = path.join(w.home, 'gateway_state.json');
  t.is((await runCli(['boot', ...worldArgs(w, ['gateway', 'run'])])).code, 0);
  const first = await readFile(file, 'utf8');
  const again = await runCli(['boot', ...worldArgs(w, ['gateway', 'run'])]);
  t.is(again.code, 0, again.stderr);
  t.is(await readFile(file, 'utf8'), first);
  t.is(profileLines(again.stdout)[0], ROOT_STARTED);
  await removeTree(w.root);
});

for (const [what, target] of [
  ['dangling', '/nonexistent/rg-legacy-target.json'],
  ['live', 'TARGET'],
] as const) {
  test(`a ${what} symlink at gateway_state.json is never written through: no seed, a warning, the link untouched`, async (t) => {
    const w = await emptyWorld('symlink');
    const outside = path.join(w.root, 'outside.json');
    if (what === 'live') await writeFile(outside, '{"desired_state": "stopped"}');
    const link = path.join(w.home, 'gateway_state.json');
    const linkTarget = target === 'TARGET' ? outside : target;
    await symlink(linkTarget, link);
    const run = await runCli(['boot', ...worldArgs(w, ['/init', WRAPPER, 'gateway', 'run']), '--output', 'json']);
    t.is(run.code, 0, run.stderr);
    t.is(readlinkSync(link), linkTarget);
    t.false(existsSync('/nonexistent/rg-legacy-target.json'));
    if (what === 'live') t.is(await readFile(outside, 'utf8'), '{"desired_state": "stopped"}');
    const doc = parseDoc(run);
    const warnings = doc['warnings'] as string[];
    t.true(
      warnings.some((m) => m.includes(link) && m.includes('not seeding')),
      JSON.stringify(warnings),
    );
    t.true(run.stderr.includes('not seeding'), run.stderr);
    t.false((doc['operations'] as { kind: string }[]).some((o) => o.kind === 'seed'));
    t.like((doc['profiles'] as object[])[0], { profile: 'default', action: 'registered', priorState: null });
    t.true(existsSync(path.join(w.scandir, 'gateway-default', 'down')));
    await removeTree(w.root);
  });
}

const seedOps = (doc: Record<string, unknown>): Record<string, unknown>[] =>
  (doc['operations'] as Record<string, unknown>[]).filter((o) => o['kind'] === 'seed');

test('--diff reports the seed operation, exits 1 and writes nothing (S43)', async (t) => {
  const w = await emptyWorld('diff');
  const before = await snapshotTree(w.root);
  const run = await runCli(['boot', ...worldArgs(w, ['gateway', 'run']), '--diff', '--output', 'json']);
  t.is(run.code, 1, run.stderr);
  const doc = parseDoc(run);
  const { validatePlan } = await loadValidators();
  t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
  t.deepEqual(seedOps(doc), [
    {
      kind: 'seed',
      service: 'gateway-default',
      profile: 'default',
      reason: 'legacy gateway run container without a state file',
      files: ['gateway_state.json'],
    },
  ]);
  t.like((doc['profiles'] as object[])[0], { profile: 'default', priorState: 'running', action: 'started' });
  t.deepEqual(diffSnapshots(before, await snapshotTree(w.root)), []);
  const text = await runCli(['boot', ...worldArgs(w, ['gateway', 'run']), '--diff']);
  t.is(text.code, 1);
  t.true(text.stdout.includes('gateway-default seed: legacy gateway run container without a state file (gateway_state.json)'), text.stdout);
  t.regex(text.stdout, / seed=1 .*\(dry run: nothing changed\)/);
  t.deepEqual(diffSnapshots(before, await snapshotTree(w.root)), []);
  await removeTree(w.root);
});

test('a pending seed alone makes --diff exit 1 even when every slot is converged', async (t) => {
  const w = await emptyWorld('diffonly');
  t.is((await runCli(['boot', ...worldArgs(w, ['gateway', 'run'])])).code, 0);
  await unlink(path.join(w.home, 'gateway_state.json'));
  const run = await runCli(['boot', ...worldArgs(w, ['gateway', 'run']), '--diff', '--output', 'json']);
  t.is(run.code, 1, run.stdout);
  const doc = parseDoc(run);
  t.deepEqual(
    (doc['operations'] as { kind: string }[]).map((o) => o.kind),
    ['seed'],
  );
  await removeTree(w.root);
});

test('the JSON of a real legacy boot reports the seed as applied', async (t) => {
  const w = await emptyWorld('applied');
  const run = await runCli(['boot', ...worldArgs(w, ['gateway', 'run']), '--output', 'json']);
  t.is(run.code, 0, run.stderr);
  t.like(seedOps(parseDoc(run))[0], { kind: 'seed', files: ['gateway_state.json'], status: 'applied' });
  await removeTree(w.root);
});

test('sync never seeds: the migration belongs to container boot', async (t) => {
  const w = await emptyWorld('sync');
  mkdirSync(w.scandir);
  const run = await runCli(['sync', ...worldArgs(w, ['gateway', 'run'])]);
  t.is(run.code, 0, run.stderr);
  t.false(existsSync(path.join(w.home, 'gateway_state.json')));
  await removeTree(w.root);
});
