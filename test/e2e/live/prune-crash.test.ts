/**
 * Issue 16 #7, the SIGKILL trial at the exact rename-then-`an` point: a run killed after moving a
 * deleted profile's slot into the trash and before telling s6-svscan leaves its gateway running
 * from the trash. The next pass sees it, plans a `purge`, sends `-an` again and deletes it once
 * its supervisors exited; `status` shows it meanwhile. Before the fix every later sync reported
 * converged and the gateway ran forever.
 */
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { processAlive, repoRoot } from '../../helpers/s6.js';
import { startNode } from '../../helpers/cli.js';
import { makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { needsS6 } from '../../helpers/needs.js';

const RUNNING = { desired_state: 'running' };
test.after.always('stop s6 and remove temp dirs', removeS6Worlds);

needsS6(test)('SIGKILL between the rename into the trash and the -an: the next pass stops the gateway and deletes the slot', async (t) => {
  const env = await makeS6World('live', { profiles: { gone: RUNNING, stays: RUNNING } });
  t.is((await env.cli('sync')).code, 0);
  await env.waitUp('gone');
  const gateway = await env.pid('gone');
  await rm(path.join(env.home, 'profiles/gone'), { recursive: true });

  const request = { mode: 'sync', home: env.home, scandir: env.scandir, config: env.config, killAt: 0, killAfterTrash: true };
  const killed = await startNode([path.join(repoRoot(), 'dist', 'test', 'e2e', 'hardening', 'pass-driver.js'), JSON.stringify(request)])
    .done;
  t.is(killed.signal, 'SIGKILL', killed.stderr);
  const trash = path.join(env.scandir, '.reconcile-gateways', 'trash');
  t.deepEqual(readdirSync(trash), ['gateway-gone'], 'killed after the rename');
  t.true(processAlive(gateway), 'the gateway runs on from the trash');

  const status = await env.cli('status');
  t.regex(
    status.stdout + status.stderr,
    /gateway-gone: removal pending: supervisor still running in the trash; the next sync or\s+watch\s+pass finishes it/,
  );

  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  const ops = (sync.doc['operations'] as { kind: string; service: string; status: string }[]).map(
    (o) => `${o.kind} ${o.service} ${o.status}`,
  );
  t.deepEqual(ops, ['purge gateway-gone applied']);
  t.false(processAlive(gateway), 'the gateway was stopped');
  t.false(existsSync(path.join(trash, 'gateway-gone')));
  t.deepEqual((await env.json('sync')).doc['operations'], [], 'converged');
});
