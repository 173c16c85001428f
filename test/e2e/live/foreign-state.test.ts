/**
 * A pass run as another user left a removal pending in its state directory (a gateway still running
 * from its trash, say one that ignored SIGTERM for a while). A root pass replaces that directory
 * as foreign; before, it deleted it with the trash in it, and the gateway ran on with nothing left
 * to stop it, while `status` and `--diff` said converged. Now every pass says so, `--diff` shows the
 * purge, and the pass that replaces the directory takes the running removal over and finishes it.
 * A "running removal" the hermes user planted there, a control FIFO it reads itself, is none.
 */
import test, { type ExecutionContext } from 'ava';
import { chownSync, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { processAlive, waitFor } from '../../helpers/s6.js';
import { NOBODY, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { needsS6 } from '../../helpers/needs.js';
import { killGroup, runJson } from '../../helpers/cli.js';
import { holdOpen, makeFifo } from '../../helpers/fifo.js';
import { worldArgs } from '../../helpers/world.js';

const RUNNING = { desired_state: 'running' };
test.after.always('stop s6 and remove temp dirs', removeS6Worlds);

async function takesOver(
  t: ExecutionContext,
  lock: 'own lock file' | 'lock in the state directory',
  superviseOwner?: 'user',
): Promise<void> {
  const settings = superviseOwner === undefined ? {} : { settings: { superviseOwner } };
  const env = await makeS6World('live', { profiles: { gone: RUNNING, stays: RUNNING }, ...settings });
  t.is((await env.cli('sync')).code, 0);
  await env.waitUp('gone');
  const gateway = await env.pid('gone');
  // What a hermes pass leaves behind: its own state directory, the slot moved into its trash,
  // the supervisor still running there (s6-svscan was never told).
  const state = path.join(env.scandir, '.reconcile-gateways');
  await rm(state, { recursive: true, force: true });
  mkdirSync(path.join(state, 'trash'), { recursive: true, mode: 0o700 });
  renameSync(env.slot('gone'), path.join(state, 'trash', 'gateway-gone'));
  chownSync(path.join(state, 'trash'), NOBODY, NOBODY);
  chownSync(state, NOBODY, NOBODY);
  await rm(path.join(env.home, 'profiles/gone'), { recursive: true });
  t.true(processAlive(gateway), 'the gateway runs on from the foreign trash');

  const foreign = new RegExp(
    `${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is a directory of uid ${NOBODY}, not this user's private directory.*gateway-gone, pending removal there with its supervisor still running, moves into the new trash`,
  );
  const status = await env.json('status');
  const warnings = status.doc['warnings'] as string[];
  t.true(
    warnings.some((w) => foreign.test(w)),
    warnings.join('\n'),
  );
  t.true(warnings.some((w) => w.startsWith('gateway-gone: removal pending')));
  const diff = await env.cli('sync', ['--diff']);
  t.regex(diff.stdout, /gateway-gone purge/);
  t.regex(diff.stderr, foreign);

  // With the lock in the state directory, taking the lock replaces it, before anything is planned.
  const sync = lock === 'own lock file' ? await env.json('sync') : await runJson(['sync', ...worldArgs(env)]);
  t.is(sync.code, 0, sync.stderr);
  // Either way the pass that replaces it says so, before it applies anything.
  t.regex(
    sync.stderr,
    /replaced .*\.reconcile-gateways, a directory of uid 65534 and not this user's private directory.*its restart journal and trash are gone; gateway-gone, pending removal there with its supervisor still running, moved into the new trash/,
  );
  const ops = (sync.doc['operations'] as { kind: string; service: string; status: string }[]).map(
    (o) => `${o.kind} ${o.service} ${o.status}`,
  );
  t.deepEqual(ops, ['purge gateway-gone applied']);
  t.false(processAlive(gateway), 'the gateway was stopped');
  t.deepEqual(
    readdirSync(env.scandir).filter((e) => e.startsWith('.reconcile-gateways')),
    ['.reconcile-gateways'],
    'the foreign directory is gone, nothing left aside',
  );
  t.false(existsSync(path.join(state, 'trash', 'gateway-gone')));
  const again = await env.cli('sync');
  t.is(again.code, 0, again.stderr);
  t.notRegex(again.stderr, /not this user's private directory/, 'the state directory is ours now');
}

needsS6(test)('a root pass takes over a running removal from another user’s state directory instead of orphaning it', (t) =>
  takesOver(t, 'own lock file'),
);
needsS6(test)('… also when the run lock lives in that directory, and says it replaced it', (t) =>
  takesOver(t, 'lock in the state directory'),
);
needsS6(test)('… also when the hermes user owns supervise/control (superviseOwner: user, or a slot the Hermes CLI registered)', (t) =>
  takesOver(t, 'lock in the state directory', 'user'),
);

needsS6(test)(
  'a FIFO the hermes user holds open in a trash entry it planted stalls no removal: the slot of that name is removed at once',
  async (t) => {
    const env = await makeS6World('live', { profiles: { gone: RUNNING, stays: RUNNING } });
    t.is((await env.cli('sync')).code, 0);
    await env.waitUp('gone');
    const gateway = await env.pid('gone');
    // What the hermes user can plant where there is no state directory yet (or in a scandir that is
    // not sticky): a "pending removal" of gateway-gone whose control it reads itself.
    const state = path.join(env.scandir, '.reconcile-gateways');
    await rm(state, { recursive: true, force: true });
    const supervise = path.join(state, 'trash', 'gateway-gone', 'supervise');
    mkdirSync(supervise, { recursive: true, mode: 0o700 });
    makeFifo(path.join(supervise, 'control'));
    for (const p of [state, path.dirname(path.dirname(supervise)), path.dirname(supervise), supervise, path.join(supervise, 'control')])
      chownSync(p, NOBODY, NOBODY);
    const holder = await holdOpen(path.join(supervise, 'control'), { uid: NOBODY });
    t.teardown(() => killGroup(holder, 'SIGKILL'));
    await rm(path.join(env.home, 'profiles/gone'), { recursive: true });

    const diff = await env.cli('sync', ['--diff']);
    t.regex(diff.stdout, /^gateway-gone remove: profile deleted \(stops its running gateway/m);
    t.notRegex(diff.stdout, /gateway-gone purge/, 'nothing in that trash is a running removal');
    // Waiting for that reader would have ended in a pending removal (it never goes away): applied is
    // what says it was not waited for.
    const sync = await env.json('sync');
    t.is(sync.code, 0, sync.stderr);
    t.deepEqual(
      (sync.doc['operations'] as { kind: string; service: string; status: string }[]).map((o) => `${o.kind} ${o.service} ${o.status}`),
      ['remove gateway-gone applied'],
    );
    await waitFor(() => !processAlive(gateway), 10_000, 'the gateway of the deleted profile to be stopped');
    t.deepEqual(readdirSync(path.join(state, 'trash')), []);
    t.is((await env.cli('sync')).code, 0, 'converged');
  },
);
