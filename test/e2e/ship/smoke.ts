/**
 * The end-to-end smoke run of the shipped CLI: `boot`, `sync`, `watch` and `status` on a small
 * HERMES_HOME with a real s6-svscan, for a given node binary and CLI file (the bin, the bundle
 * copied alone, an installed package). Shared by the shipping tests.
 */
import type { ExecutionContext } from 'ava';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { loadValidators } from '../../../src/cli/validate.js';
import { type CliResult, runCli, startCli } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/s6.js';
import { makeS6World } from '../../helpers/s6-world.js';
import { freePort } from '../../helpers/watcher.js';

/** What runs the CLI: a node binary and the file it runs. */
export interface Runner {
  readonly node: string;
  readonly cli: string;
}

const GATEWAY = '#!/bin/sh\nexec sleep 100000\n';

function spawnWatch(
  runner: Runner,
  args: readonly string[],
): { child: ChildProcess; ready: Promise<void>; exited: Promise<number | string>; stderr: () => string } {
  const { child } = startCli(['watch', ...args], { node: runner.node, main: runner.cli, fd3: true, timeoutMs: Number.POSITIVE_INFINITY });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const ready = new Promise<void>((resolve, reject) => {
    const fd3 = child.stdio[3] as Readable;
    fd3.on('data', () => resolve());
    fd3.on('end', () => reject(new Error(`watch closed its readiness fd without a newline: ${stderr}`)));
  });
  return { child, ready, exited, stderr: () => stderr };
}

/**
 * Runs every command through `runner`, in a container's order: boot (the cont-init step, before
 * s6-svscan starts) lays out the slots, s6-svscan starts the running profile, a sync then finds
 * nothing to do, watch picks up a new profile, and status reports them as a valid document.
 */
export async function smokeAllCommands(t: ExecutionContext<unknown>, runner: Runner): Promise<void> {
  const world = await makeS6World('smoke', { gateway: GATEWAY, nobodyDir: false, start: false });
  t.teardown(() => world.remove());
  const run = (args: readonly string[]): Promise<CliResult> => runCli(args, { node: runner.node, main: runner.cli });
  const { validatePlan, validateStatusReport } = await loadValidators();
  await world.profile('alpha', { desired_state: 'running' });
  await world.profile('beta', { desired_state: 'stopped' });

  const boot = await run(['boot', ...world.flags, '--wait']);
  t.is(boot.code, 0, boot.stderr);
  t.regex(boot.stdout, /^reconcile: profile=alpha prior_state=running action=started/m);
  const svscan = await world.startSvscan();
  await svscan.waitUp('gateway-alpha', 20_000);

  // prom-client is inlined like every dependency: sync --metrics-file and watch --metrics-listen run too.
  const metricsFile = path.join(world.root, 'sync.prom');
  const sync = await run(['sync', ...world.flags, '--output', 'json', '--metrics-file', metricsFile]);
  t.is(sync.code, 0, sync.stderr);
  const plan = JSON.parse(sync.stdout) as { operations: unknown[] };
  t.true(validatePlan(plan), JSON.stringify(validatePlan.errors));
  t.deepEqual(plan.operations, [], 'a sync right after boot has nothing to do');
  t.true(
    (await readFile(metricsFile, 'utf8')).split('\n').includes('reconcile_gateways_passes_total{trigger="once",result="converged"} 1'),
  );

  const statusFile = path.join(world.root, 'run', 'status.json');
  const port = await freePort();
  const watchArgs = ['--interval', '300', '--status-file', statusFile, '--ready-fd', '3', '--metrics-listen', `127.0.0.1:${port}`];
  const watch = spawnWatch(runner, [...world.flags, ...watchArgs]);
  t.teardown(() => void watch.child.kill('SIGKILL'));
  await watch.ready;
  const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
  t.is(metrics.status, 200, watch.stderr());
  t.true((await metrics.text()).split('\n').includes('reconcile_gateways_passes_total{trigger="start",result="converged"} 1'));
  await world.profile('gamma', { desired_state: 'running' });
  await waitFor(() => svscan.isSupervised('gateway-gamma'), 20_000, `watch to create gateway-gamma (stderr: ${watch.stderr()})`);
  await svscan.waitUp('gateway-gamma', 20_000);
  watch.child.kill('SIGTERM');
  t.is(await watch.exited, 0, watch.stderr());

  const status = await run(['status', ...world.flags, '--status-file', statusFile, '--output', 'json']);
  t.is(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { profiles: { profile: string; slot: { present: boolean } }[] };
  t.true(validateStatusReport?.(report), JSON.stringify(validateStatusReport?.errors));
  const rows = report.profiles.map((r) => `${r.profile}:${r.slot.present ? 'slot' : 'none'}`).sort();
  t.deepEqual(rows, ['alpha:slot', 'beta:slot', 'default:slot', 'gamma:slot']);
}
