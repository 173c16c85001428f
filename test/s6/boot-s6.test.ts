/**
 * Real s6: boot into a temp scandir, start s6-svscan on it, and check with s6-svstat that the
 * autostart profiles are up and the others are supervised but down, that the pre-seeded
 * skeleton lets the unprivileged user control a service, and that nothing is left running.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bootArgs, bootJson, runCli } from '../helpers/cli.js';
import { createSvscanState, processAlive, requireS6, startSvscan, stopAll, waitFor } from '../helpers/s6.js';
import { makeHermesHome, removeTree, tempDir } from '../helpers/tree.js';

test.after.always('stop every s6-svscan started here', async () => {
  await stopAll({ removeState: true });
});

const NOBODY = 65534;

/** A fake gateway the `nobody` user can run, and a home whose logs/ nobody can write. */
async function fakeHost(): Promise<{ root: string; gateway: string; home: string }> {
  const root = await tempDir('rg-s6-');
  await chmod(root, 0o755);
  const gateway = path.join(root, 'fake-gateway');
  await writeFile(gateway, '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
  const home = path.join(root, 'home');
  await mkdir(path.join(home, 'logs', 'gateways'), { recursive: true, mode: 0o755 });
  await chown(path.join(home, 'logs', 'gateways'), NOBODY, NOBODY);
  return { root, gateway, home };
}

function uidOf(pid: number): number {
  const status = spawnSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' }).stdout;
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
}

test('booted slots run under real s6: autostart profiles up, the others supervised but down', async (t) => {
  if (!requireS6(t)) {
    t.pass();
    return;
  }
  const host = await fakeHost();
  t.teardown(() => removeTree(host.root));
  const hermesHome = path.join(host.root, 'hermes');
  await makeHermesHome(
    hermesHome,
    { coder: { state: { gateway_state: 'running' } }, writer: { state: { desired_state: 'stopped', gateway_state: 'running' } }, fresh: {} },
    { gateway_state: 'draining' },
  );
  const config = path.join(host.root, 'config.json');
  await writeFile(
    config,
    JSON.stringify({ shebang: '#!/bin/sh', user: 'nobody', gatewayCommand: host.gateway, home: host.home, s6BinDir: '/usr/bin', uid: NOBODY, gid: NOBODY }),
  );
  const { state, scandir } = await createSvscanState();
  await chmod(state, 0o755); // mkdtemp made it 0700: nobody could not even reach the scandir
  const boot = await runCli(bootArgs(hermesHome, scandir, '--config', config));
  t.is(boot.code, 0, boot.stderr);

  const svscan = await startSvscan(state);
  for (const up of ['gateway-default', 'gateway-coder']) {
    await svscan.waitUp(up);
    const st = await svscan.svstat(up);
    t.like(st, { up: true, wantedup: true, normallyup: true }, up);
    t.is(uidOf(st.pid), NOBODY, `${up} runs as nobody through s6-setuidgid`);
    t.regex(await readFile(`/proc/${st.pid}/cmdline`, 'utf8'), /^sleep\u00001000\u0000$/);
    await svscan.waitUp(`${up}/log`);
  }
  for (const down of ['gateway-writer', 'gateway-fresh']) {
    await svscan.waitSupervised(down);
    t.like(await svscan.svstat(down), { up: false, wantedup: false, normallyup: false, pid: -1 }, down);
  }

  // s6-supervise kept the pre-seeded skeleton: nobody can drive the service (upstream I4).
  const control = await stat(path.join(scandir, 'gateway-coder/supervise/control'));
  t.deepEqual([control.isFIFO(), control.uid, control.mode & 0o777], [true, NOBODY, 0o660]);
  const svc = spawnSync('s6-setuidgid', ['nobody', 's6-svc', '-d', path.join(scandir, 'gateway-coder')], { encoding: 'utf8' });
  t.is(svc.status, 0, svc.stderr);
  await svscan.waitDown('gateway-coder');

  // A boot while s6 runs, with the same intent: nothing to do, nothing restarted.
  const before = await svscan.svstat('gateway-default');
  const again = await bootJson(hermesHome, scandir, ['--config', config]);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(again.doc['operations'], []);
  t.is((await svscan.svstat('gateway-default')).pid, before.pid);

  const pids = [svscan.pid, ...svscan.supervisorPids(), before.pid];
  await svscan.stop({ removeState: true });
  await waitFor(() => pids.every((pid) => !processAlive(pid)), 10_000, 'every s6 process to exit');
  t.true(pids.every((pid) => !processAlive(pid)));
});
