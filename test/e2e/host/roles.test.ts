import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { diffSnapshots, makeHermesHome, removeTree, snapshotTree } from '../../helpers/tree.js';
import { DASHBOARD_SHAPES, RC_INIT, WRAPPER } from '../../helpers/argv-shapes.js';
import { parseDoc, makeWorld, removeWorlds, runCli, startCli, type World, worldArgs } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/s6.js';
import { freePort } from '../../helpers/watcher.js';

test.after.always('remove the temp worlds, failed tests included', removeWorlds);

const SKIP_LINE = 'reconcile: skipping (dashboard container \u2014 does not need per-profile gateways)';

/** A home where every gateway wants to run, and a legacy-looking root without a state file. */
async function busyWorld(prefix: string): Promise<World> {
  const w = await makeWorld(prefix, { create: 'none' });
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
      const doc = parseDoc(run);
      t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
      t.deepEqual(doc, { formatVersion: '2', mode: command, skipped: { role: 'dashboard', message: SKIP_LINE } });
    });
    await removeTree(w.root);
  }
});

test('the role is decided before anything is read: a dashboard skips even with a broken config and no HERMES_HOME', async (t) => {
  const w = await makeWorld('dashfirst', { create: 'none' });
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
    const env = await runCli(['sync', ...worldArgs(w, undefined)], { env: { RECONCILE_GATEWAYS_ROLE: 'dashboard' } });
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
    const run = await runCli(['boot', ...worldArgs(w, argv)], { env: { HERMES_SKIP_PROFILE_RECONCILE: '1' } });
    t.is(run.code, 0, run.stderr);
    t.false(run.stdout.includes('skipping'));
    t.true(existsSync(path.join(w.scandir, 'gateway-worker', 'run')));
    t.false(existsSync(path.join(w.scandir, 'gateway-worker', 'down')), 'worker autostarts');
    t.true(existsSync(path.join(w.scandir, 'gateway-idle', 'down')));
    await removeTree(w.root);
  });
}

const NONE_LINE = 'reconcile: skipping (role none \u2014 this container registers and removes no gateways)';

test('--role none and RECONCILE_GATEWAYS_ROLE=none register and remove nothing, with their own skip line (#64846, #39252)', async (t) => {
  const w = await busyWorld('none');
  await assertUntouched(t, w, async () => {
    const flag = await runCli(['boot', ...worldArgs(w, ['/init', WRAPPER, 'gateway', 'run']), '--role', 'none']);
    t.is(flag.code, 0, flag.stderr);
    t.is(flag.stdout, `${NONE_LINE}\n`);
    const env = await runCli(['sync', ...worldArgs(w, undefined)], { env: { RECONCILE_GATEWAYS_ROLE: 'none' } });
    t.is(env.code, 0, env.stderr);
    t.is(env.stdout, `${NONE_LINE}\n`);
  });
  await removeTree(w.root);
});

test('--role none with --output json prints a schema-valid skipped document naming role none', async (t) => {
  const w = await busyWorld('nonejson');
  const { validatePlan } = await loadValidators();
  const run = await runCli(['boot', ...worldArgs(w, ['gateway', 'run']), '--role', 'none', '--output', 'json']);
  t.is(run.code, 0, run.stderr);
  const doc = parseDoc(run);
  t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
  t.deepEqual(doc, { formatVersion: '2', mode: 'boot', skipped: { role: 'none', message: NONE_LINE } });
  await removeTree(w.root);
});

/** `watch` in a dashboard container, once it has printed its skip line. */
async function startIdleWatch(w: World, extra: readonly string[]): Promise<ReturnType<typeof startCli>> {
  const run = startCli([
    'watch',
    ...worldArgs(w, undefined),
    '--role',
    'dashboard',
    '--status-file',
    path.join(w.root, 'status.json'),
    ...extra,
  ]);
  let out = '';
  run.child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  await waitFor(() => out.includes('\n'), 20_000, 'the skip line');
  return run;
}

test('watch in a dashboard container prints the skip document with --output json, idles, and exits 0 on SIGTERM', async (t) => {
  const w = await busyWorld('watchjson');
  const { validatePlan } = await loadValidators();
  await assertUntouched(t, w, async () => {
    for (const output of ['json', 'text'] as const) {
      const run = await startIdleWatch(w, ['--output', output]);
      run.child.kill('SIGTERM');
      const r = await run.done;
      t.is(r.code, 0, r.stderr);
      if (output === 'text') {
        t.is(r.stdout, `${SKIP_LINE}\n`);
        continue;
      }
      const doc = parseDoc(r);
      t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
      t.deepEqual(doc, { formatVersion: '2', mode: 'watch', skipped: { role: 'dashboard', message: SKIP_LINE } });
    }
  });
  await removeTree(w.root);
});

test('watch in a dashboard container still answers its probes and writes its metrics file: idle is its healthy state', async (t) => {
  const w = await busyWorld('watchprobe');
  const port = await freePort();
  const metricsFile = path.join(w.root, 'metrics.prom');
  const run = await startIdleWatch(w, ['--metrics-listen', `127.0.0.1:${port}`, '--metrics-file', metricsFile]);
  const get = async (p: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`);
    return { status: r.status, body: await r.text() };
  };
  t.deepEqual(await get('/healthz'), { status: 200, body: 'ok\n' });
  t.deepEqual(await get('/readyz'), { status: 200, body: 'ready\n' });
  const metrics = await get('/metrics');
  t.is(metrics.status, 200);
  // Nothing to reconcile is always up to date: an alert on last_success's age must not fire.
  const last = Number(/^reconcile_gateways_last_success_timestamp_seconds (\S+)$/m.exec(metrics.body)?.[1]);
  t.true(last > Date.now() / 1000 - 60, `last_success ${last}`);
  await waitFor(() => existsSync(metricsFile), 10_000, 'the metrics file');
  // s6-svc -h asks for a pass: there is none to run, and it must not kill the idle watcher.
  run.child.kill('SIGHUP');
  t.deepEqual(await get('/healthz'), { status: 200, body: 'ok\n' });
  run.child.kill('SIGTERM');
  const r = await run.done;
  t.is(r.code, 0, r.stderr);
  t.false(existsSync(w.scandir), 'still nothing registered');
  await removeTree(w.root);
});

for (const command of ['serve', 'gui', 'desktop'] as const) {
  test(`a ${command} container (the desktop app's backends, #78810) registers and removes nothing`, async (t) => {
    const w = await busyWorld(command);
    const line = `reconcile: skipping (${command} container \u2014 does not need per-profile gateways)`;
    await assertUntouched(t, w, async () => {
      for (const argv of [[command], ['/init', WRAPPER, command, '--port', '9119'], [...RC_INIT, WRAPPER, 'hermes', command]]) {
        const run = await runCli(['boot', ...worldArgs(w, argv)]);
        t.is(run.code, 0, run.stderr);
        t.is(run.stdout, `${line}\n`);
      }
      const json = await runCli(['sync', ...worldArgs(w, [command]), '--output', 'json']);
      t.like(parseDoc(json), { formatVersion: '2', mode: 'sync', skipped: { role: command, message: line } });
    });
    await removeTree(w.root);
  });
}

test('HERMES_GATEWAY_BOOTSTRAP_STATE=running seeds the root state on a first boot, as a planned operation (#37896, S71)', async (t) => {
  const w = await makeWorld('bootstrap', { create: 'none' });
  await makeHermesHome(w.home, {});
  const env = { HERMES_GATEWAY_BOOTSTRAP_STATE: 'running' };
  const diff = await runCli(['boot', ...worldArgs(w, ['gateway']), '--diff', '--output', 'json'], { env });
  t.is(diff.code, 1, diff.stderr);
  const doc = parseDoc(diff);
  const { validatePlan } = await loadValidators();
  t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
  t.like(
    (doc['operations'] as object[]).find((o) => (o as { kind: string }).kind === 'seed'),
    { service: 'gateway-default', files: ['gateway_state.json'] },
  );
  t.false(existsSync(path.join(w.home, 'gateway_state.json')), '--diff writes nothing');
  const run = await runCli(['boot', ...worldArgs(w, ['gateway'])], { env });
  t.is(run.code, 0, run.stderr);
  const { readFile } = await import('node:fs/promises');
  t.is(await readFile(path.join(w.home, 'gateway_state.json'), 'utf8'), '{"gateway_state":"running"}\n');
  t.false(existsSync(path.join(w.scandir, 'gateway-default', 'down')), 'the root gateway starts');
  t.true(run.stdout.includes('reconcile: applied service=gateway-default kind=seed'), run.stdout);
  t.is((await runCli(['boot', ...worldArgs(w, ['gateway']), '--diff'], { env })).code, 0, 'the seed is written once');
  await writeFile(path.join(w.home, 'gateway_state.json'), '{"desired_state": "stopped"}');
  t.is((await runCli(['boot', ...worldArgs(w, ['gateway'])], { env })).code, 0);
  t.is(
    await readFile(path.join(w.home, 'gateway_state.json'), 'utf8'),
    '{"desired_state": "stopped"}',
    'an existing file is never overwritten',
  );
  await removeTree(w.root);
});

test('HERMES_GATEWAY_BOOTSTRAP_STATE with any other value seeds nothing', async (t) => {
  const w = await makeWorld('bootstrapno', { create: 'none' });
  await makeHermesHome(w.home, {});
  const run = await runCli(['boot', ...worldArgs(w, ['gateway'])], { env: { HERMES_GATEWAY_BOOTSTRAP_STATE: 'stopped' } });
  t.is(run.code, 0, run.stderr);
  t.false(existsSync(path.join(w.home, 'gateway_state.json')));
  await removeTree(w.root);
});

test('an unknown role is a usage error', async (t) => {
  const w = await makeWorld('badrole', { create: 'none' });
  await makeHermesHome(w.home, {});
  t.is((await runCli(['boot', ...worldArgs(w), '--role', 'server'])).code, 100);
  t.is((await runCli(['boot', ...worldArgs(w)], { env: { RECONCILE_GATEWAYS_ROLE: 'Dashboard' } })).code, 100);
  t.false(existsSync(w.scandir));
  await removeTree(w.root);
});
