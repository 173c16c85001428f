/**
 * Issue 4, crashes, with real s6: restarts decided by `--restart-changed` are persisted before
 * they are done, so a pass killed in between loses none: the next plain sync restarts them.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, waitFor } from '../../helpers/s6.js';
import { SLEEPING_GATEWAY, type S6World, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { runWorld, runWorldJson, writeConfig, writeProfiles, startNode } from '../../helpers/cli.js';
import { ROOT, S6, needs } from '../../helpers/needs.js';

test.after.always('stop s6 and remove scratch trees', removeS6Worlds);

/**
 * A booted world under a live s6 whose profiles all run gateway `gw1`; `gw(name)` writes another
 * gateway program, so a config naming it changes every slot's run.
 */
async function bootedWorld(prefix: string, profiles: readonly string[]): Promise<{ l: S6World; gw: (name: string) => string }> {
  const l = await makeS6World(prefix, { gateway: SLEEPING_GATEWAY, nobodyDir: false });
  const gw = (name: string): string => {
    const file = path.join(l.root, name);
    fs.writeFileSync(file, SLEEPING_GATEWAY, { mode: 0o755 });
    return file;
  };
  writeConfig(l, { gatewayCommand: gw('gw1'), home: l.home });
  writeProfiles(l.home, Object.fromEntries(profiles.map((p) => [p, 'running'])));
  const boot = await runWorld('boot', l);
  if (boot.code !== 0) throw new Error(`boot failed: ${boot.stderr}`);
  await l.svscan.rescan(); // boot leaves the rescan to s6-overlay, as upstream does
  for (const p of profiles) await l.svscan.waitUp(`gateway-${p}`);
  return { l, gw };
}

needs(
  test,
  S6,
  ROOT,
)('a sync --restart-changed killed after persisting its restarts has them done by the next plain sync', async (t) => {
  const { l, gw } = await bootedWorld('journal', ['alice', 'bob']);
  const { svscan } = l;
  const pids = { alice: (await svscan.svstat('gateway-alice')).pid, bob: (await svscan.svstat('gateway-bob')).pid };

  writeConfig(l, { gatewayCommand: gw('gw2'), home: l.home });
  const request = { mode: 'sync', home: l.home, scandir: l.scandir, config: l.config, killAt: 1, restartChanged: true };
  const killed = await startNode([path.join(repoRoot(), 'dist', 'test', 'e2e', 'hardening', 'pass-driver.js'), JSON.stringify(request)])
    .done;
  t.is(killed.signal, 'SIGKILL', killed.stderr);
  const journal = JSON.parse(fs.readFileSync(path.join(l.scandir, '.reconcile-gateways', 'restarts.json'), 'utf8')) as {
    services: string[];
  };
  t.deepEqual(journal.services, ['gateway-alice', 'gateway-bob']);
  t.is((await svscan.svstat('gateway-alice')).pid, pids.alice, 'restarted before the kill');

  const { doc, ...result } = await runWorldJson('sync', l);
  t.is(result.code, 0, result.stderr);
  t.deepEqual((doc as { restartPending?: string[] }).restartPending, []);
  for (const name of ['alice', 'bob'] as const) {
    await waitFor(
      async () => {
        const now = await svscan.svstat(`gateway-${name}`);
        return now.up && now.pid !== pids[name];
      },
      10_000,
      `${name} to be restarted`,
    );
  }
  t.false(fs.existsSync(path.join(l.scandir, '.reconcile-gateways', 'restarts.json')), 'the journal outlived its restarts');

  writeConfig(l, { gatewayCommand: gw('gw1'), home: l.home });
  const restarted = { alice: (await svscan.svstat('gateway-alice')).pid, bob: (await svscan.svstat('gateway-bob')).pid };
  const plain = await runWorldJson('sync', l);
  t.deepEqual(
    (plain.doc as { restartPending?: string[] }).restartPending,
    ['gateway-alice', 'gateway-bob'],
    'without a journal a plain sync only reports',
  );
  t.is((await svscan.svstat('gateway-alice')).pid, restarted.alice);
});

needs(
  test,
  S6,
  ROOT,
)('a journalled restart of a slot being adopted survives the kill too: the next plain sync adopts it and restarts it', async (t) => {
  const { l, gw } = await bootedWorld('journal-adopt', ['carol']);
  const { svscan } = l;
  const pid = (await svscan.svstat('gateway-carol')).pid;
  // As the Hermes CLI leaves a slot it registered: no ownership record.
  fs.rmSync(path.join(l.scandir, 'gateway-carol', '.reconcile-gateways.json'));

  writeConfig(l, { gatewayCommand: gw('gw2'), home: l.home });
  const request = { mode: 'sync', home: l.home, scandir: l.scandir, config: l.config, killAt: 1, restartChanged: true };
  const killed = await startNode([path.join(repoRoot(), 'dist', 'test', 'e2e', 'hardening', 'pass-driver.js'), JSON.stringify(request)])
    .done;
  t.is(killed.signal, 'SIGKILL', killed.stderr);
  t.false(fs.existsSync(path.join(l.scandir, 'gateway-carol', '.reconcile-gateways.json')), 'killed before the adoption');

  const { doc, ...result } = await runWorldJson('sync', l);
  t.is(result.code, 0, result.stderr);
  t.deepEqual((doc as { restartPending?: string[] }).restartPending, []);
  await waitFor(
    async () => {
      const now = await svscan.svstat('gateway-carol');
      return now.up && now.pid !== pid;
    },
    10_000,
    'carol to be restarted',
  );
  t.true(fs.existsSync(path.join(l.scandir, 'gateway-carol', '.reconcile-gateways.json')), 'adopted');
  t.false(fs.existsSync(path.join(l.scandir, '.reconcile-gateways', 'restarts.json')));
});
