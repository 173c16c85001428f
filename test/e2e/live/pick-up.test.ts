/**
 * Real s6: `boot` leaves rescanning to s6-overlay (as upstream), so slots it writes while an
 * s6-svscan already runs are not supervised. `status` says so and what picks them up; the next
 * `sync` ends its pass with a rescan, so the gateway starts.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { needsS6 } from '../../helpers/needs.js';
import { killWatchers, readiness, startWatch } from '../../helpers/watcher.js';

test.after.always('stop watchers and every s6-svscan started here, remove the worlds', async () => {
  await killWatchers();
  await removeS6Worlds();
});

needsS6(test)('slots boot wrote under a running s6-svscan are named in status, and the next sync has them supervised', async (t) => {
  const env = await makeS6World('pick-up', { profiles: { coder: { desired_state: 'running' } } });
  const boot = await env.cli('boot');
  t.is(boot.code, 0, boot.stderr);
  t.false(existsSync(path.join(env.slot('coder'), 'supervise', 'status')), 'boot asked s6-svscan for nothing');

  const status = await env.json('status');
  const rows = status.doc['profiles'] as { profile: string; live: unknown; drift: string[] }[];
  const coder = rows.find((r) => r.profile === 'coder');
  t.is(coder?.live, null);
  t.true(
    coder?.drift.includes('live: s6-svscan has not picked it up; sync (or s6-svscanctl -a on the scandir) starts its supervisor'),
    JSON.stringify(coder?.drift),
  );
  const table = await env.cli('status');
  t.regex(table.stdout, /s6-svscan has not picked it up/);

  const diff = await env.cli('sync', ['--diff']);
  t.is(diff.code, 0, 'a rescan is no change to the scandir');
  t.regex(diff.stderr, /warn: s6-svscan runs but no s6-supervise ever ran for gateway-coder; sync has s6-svscan rescan/);
  const sync = await env.cli('sync');
  t.is(sync.code, 0, sync.stderr);
  await env.waitUp('coder');
  const after = ((await env.json('status')).doc['profiles'] as { profile: string; drift: string[] }[]).find((r) => r.profile === 'coder');
  t.deepEqual(after?.drift, [], 'supervised and up: nothing to note');
});

needsS6(test)('a watcher started after such a boot has the slots supervised by its first pass, with nothing else to do', async (t) => {
  const env = await makeS6World('pick-up-watch', { profiles: { coder: { desired_state: 'running' } } });
  t.is((await env.cli('boot')).code, 0);
  const w = startWatch(env);
  await readiness(w);
  await env.waitUp('coder');
  t.true(existsSync(path.join(env.slot('default'), 'supervise', 'status')), 'every slot boot wrote is supervised');
  w.child.kill('SIGTERM');
  t.is(await w.exited, 0);
});
