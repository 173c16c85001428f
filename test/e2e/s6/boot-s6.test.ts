/**
 * Real s6: boot into a temp scandir, start s6-svscan on it, and check with s6-svstat that the
 * autostart profiles are up and the others are supervised but down, that the pre-seeded
 * skeleton lets the unprivileged user control a service, and that nothing is left running.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bootArgs, bootJson, runCli } from '../../helpers/cli.js';
import { type Svscan, createSvscanState, processAlive, startSvscan, stopAll, waitFor } from '../../helpers/s6.js';
import { makeHermesHome, removeTree, tempDir } from '../../helpers/tree.js';
import { needsS6 } from '../../helpers/needs.js';

test.after.always('stop every s6-svscan started here', async () => {
  await stopAll({ removeState: true });
});

const NOBODY = 65534;

interface Host {
  readonly root: string;
  readonly hermesHome: string;
  readonly config: string;
}

/** A HERMES_HOME, a fake gateway `nobody` can run, a logs dir nobody can write, and the config. */
async function fakeHost(): Promise<Host> {
  const root = await tempDir('rg-s6-');
  await chmod(root, 0o755);
  const gateway = path.join(root, 'fake-gateway');
  await writeFile(gateway, '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
  const home = path.join(root, 'home');
  await mkdir(path.join(home, 'logs', 'gateways'), { recursive: true, mode: 0o755 });
  await chown(path.join(home, 'logs', 'gateways'), NOBODY, NOBODY);
  const hermesHome = await makeHermesHome(
    path.join(root, 'hermes'),
    {
      coder: { state: { gateway_state: 'running' } },
      writer: { state: { desired_state: 'stopped', gateway_state: 'running' } },
      fresh: {},
    },
    { gateway_state: 'draining' },
  );
  const config = path.join(root, 'config.json');
  const settings = { shebang: '#!/bin/sh', user: 'nobody', gatewayCommand: gateway, home, s6BinDir: '/usr/bin', uid: NOBODY, gid: NOBODY };
  await writeFile(config, JSON.stringify(settings));
  return { root, hermesHome, config };
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
  t.teardown(() => removeTree(host.root));
  const { state, scandir } = await createSvscanState();
  await chmod(state, 0o755); // mkdtemp made it 0700: nobody could not even reach the scandir
  const boot = await runCli(bootArgs(host.hermesHome, scandir, '--config', host.config));
  t.is(boot.code, 0, boot.stderr);

  const svscan = await startSvscan(state);
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
  const again = await bootJson(host.hermesHome, scandir, ['--config', host.config]);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(again.doc['operations'], []);
  t.is((await svscan.svstat('gateway-default')).pid, before.pid);

  const pids = [svscan.pid, ...svscan.supervisorPids(), before.pid];
  await svscan.stop({ removeState: true });
  await waitFor(() => pids.every((pid) => !processAlive(pid)), 10_000, 'every s6 process to exit');
  t.true(pids.every((pid) => !processAlive(pid)));
});
