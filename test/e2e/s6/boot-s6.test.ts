/**
 * Real s6: boot into a temp scandir, start s6-svscan on it, and check with s6-svstat that the
 * autostart profiles are up and the others are supervised but down, that the pre-seeded
 * skeleton lets the unprivileged user control a service, and that nothing is left running.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { bootArgs, bootJson, runCli } from '../../helpers/cli.js';
import { type Svscan, processAlive, waitFor } from '../../helpers/s6.js';
import { NOBODY, SLEEPING_GATEWAY, type S6World, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { makeHermesHome } from '../../helpers/tree.js';
import { needsS6 } from '../../helpers/needs.js';

test.after.always('stop every s6-svscan started here, remove the worlds', removeS6Worlds);

/**
 * A HERMES_HOME, a sleeping gateway `nobody` can run, a gateways' HOME whose logs/gateways nobody can
 * write, the config, and an s6-svscan state not yet started.
 */
async function fakeHost(): Promise<S6World> {
  const w = await makeS6World('boot', { gateway: SLEEPING_GATEWAY, gatewayHome: 'own', nobodyDir: 'logs/gateways', start: false });
  await makeHermesHome(
    w.home,
    {
      coder: { state: { gateway_state: 'running' } },
      writer: { state: { desired_state: 'stopped', gateway_state: 'running' } },
      fresh: {},
    },
    { gateway_state: 'draining' },
  );
  return w;
}

function uidOf(pid: number): number {
  const status = spawnSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' }).stdout;
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
}

async function checkUp(t: ExecutionContext, svscan: Svscan, service: string): Promise<void> {
  await svscan.waitUp(service);
  const st = await svscan.svstat(service);
  t.like(st, { up: true, wantedup: true, normallyup: true }, service);
  // "up" starts at the spawn of ./run (root, sh); the exec chain reaches sleep a moment later.
  const cmdline = async (): Promise<string> => readFile(`/proc/${st.pid}/cmdline`, 'utf8');
  await waitFor(async () => /^sleep\u0000/.test(await cmdline()), 10_000, `${service} to exec the gateway`);
  t.is(uidOf(st.pid), NOBODY, `${service} runs as nobody through s6-setuidgid`);
  t.regex(await readFile(`/proc/${st.pid}/cmdline`, 'utf8'), /^sleep\u00001000\u0000$/);
  await svscan.waitUp(`${service}/log`);
}

async function checkDown(t: ExecutionContext, svscan: Svscan, service: string): Promise<void> {
  await svscan.waitSupervised(service);
  t.like(await svscan.svstat(service), { up: false, wantedup: false, normallyup: false, pid: -1 }, service);
}

needsS6(test)('booted slots run under real s6: autostart profiles up, the others supervised but down', async (t) => {
  const host = await fakeHost();
  const scandir = host.scandir; // its state dir is 0755: under mkdtemp's 0700 nobody could not even reach it
  const boot = await runCli(bootArgs(host.home, scandir, '--config', host.config));
  t.is(boot.code, 0, boot.stderr);

  const svscan = await host.startSvscan();
  for (const service of ['gateway-default', 'gateway-coder']) await checkUp(t, svscan, service);
  for (const service of ['gateway-writer', 'gateway-fresh']) await checkDown(t, svscan, service);

  // s6-supervise kept the pre-seeded skeleton: nobody can drive the service (upstream I4), through
  // the root-owned skeleton's group permissions (superviseOwner root, the default).
  const control = await stat(path.join(scandir, 'gateway-coder/supervise/control'));
  t.deepEqual([control.isFIFO(), control.uid, control.gid, control.mode & 0o777], [true, 0, NOBODY, 0o620]);
  const svc = spawnSync('s6-setuidgid', ['nobody', 's6-svc', '-d', path.join(scandir, 'gateway-coder')], { encoding: 'utf8' });
  t.is(svc.status, 0, svc.stderr);
  await svscan.waitDown('gateway-coder');

  // A boot while s6 runs, with the same intent: nothing to do, nothing restarted.
  const before = await svscan.svstat('gateway-default');
  const again = await bootJson(host.home, scandir, ['--config', host.config]);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(again.doc['operations'], []);
  t.is((await svscan.svstat('gateway-default')).pid, before.pid);

  const pids = [svscan.pid, ...svscan.supervisorPids(), before.pid];
  await svscan.stop({ removeState: true });
  await waitFor(() => pids.every((pid) => !processAlive(pid)), 10_000, 'every s6 process to exit');
  t.true(pids.every((pid) => !processAlive(pid)));
});
