import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadValidators } from '../../src/cli/validate.js';
import { diffSnapshots, makeHermesHome, removeTree, snapshotTree } from '../helpers/tree.js';
import { DASHBOARD_SHAPES, RC_INIT, WRAPPER } from './argv-shapes.js';
import { jsonDoc, makeWorld, profileLines, removeWorlds, runCli, type World, worldArgs } from './cli.js';

test.after.always('remove the temp worlds, failed tests included', removeWorlds);

const SKIP_LINE = 'reconcile: skipping (dashboard container \u2014 does not need per-profile gateways)';

/** A home where every gateway wants to run, and a legacy-looking root without a state file. */
async function busyWorld(prefix: string): Promise<World> {
  const w = await makeWorld(prefix);
  await makeHermesHome(w.home, {
    worker: { state: { gateway_state: 'running' } },
    idle: { state: { desired_state: 'stopped' } },
  });
  await writeFile(path.join(w.home, 'gateway.pid'), '123\n');
  return w;
}

async function assertUntouched(t: ExecutionContext, w: World, run: () => Promise<void>): Promise<void> {
  const before = await snapshotTree(w.root);
  await run();
  t.deepEqual(diffSnapshots(before, await snapshotTree(w.root)), [], 'a dashboard container touches nothing');
  t.false(existsSync(w.scandir), 'no scandir created');
  t.false(existsSync(path.join(w.root, 'lock')), 'no lock file');
}

for (const argv of DASHBOARD_SHAPES) {
  for (const command of ['boot', 'sync'] as const) {
    test(`${command} in a dashboard container ${JSON.stringify(argv)} prints the skip line, exits 0 and touches nothing`, async (t) => {
      const w = await busyWorld('dash');
      await assertUntouched(t, w, async () => {
        const run = await runCli([command, ...worldArgs(w, argv), '--lock-file', path.join(w.root, 'lock')]);
        t.is(run.code, 0, run.stderr);
        t.is(run.stdout, `${SKIP_LINE}\n`);
      });
      await removeTree(w.root);
    });
  }
}

test('with --output json a dashboard container prints a schema-valid skipped document', async (t) => {
  const { validatePlan } = await loadValidators();
  for (const command of ['boot', 'sync'] as const) {
    const w = await busyWorld('dashjson');
    await assertUntouched(t, w, async () => {
      const run = await runCli([command, ...worldArgs(w, [...RC_INIT, WRAPPER, 'dashboard']), '--output', 'json', '--diff']);
      t.is(run.code, 0, run.stderr);
      const doc = jsonDoc(run);
      t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
      t.deepEqual(doc, { formatVersion: '2', mode: command, skipped: { role: 'dashboard', message: SKIP_LINE } });
    });
    await removeTree(w.root);
  }
});

test('the role is decided before anything is read: a dashboard skips even with a broken config and no HERMES_HOME', async (t) => {
  const w = await makeWorld('dashfirst');
  await writeFile(w.config, '{ not json');
  await assertUntouched(t, w, async () => {
    const run = await runCli(['boot', ...worldArgs(w, ['dashboard'])]);
    t.is(run.code, 0, run.stderr);
    t.is(run.stdout, `${SKIP_LINE}\n`);
  });
  const gateway = await runCli(['boot', ...worldArgs(w, ['gateway', 'run'])]);
  t.is(gateway.code, 100, 'the same config is an error where the pass would run');
  await removeTree(w.root);
});

test('--role dashboard and RECONCILE_GATEWAYS_ROLE=dashboard skip whatever the container argv says', async (t) => {
  const w = await busyWorld('forcedash');
  await assertUntouched(t, w, async () => {
    const flag = await runCli(['boot', ...worldArgs(w, ['gateway', 'run']), '--role', 'dashboard']);
    t.is(flag.code, 0, flag.stderr);
    t.is(flag.stdout, `${SKIP_LINE}\n`);
    const env = await runCli(['sync', ...worldArgs(w, undefined)], { RECONCILE_GATEWAYS_ROLE: 'dashboard' });
    t.is(env.code, 0, env.stderr);
    t.is(env.stdout, `${SKIP_LINE}\n`);
  });
  await removeTree(w.root);
});

test('--role gateway reconciles even in a dashboard-looking container', async (t) => {
  const w = await busyWorld('forcegw');
  const run = await runCli(['boot', ...worldArgs(w, ['/init', WRAPPER, 'dashboard']), '--role', 'gateway']);
  t.is(run.code, 0, run.stderr);
  t.true(existsSync(path.join(w.scandir, 'gateway-worker', 'run')));
  t.false(existsSync(path.join(w.scandir, 'gateway-worker', 'down')));
  await removeTree(w.root);
});

const GATEWAY_SHAPES: readonly (readonly string[])[] = [
  [],
  ['chat'],
  ['gateway', 'run'],
  ['/init', WRAPPER, 'gateway', 'run'],
  [...RC_INIT, WRAPPER, 'gateway', 'run', '-p', 'dashboard'],
];

for (const argv of GATEWAY_SHAPES) {
  test(`a container running ${JSON.stringify(argv)} reconciles: the running profile's slot is up (S47)`, async (t) => {
    const w = await busyWorld('gw');
    const run = await runCli(['boot', ...worldArgs(w, argv)], { HERMES_SKIP_PROFILE_RECONCILE: '1' });
    t.is(run.code, 0, run.stderr);
    t.false(run.stdout.includes('skipping'));
    t.true(existsSync(path.join(w.scandir, 'gateway-worker', 'run')));
    t.false(existsSync(path.join(w.scandir, 'gateway-worker', 'down')), 'worker autostarts');
    t.true(existsSync(path.join(w.scandir, 'gateway-idle', 'down')));
    await removeTree(w.root);
  });
}

async function noneWorld(): Promise<World> {
  const w = await makeWorld('none', { multiplexPolicy: 'fold' });
  await makeHermesHome(
    w.home,
    { worker: { state: { gateway_state: 'running' } }, idle: { state: { desired_state: 'stopped' } } },
    { desired_state: 'running' },
  );
  return w;
}

test('--role none registers every slot down, the running ones included (#64846)', async (t) => {
  const w = await noneWorld();
  const run = await runCli(['boot', ...worldArgs(w, ['/init', WRAPPER, 'gateway', 'run']), '--role', 'none']);
  t.is(run.code, 0, run.stderr);
  for (const p of ['default', 'worker', 'idle']) {
    t.true(existsSync(path.join(w.scandir, `gateway-${p}`, 'run')), p);
    t.true(existsSync(path.join(w.scandir, `gateway-${p}`, 'down')), `${p} is registered down`);
  }
  t.deepEqual(
    profileLines(run.stdout).map((l) => l.split(' prior_exit=')[0]),
    [
      'reconcile: profile=default prior_state=running action=registered',
      'reconcile: profile=idle prior_state=stopped action=registered',
      'reconcile: profile=worker prior_state=running action=registered',
    ],
  );
  await removeTree(w.root);
});

test('RECONCILE_GATEWAYS_ROLE=none folds nothing even with fold multiplexing, and says role none in JSON', async (t) => {
  const w = await noneWorld();
  const { validatePlan } = await loadValidators();
  const run = await runCli(['boot', ...worldArgs(w), '--output', 'json'], { RECONCILE_GATEWAYS_ROLE: 'none', GATEWAY_MULTIPLEX_PROFILES: 'true' });
  t.is(run.code, 0, run.stderr);
  const doc = jsonDoc(run);
  t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
  t.is(doc['role'], 'none');
  t.deepEqual(doc['foldedProfiles'], []);
  t.false(run.stderr.includes('was started instead'), 'no fold notice: nothing starts');
  const profiles = doc['profiles'] as { profile: string; autostart: boolean; action: string; reason?: string }[];
  t.deepEqual(
    profiles.map((p) => [p.profile, p.autostart, p.action]),
    [['default', false, 'registered'], ['idle', false, 'registered'], ['worker', false, 'registered']],
  );
  t.true(profiles.every((p) => p.reason === 'role none: gateways never start here'));
  await removeTree(w.root);
});

test('--role none never seeds the legacy root state', async (t) => {
  const w = await makeWorld('noneseed');
  await makeHermesHome(w.home, {});
  const run = await runCli(['boot', ...worldArgs(w, ['gateway', 'run']), '--role', 'none']);
  t.is(run.code, 0, run.stderr);
  t.false(existsSync(path.join(w.home, 'gateway_state.json')));
  t.true(existsSync(path.join(w.scandir, 'gateway-default', 'down')));
  await removeTree(w.root);
});

test('an unknown role is a usage error', async (t) => {
  const w = await makeWorld('badrole');
  await makeHermesHome(w.home, {});
  t.is((await runCli(['boot', ...worldArgs(w), '--role', 'serve'])).code, 100);
  t.is((await runCli(['boot', ...worldArgs(w)], { RECONCILE_GATEWAYS_ROLE: 'Dashboard' })).code, 100);
  t.false(existsSync(w.scandir));
  await removeTree(w.root);
});
