/**
 * Real s6: `boot` leaves rescanning to s6-overlay (as upstream), so slots it writes while an
 * s6-svscan already runs are not supervised. The next `sync` or `watch` pass plans a `pickup` for
 * each (one rescan for all), which `status` and `sync --diff` show, so the gateways start.
 */
import test from 'ava';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { needsS6 } from '../../helpers/needs.js';
import { waitFor } from '../../helpers/s6.js';
import { killWatchers, readiness, startWatch } from '../../helpers/watcher.js';
import { PICKUP_REASON } from '../../../src/desired/drift.js';

test.after.always('stop watchers and every s6-svscan started here, remove the worlds', async () => {
  await killWatchers();
  await removeS6Worlds();
});

needsS6(test)(
  'slots boot wrote under a running s6-svscan are pickups: status notes them, sync --diff shows them, sync applies them',
  async (t) => {
    const env = await makeS6World('pick-up', { profiles: { coder: { desired_state: 'running' }, broken: '{"desired_state": "runn' } });
    const boot = await env.cli('boot');
    t.is(boot.code, 0, boot.stderr);
    t.false(existsSync(path.join(env.slot('coder'), 'supervise', 'status')), 'boot asked s6-svscan for nothing');

    const status = await env.json('status');
    const rows = status.doc['profiles'] as { profile: string; live: unknown; drift: string[] }[];
    const coder = rows.find((r) => r.profile === 'coder');
    t.is(coder?.live, null);
    t.true(coder?.drift.includes(`pickup: ${PICKUP_REASON}`), JSON.stringify(coder?.drift));
    const table = await env.cli('status');
    t.regex(table.stdout, /pickup: s6-svscan never picked the slot up/);

    const diff = await env.cli('sync', ['--diff']);
    t.is(diff.code, 1, 'sync would start supervisors: a change');
    for (const service of ['gateway-broken', 'gateway-coder', 'gateway-default'])
      t.true(diff.stdout.includes(`${service} pickup: ${PICKUP_REASON}`), diff.stdout);
    t.regex(diff.stdout, / pickup=3 /);
    const sync = await env.cli('sync');
    t.is(sync.code, 0, sync.stderr);
    t.regex(sync.stdout, /reconcile: applied service=gateway-coder kind=pickup /);
    t.regex(
      sync.stdout,
      /reconcile: applied service=gateway-broken kind=pickup /,
      'a slot kept as it is is picked up too, as every new slot is',
    );
    await env.waitUp('coder');
    const after = ((await env.json('status')).doc['profiles'] as { profile: string; drift: string[] }[]).find((r) => r.profile === 'coder');
    t.deepEqual(after?.drift, [], 'supervised and up: nothing to note');
    const again = await env.cli('sync', ['--diff']);
    t.notRegex(again.stdout, /pickup/, 'picked up: nothing left to pick up');
  },
);

needsS6(test)('a watcher started after such a boot has the slots supervised by its first pass, with nothing else to do', async (t) => {
  const env = await makeS6World('pick-up-watch', { profiles: { coder: { desired_state: 'running' } } });
  t.is((await env.cli('boot')).code, 0);
  const w = startWatch(env);
  await readiness(w);
  await env.waitUp('coder');
  // One rescan starts a supervisor per slot, each in its own time: wait for the other one too.
  await waitFor(() => existsSync(path.join(env.slot('default'), 'supervise', 'status')), 10_000, 'every slot boot wrote to be supervised');
  w.child.kill('SIGTERM');
  t.is(await w.exited, 0);
  t.regex(w.stdout, /reconcile: pass trigger=start scope=full result=converged .* pickup=2 .*services=gateway-coder,gateway-default /);
});

needsS6(test)(
  'a never-supervised slot adopted in the same pass (no ownership record) is picked up by that pass: one sync converges',
  async (t) => {
    const env = await makeS6World('pick-up-adopt', { profiles: { coder: { desired_state: 'running' } } });
    t.is((await env.cli('boot')).code, 0);
    rmSync(path.join(env.slot('coder'), '.reconcile-gateways.json'));
    const sync = await env.cli('sync');
    t.is(sync.code, 0, sync.stderr);
    t.regex(sync.stdout, /applied service=gateway-coder kind=update /);
    t.regex(sync.stdout, /applied service=gateway-coder kind=pickup /);
    await env.waitUp('coder');
    const again = await env.cli('sync', ['--diff']);
    t.is(again.code, 0, again.stdout);
  },
);
