/**
 * The host behaviours end to end under a real s6-svscan: what `boot` decides is what s6 runs.
 */
import test from 'ava';
import { existsSync, utimesSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { processAlive, waitFor } from '../../helpers/s6.js';
import { makeHermesHome, removeTree } from '../../helpers/tree.js';
import { runCli, worldArgs, writeConfig } from '../../helpers/cli.js';
import { SLEEPING_GATEWAY, type S6World, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { needsS6 } from '../../helpers/needs.js';

test.after.always('stop every s6-svscan started here, then remove the temp worlds', removeS6Worlds);

/** A world whose scandir is a fresh s6 state's `scan/`, a sleeping gateway nobody can run and a log home anyone can write. */
async function s6World(prefix: string, config: Record<string, unknown> = {}): Promise<S6World> {
  const w = await makeS6World(prefix, { gateway: SLEEPING_GATEWAY, nobodyDir: false, start: false });
  const logHome = path.join(w.root, 'log-home');
  await mkdir(logHome);
  await chmod(logHome, 0o777);
  writeConfig(w, { ...config, gatewayCommand: w.gateway, home: logHome });
  return w;
}

needsS6(test)('a legacy gateway-run container: the seeded root gateway really runs under s6, the stopped profile stays down', async (t) => {
  const w = await s6World('legacy');
  await makeHermesHome(w.home, { coder: { state: { desired_state: 'stopped' } } });
  const boot = await runCli(['boot', ...worldArgs(w, ['/init', '/opt/hermes/docker/main-wrapper.sh', 'gateway', 'run'])]);
  t.is(boot.code, 0, boot.stderr);
  const svscan = await w.startSvscan();
  await svscan.waitUp('gateway-default');
  const root = await svscan.svstat('gateway-default');
  t.true(root.up && processAlive(root.pid));
  await svscan.waitSupervised('gateway-coder');
  t.like(await svscan.svstat('gateway-coder'), { up: false, wantedup: false, normallyup: false });
  await svscan.stop({ removeState: true });
  await removeTree(w.root);
});

needsS6(test)('fold multiplexing under s6: one gateway (the root) runs, the named slots stay down', async (t) => {
  const w = await s6World('fold', { multiplexPolicy: 'fold' });
  await makeHermesHome(w.home, { alpha: { state: { desired_state: 'running' } }, beta: {} }, { desired_state: 'stopped' });
  const svscan = await w.startSvscan();
  const boot = await runCli(['boot', ...worldArgs(w)], { env: { GATEWAY_MULTIPLEX_PROFILES: '1' } });
  t.is(boot.code, 0, boot.stderr);
  t.true(boot.stdout.startsWith('reconcile: profile gateway(s) alpha asked to autostart;'));
  await svscan.rescan();
  await svscan.waitUp('gateway-default');
  for (const p of ['alpha', 'beta']) {
    await svscan.waitSupervised(`gateway-${p}`);
    t.like(await svscan.svstat(`gateway-${p}`), { up: false, wantedup: false }, p);
  }
  await svscan.stop({ removeState: true });
  await removeTree(w.root);
});

needsS6(test)('sync takes the slot of a tombstoned profile out of a live s6 and leaves no process behind', async (t) => {
  const w = await s6World('tomb');
  await makeHermesHome(w.home, { ghost: { state: { desired_state: 'running' } }, alive: { state: { desired_state: 'stopped' } } });
  const svscan = await w.startSvscan();
  t.is((await runCli(['boot', ...worldArgs(w)])).code, 0);
  await svscan.rescan();
  await svscan.waitUp('gateway-ghost');
  const ghost = await svscan.svstat('gateway-ghost');

  const now = Date.now() / 1000;
  await mkdir(path.join(w.home, 'profiles', '.deleted'));
  await writeFile(path.join(w.home, 'profiles', '.deleted', 'ghost'), '');
  utimesSync(path.join(w.home, 'profiles', 'ghost', 'SOUL.md'), now - 100, now - 100);
  utimesSync(path.join(w.home, 'profiles', '.deleted', 'ghost'), now - 10, now - 10);
  const sync = await runCli(['sync', ...worldArgs(w)]);
  t.is(sync.code, 0, sync.stderr);
  t.false(existsSync(svscan.servicePath('gateway-ghost')));
  await waitFor(
    () => !svscan.isSupervised('gateway-ghost') && !processAlive(ghost.pid),
    10_000,
    'the ghost gateway and its supervisor to go',
  );
  t.true(svscan.isSupervised('gateway-alive'));
  await svscan.stop({ removeState: true });
  await removeTree(w.root);
});
