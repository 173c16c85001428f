/**
 * Issue 11, real s6: `boot` run by mistake on a live system (s6-svscan supervising gateways that
 * are up) keeps their runtime files, keeps a gateway whose state file is half-written at that
 * moment running (pending, as sync does), and warns once that boot is the container-start pass.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { bootArgs, bootJson, runCli } from '../../helpers/cli.js';
import { SLEEPING_GATEWAY, type S6World, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { makeHermesHome } from '../../helpers/tree.js';
import { needsS6 } from '../../helpers/needs.js';

test.after.always('stop every s6-svscan started here, remove the worlds', removeS6Worlds);

const RUNTIME = ['gateway.pid', 'processes.json'];

async function liveHost(): Promise<S6World> {
  const w = await makeS6World('boot-live', { gateway: SLEEPING_GATEWAY, gatewayHome: 'own', nobodyDir: 'logs/gateways', start: false });
  await makeHermesHome(
    w.home,
    {
      coder: { state: { gateway_state: 'running' } },
      writer: { state: { gateway_state: 'running' } },
      idle: { state: { desired_state: 'stopped' } },
    },
    { gateway_state: 'running' },
  );
  return w;
}

needsS6(test)('boot on a live system keeps running gateways, their runtime files and a half-written intent, and warns once', async (t) => {
  const host = await liveHost();
  const scandir = host.scandir;
  t.is((await runCli(bootArgs(host.home, scandir, '--config', host.config))).code, 0);
  const svscan = await host.startSvscan();
  for (const service of ['gateway-default', 'gateway-coder', 'gateway-writer']) await svscan.waitUp(service);
  const writerPid = (await svscan.svstat('gateway-writer')).pid;

  const dirs = {
    default: host.home,
    coder: path.join(host.home, 'profiles/coder'),
    idle: path.join(host.home, 'profiles/idle'),
  };
  for (const dir of Object.values(dirs)) for (const f of RUNTIME) await writeFile(path.join(dir, f), '4242\n');
  // The writer gateway is rewriting its state file right now: the file is cut mid-value.
  await writeFile(path.join(host.home, 'profiles/writer/gateway_state.json'), '{"gateway_state": "runn');

  const diff = await bootJson(host.home, scandir, ['--config', host.config, '--diff']);
  const planned = diff.doc['operations'] as { kind: string; service: string; files?: string[] }[];
  t.deepEqual(
    planned.map((o) => [o.kind, o.service, o.files]),
    [['sweep', 'gateway-idle', RUNTIME.map((f) => `profiles/idle/${f}`)]],
  );

  const boot = await bootJson(host.home, scandir, ['--config', host.config]);
  t.is(boot.code, 0, boot.stderr);
  const warning = 's6 already supervises 3 gateway service(s) that are up: boot is the container-start pass';
  t.is((boot.doc['warnings'] as string[]).filter((w) => w.startsWith(warning)).length, 1, JSON.stringify(boot.doc['warnings']));
  t.is(boot.stderr.split('\n').filter((l) => l.includes(warning)).length, 1, boot.stderr);
  for (const f of RUNTIME) {
    t.true(existsSync(path.join(dirs.default, f)), `the root gateway's ${f} is kept`);
    t.true(existsSync(path.join(dirs.coder, f)), `coder's ${f} is kept`);
    t.false(existsSync(path.join(dirs.idle, f)), `idle's stale ${f} is swept: its gateway is down`);
  }
  t.like(
    (boot.doc['profiles'] as object[]).find((p) => (p as { profile: string }).profile === 'writer'),
    { action: 'pending' },
  );
  t.false(existsSync(path.join(scandir, 'gateway-writer', 'down')), 'the half-written intent does not stop the writer');
  const writer = await svscan.svstat('gateway-writer');
  t.true(writer.up);
  t.is(writer.pid, writerPid, 'the writer gateway kept running');
  t.is((await bootJson(host.home, scandir, ['--config', host.config, '--diff'])).code, 0, 'after boot, boot --diff plans nothing');
});
