import test from 'ava';
import { chmod, cp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { processAlive, waitFor } from '../../helpers/s6.js';
import { type S6World, makeS6World, processesIn, removeS6Worlds, scandirEntries } from '../../helpers/s6-world.js';
import { PID_NAMESPACE, S6, needs, needsS6 } from '../../helpers/needs.js';

const RUNNING = { desired_state: 'running' };
test.after.always('stop s6 and remove temp dirs', removeS6Worlds);

async function setup(profiles: Record<string, object | undefined>): Promise<S6World> {
  const env = await makeS6World('live', { profiles });
  const boot = await env.cli('sync');
  if (boot.code !== 0) throw new Error(`first sync failed: ${boot.stderr}`);
  for (const [name, st] of Object.entries(profiles)) if (st !== undefined) await env.waitUp(name);
  return env;
}

/** The gateway pid and the s6-supervise pids (slot and logger) of a profile. */
async function processesOf(env: S6World, profile: string): Promise<{ gateway: number; supervisors: number[] }> {
  const gateway = await env.pid(profile);
  const supervisors = processesIn(env.slot(profile)).filter((p) => p !== gateway);
  return { gateway, supervisors };
}

/**
 * An earlier removal of `profile`'s slot left pending: the slot moved into the trash with its
 * supervisor still running (s6-svscan not told yet). Returns the state directory's path.
 */
async function trashEarlier(env: S6World, profile: string): Promise<string> {
  const state = path.join(env.scandir, '.reconcile-gateways');
  await mkdir(path.join(state, 'trash'), { recursive: true, mode: 0o700 });
  await chmod(state, 0o700);
  await rename(env.slot(profile), path.join(state, 'trash', `gateway-${profile}`));
  return state;
}

needsS6(test)('deleting a profile removes its slot, its gateway process and its supervisors, and nothing else', async (t) => {
  const env = await setup({ gone: RUNNING, stays: RUNNING });
  // The logger's s6-supervise may still be starting when the gateway is up.
  await waitFor(() => processesIn(env.slot('gone')).length >= 3, 20_000, 'the slot’s and its logger’s supervisors');
  const victim = await processesOf(env, 'gone');
  t.true(victim.supervisors.length >= 2, 'the slot and its logger each have an s6-supervise');
  const staysPid = await env.pid('stays');

  await rm(path.join(env.home, 'profiles/gone'), { recursive: true });
  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(
    (sync.doc['operations'] as { kind: string; service: string; status: string }[]).map((o) => `${o.kind} ${o.service} ${o.status}`),
    ['remove gateway-gone applied'],
  );
  t.false(existsSync(env.slot('gone')));
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-default', 'gateway-stays']);
  // sync returns once nothing reads their controls: the processes are gone, or going (a liveness bound only).
  for (const pid of [victim.gateway, ...victim.supervisors])
    await waitFor(() => !processAlive(pid), 10_000, `pid ${pid} to be gone after the remove`);
  t.is(await env.pid('stays'), staysPid, 'the other gateway was not disturbed');
  t.true(env.svscan.isSupervised('gateway-stays'));
});

needsS6(test)('the empty-set guard: profiles/ gone or every profile vanished removes nothing and exits 2', async (t) => {
  const env = await setup({ a: RUNNING, b: RUNNING });
  const before = [await env.pid('a'), await env.pid('b')];

  await rename(path.join(env.home, 'profiles'), path.join(env.root, 'profiles.unmounted'));
  const missing = await env.json('sync');
  t.is(missing.code, 2);
  t.regex(String(missing.doc['pruneBlocked']), /profiles is missing.*--allow-empty/);
  t.regex(missing.stderr, /--allow-empty/);
  const preview = await env.json('sync', ['--diff', '--allow-empty']);
  t.is(preview.code, 2, 'the preview says what a real run would: blocked, and --allow-empty cannot lift a missing profiles/');
  t.regex(String(preview.doc['pruneBlocked']), /create \S+\/profiles empty and run sync --allow-empty\)$/);
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-a', 'gateway-b', 'gateway-default']);

  await mkdir(path.join(env.home, 'profiles'));
  const empty = await env.json('sync');
  t.is(empty.code, 2);
  t.regex(String(empty.doc['pruneBlocked']), /every named profile vanished at once/);
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-a', 'gateway-b', 'gateway-default']);

  // Directories that are no profiles (no SOUL.md) are no sign of a mounted volume of profiles.
  await mkdir(path.join(env.home, 'profiles', 'notes'));
  await mkdir(path.join(env.home, 'profiles', '.cache'));
  const stray = await env.json('sync');
  t.is(stray.code, 2, 'a leftover directory does not lift the guard');
  t.regex(String(stray.doc['pruneBlocked']), /every named profile vanished at once/);
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-a', 'gateway-b', 'gateway-default']);
  t.deepEqual([await env.pid('a'), await env.pid('b')], before, 'no gateway was touched');

  await rename(path.join(env.home), path.join(env.root, 'home.away'));
  const noHome = await env.json('sync', ['--allow-empty']);
  t.is(noHome.code, 111, 'a missing HERMES_HOME changes nothing, even with --allow-empty');
  t.like(noHome.doc, { error: { code: 'fatal' } });
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-a', 'gateway-b', 'gateway-default']);
  await rename(path.join(env.root, 'home.away'), path.join(env.home));

  const allowed = await env.json('sync', ['--allow-empty']);
  t.is(allowed.code, 0, allowed.stderr);
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-default']);
  for (const pid of before) t.false(processAlive(pid));
});

needsS6(test)('a tombstoned deletion is allowed even when it empties profiles/', async (t) => {
  const env = await setup({ a: RUNNING });
  const pid = await env.pid('a');
  await rm(path.join(env.home, 'profiles/a'), { recursive: true });
  await mkdir(path.join(env.home, 'profiles/.deleted'));
  await writeFile(path.join(env.home, 'profiles/.deleted/a'), '');
  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  t.is(sync.doc['pruneBlocked'], undefined);
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-default']);
  t.false(processAlive(pid));
});

needsS6(test)('--no-prune keeps the slot and the gateway of a deleted profile, and says so', async (t) => {
  const env = await setup({ a: RUNNING, b: RUNNING });
  const pid = await env.pid('a');
  await rm(path.join(env.home, 'profiles/a'), { recursive: true });
  const sync = await env.json('sync', ['--no-prune']);
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(sync.doc['operations'], []);
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-a', 'gateway-b', 'gateway-default']);
  t.is(await env.pid('a'), pid);
  const said = 'gateway-a: profile deleted; its slot is kept because pruning is off (--no-prune); a sync without --no-prune removes it';
  t.deepEqual(sync.doc['warnings'], [said], 'the kept gateway is named, in the JSON');
  const text = await env.cli('sync', ['--no-prune']);
  t.true(text.stderr.includes(`warn: ${said}`), `and on stderr:\n${text.stderr}`);
  const pruned = await env.json('sync');
  t.is(pruned.code, 0);
  await waitFor(() => !processAlive(pid), 30_000, 'the gateway to be gone once pruning is on');
  t.deepEqual(await scandirEntries(env.scandir), ['gateway-b', 'gateway-default']);
});

needsS6(test)(
  '--no-prune when every profile vanished still warns and exits 2 (an unmounted volume), and its kept slots point at that warning',
  async (t) => {
    const env = await setup({ a: RUNNING, b: RUNNING });
    await rm(path.join(env.home, 'profiles/a'), { recursive: true });
    await rm(path.join(env.home, 'profiles/b'), { recursive: true });
    const kept = await env.json('sync', ['--no-prune']);
    t.is(kept.code, 2, kept.stderr);
    t.regex(String(kept.doc['pruneBlocked']), /every named profile vanished at once.*--allow-empty/);
    t.true(
      (kept.doc['warnings'] as string[]).includes(
        "gateway-a and gateway-b: profile deleted; their slots are kept because pruning is off (--no-prune); a sync without --no-prune would not remove them either, as the empty-set guard's warning says",
      ),
      JSON.stringify(kept.doc['warnings']),
    );
    t.deepEqual(await scandirEntries(env.scandir), ['gateway-a', 'gateway-b', 'gateway-default']);
  },
);

needsS6(test)(
  'a slot whose earlier removal still runs in the trash: --diff plans its remove refused with the reason, and the pass does just that',
  async (t) => {
    const env = await setup({ back: RUNNING, stays: RUNNING });
    const old = await env.pid('back');
    // An earlier removal of gateway-back is pending: its slot is in the trash with its supervisor
    // still running (s6-svscan not told yet), and the profile's slot was registered again since.
    const state = await trashEarlier(env, 'back');
    await cp(path.join(state, 'trash', 'gateway-back'), env.slot('back'), {
      recursive: true,
      filter: (src) => !/\/(supervise|event)$/.test(src),
    });
    await rm(path.join(env.home, 'profiles/back'), { recursive: true });

    const waits =
      'profile deleted, not removed in this pass: an earlier removal of this slot is still pending in the trash with its supervisor running; its purge stops that one first, then the next pass removes this slot';
    const diff = await env.json('sync', ['--diff']);
    t.is(diff.code, 2, 'the run fails that remove, and --diff says so');
    const planned = diff.doc['operations'] as { kind: string; service: string; reason: string; refused?: boolean }[];
    t.deepEqual(
      planned.map((o) => [o.kind, o.service, o.reason, o.refused ?? false]),
      [
        ['remove', 'gateway-back', waits, true],
        ['purge', 'gateway-back', 'removal pending: supervisor still running in the trash', false],
      ],
    );

    const sync = await env.json('sync');
    t.is(sync.code, 2, sync.stderr);
    t.deepEqual(
      (sync.doc['operations'] as { kind: string; status: string; error?: string }[]).map((o) => [o.kind, o.status, o.error]),
      [
        ['remove', 'failed', waits],
        ['purge', 'applied', undefined],
      ],
      'what --diff showed',
    );
    await waitFor(() => !processAlive(old), 10_000, 'the earlier gateway to be gone');
    const again = await env.json('sync');
    t.is(again.code, 0, again.stderr);
    t.deepEqual(
      (again.doc['operations'] as { kind: string; service: string; status: string }[]).map((o) => `${o.kind} ${o.service} ${o.status}`),
      ['remove gateway-back applied'],
    );
    t.deepEqual(await scandirEntries(env.scandir), ['gateway-default', 'gateway-stays']);
  },
);

needsS6(test)(
  'a symlink in the scandir to a trashed slot (s6-svscan keeps its supervisor through it) refuses the purge, naming it; once it is gone the purge stops and deletes the slot',
  async (t) => {
    const env = await setup({ gone: RUNNING, stays: RUNNING });
    const old = await env.pid('gone');
    // An earlier removal of gateway-gone is pending in the trash, and hermes has linked to it.
    const state = await trashEarlier(env, 'gone');
    await rm(path.join(env.home, 'profiles/gone'), { recursive: true });
    await symlink('.reconcile-gateways/trash/gateway-gone', path.join(env.scandir, 'zz'));

    const held =
      'removal pending: s6-svscan keeps its supervisor through the scandir entry "zz", a symlink to it this tool did not make (not stopped, not deleted); delete that symlink, and the next pass stops and deletes it';
    const diff = await env.json('sync', ['--diff']);
    t.is(diff.code, 2, 'the run fails that purge, and --diff says so');
    t.deepEqual(
      (diff.doc['operations'] as { kind: string; reason: string; refused?: boolean }[]).map((o) => [o.kind, o.reason, o.refused ?? false]),
      [['purge', held, true]],
    );
    const sync = await env.json('sync');
    t.is(sync.code, 2, sync.stderr);
    t.deepEqual(
      (sync.doc['operations'] as { kind: string; status: string; error?: string }[]).map((o) => [o.kind, o.status, o.error]),
      [['purge', 'failed', held]],
    );
    t.true(processAlive(old), 'its gateway runs on, as s6-svscan keeps it');
    const status = await env.json('status');
    t.true((status.doc['warnings'] as string[]).includes(`gateway-gone: ${held}`), JSON.stringify(status.doc['warnings']));
    t.true(existsSync(path.join(state, 'trash', 'gateway-gone')), 'not deleted under its supervisor');

    await rm(path.join(env.scandir, 'zz'));
    const again = await env.json('sync');
    t.is(again.code, 0, again.stderr);
    t.deepEqual(
      (again.doc['operations'] as { kind: string; status: string }[]).map((o) => `${o.kind} ${o.status}`),
      ['purge applied'],
    );
    await waitFor(() => !processAlive(old), 10_000, 'the gateway to be gone');
    t.false(existsSync(path.join(state, 'trash', 'gateway-gone')));
  },
);

needs(
  test,
  S6,
  PID_NAMESPACE,
)(
  'a pass that cannot see the supervisors (its own PID namespace, as a sidecar has) waits for them within its budget, never deletes under one',
  async (t) => {
    t.timeout(90_000);
    // A gateway that ignores SIGTERM: its supervisor outlives the pass's wait.
    const profiles = { stuck: RUNNING, stays: { desired_state: 'stopped' } };
    const env = await makeS6World('live', { profiles, gateway: '#!/bin/sh\ntrap "" TERM\nexec sleep 100000\n' });
    t.is((await env.cli('sync')).code, 0);
    await env.waitUp('stuck');
    await waitFor(() => processesIn(env.slot('stuck')).length >= 3, 20_000, 'the slot’s and its logger’s supervisors, and the logger');
    const gateway = await env.pid('stuck');
    const supervisors = processesIn(env.slot('stuck'));
    const trashed = path.join(env.scandir, '.reconcile-gateways', 'trash', 'gateway-stuck');
    t.teardown(() => {
      for (const pid of [gateway, ...supervisors]) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    // Node in a PID namespace of its own, with its own /proc: no process of this s6 is visible.
    const isolated = path.join(env.root, 'own-pid-namespace');
    await writeFile(isolated, `#!/bin/sh\nexec unshare --pid --fork --mount-proc ${process.execPath} "$@"\n`, { mode: 0o755 });
    await rm(path.join(env.home, 'profiles/stuck'), { recursive: true });
    const sync = await env.json('sync', [], { node: isolated, timeoutMs: 60_000 });
    t.is(sync.code, 2, sync.stderr);
    const ops = sync.doc['operations'] as { kind: string; status: string; error?: string }[];
    t.like(ops[0], { kind: 'remove', status: 'failed' });
    t.regex(ops[0]?.error ?? '', /^pending removal: the supervisor of gateway-stuck still runs/);
    t.true(existsSync(path.join(trashed, 'supervise', 'control')), 'kept in the trash, under its running supervisor');
    for (const pid of supervisors) t.true(processAlive(pid), `supervisor ${pid} still runs, with its directory`);
  },
);
