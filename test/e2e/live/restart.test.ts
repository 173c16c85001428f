import test from 'ava';
import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { processAlive, waitFor } from '../../helpers/s6.js';
import { type S6World, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { needsS6 } from '../../helpers/needs.js';

const execFileAsync = promisify(execFile);
const RUNNING = { desired_state: 'running' };
const JOURNAL = '.reconcile-gateways/restarts.json';
test.after.always('stop s6 and remove temp dirs', removeS6Worlds);

async function setup(names: readonly string[]): Promise<S6World> {
  const env = await makeS6World('live', { profiles: Object.fromEntries(names.map((n) => [n, RUNNING])) });
  const boot = await env.cli('sync');
  if (boot.code !== 0) throw new Error(`first sync failed: ${boot.stderr}`);
  for (const n of names) await env.waitUp(n);
  return env;
}

/** Waits until a profile's gateway runs with a pid other than `old`. */
async function waitRestarted(env: S6World, profile: string, old: number): Promise<number> {
  let pid = -1;
  await waitFor(
    async () => {
      pid = await env.pid(profile);
      return pid > 0 && pid !== old;
    },
    30_000,
    `gateway-${profile} to run again with a new pid`,
  );
  return pid;
}

needsS6(test)('an update of a running gateway is a pending restart; --restart-changed restarts exactly the changed ones', async (t) => {
  const env = await setup(['a', 'b', 'c']);
  const pids = { a: await env.pid('a'), b: await env.pid('b'), c: await env.pid('c') };
  await appendFile(path.join(env.slot('a'), 'run'), '# edited by hand\n');
  await appendFile(path.join(env.slot('b'), 'finish'), '# edited by hand\n');

  const preview = await env.json('sync', ['--diff']);
  t.is(preview.code, 1);
  t.deepEqual(preview.doc['restartPending'], ['gateway-a', 'gateway-b']);

  const plain = await env.json('sync');
  t.is(plain.code, 0, plain.stderr);
  t.deepEqual(plain.doc['restartPending'], ['gateway-a', 'gateway-b'], 'sync repairs the files but does not restart by default');
  t.deepEqual([await env.pid('a'), await env.pid('b'), await env.pid('c')], [pids.a, pids.b, pids.c]);
  const text = await env.cli('sync');
  t.is(text.code, 0, text.stderr);
  t.deepEqual(
    text.stdout.split('\n').filter((l) => l.startsWith('reconcile: pending ')),
    ['a', 'b'].map(
      (p) =>
        `reconcile: pending service=gateway-${p} kind=restart reason="run-time files changed while it runs; sync --restart-changed or s6-svc -r ${env.slot(p)} applies them"`,
    ),
    'a plain sync names each gateway that still runs its old files, and how to apply them',
  );
  const pending = await env.json('sync', ['--diff']);
  t.is(pending.code, 1, 'a pending restart counts as a change');
  t.deepEqual(pending.doc['operations'], []);
  const status = await env.json('status', ['--status-file', path.join(env.root, 'none.json')]);
  const rows = status.doc['profiles'] as { profile: string; restartPending: boolean }[];
  t.deepEqual(
    rows.filter((r) => r.restartPending).map((r) => r.profile),
    ['a', 'b'],
  );

  const restart = await env.json('sync', ['--restart-changed']);
  t.is(restart.code, 0, restart.stderr);
  t.deepEqual(
    (restart.doc['operations'] as { service: string; kind: string }[]).map((o) => [o.service, o.kind]),
    [
      ['gateway-a', 'restart'],
      ['gateway-b', 'restart'],
    ],
  );
  await waitRestarted(env, 'a', pids.a);
  await waitRestarted(env, 'b', pids.b);
  t.false(processAlive(pids.a));
  t.is(await env.pid('c'), pids.c, 'an unchanged gateway is not restarted');
  t.false(existsSync(path.join(env.scandir, JOURNAL)), 'the journal is cleared once the restarts are done');
  const after = await env.json('sync', ['--diff']);
  t.is(after.code, 0);
  t.deepEqual(after.doc['restartPending'], []);
});

needsS6(test)('a restart persisted by a run that was killed before doing it is done by the next plain sync', async (t) => {
  const env = await setup(['a', 'b', 'idle']);
  const pids = { a: await env.pid('a'), b: await env.pid('b') };
  await appendFile(path.join(env.slot('a'), 'run'), '# edited by hand\n');
  // What `sync --restart-changed` writes before touching anything, then the files, then SIGKILL:
  // the journal names the services, the files are already repaired, no restart was sent.
  const journal = path.join(env.scandir, JOURNAL);
  await writeFile(journal, `${JSON.stringify({ formatVersion: '1', services: ['gateway-a', 'gateway-idle'] })}\n`);
  const rendered = (await readFile(path.join(env.slot('b'), 'run'), 'utf8')).replace(/-p b /g, '-p a ');
  await writeFile(path.join(env.slot('a'), 'run'), rendered, { mode: 0o755 });
  await env.waitUp('idle');
  await execFileAsync('s6-svc', ['-d', env.slot('idle')]);
  await env.svscan.waitSvstat('gateway-idle', 'up', 'false');

  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(
    (sync.doc['operations'] as { service: string; kind: string; reason: string }[]).map((o) => [o.service, o.kind, o.reason]),
    [['gateway-a', 'restart', 'restart decided by an interrupted pass (journal)']],
  );
  await waitRestarted(env, 'a', pids.a);
  t.is(await env.pid('b'), pids.b);
  t.like(await env.svscan.svstat('gateway-idle'), { up: false }, 'a journaled service that is down is not started by the restart');
  t.false(existsSync(journal), 'the journal is cleared: the down one needs no restart, the other was done');
});

needsS6(test)('a journal listing services that run their current files restarts nothing (issue 16 item 11)', async (t) => {
  const env = await setup(['a', 'b']);
  const pids = { a: await env.pid('a'), b: await env.pid('b') };
  const journal = path.join(env.scandir, JOURNAL);
  await writeFile(journal, `${JSON.stringify({ formatVersion: '1', services: ['gateway-a', 'gateway-b'] })}\n`);
  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(sync.doc['operations'], []);
  t.deepEqual([await env.pid('a'), await env.pid('b')], [pids.a, pids.b], 'no gateway was restarted');
});
