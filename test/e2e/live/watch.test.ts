import test from 'ava';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { processAlive, waitFor } from '../../helpers/s6.js';
import { diffSnapshots, snapshotTree } from '../../helpers/tree.js';
import { type S6World, makeS6World, removeS6Worlds, scandirEntries } from '../../helpers/s6-world.js';
import { writeState } from '../../helpers/cli.js';
import { readiness, readStatus, serviceIn, startWatch, waitStatus } from '../../helpers/watcher.js';
import { needsS6 } from '../../helpers/needs.js';

const RUNNING = { desired_state: 'running' };
test.after.always('stop watchers and s6, remove temp dirs', removeS6Worlds);

async function setup(profiles: Record<string, object | undefined>): Promise<S6World> {
  const env = await makeS6World('live', { profiles });
  return env;
}

needsS6(test)(
  'watch signals readiness after its first pass, converges on events long before the interval, and exits 0 on SIGTERM',
  async (t) => {
    const env = await setup({ a: RUNNING, b: { desired_state: 'stopped' } });
    const w = startWatch(env);
    t.is(await readiness(w), '\n');
    const first = readStatus(w);
    t.like(first, { ready: true });
    t.not(first?.['lastFullPassAt'], null, 'readiness comes after a full pass');
    // The first pass's own renames into the scandir are inotify events: a targeted pass follows it
    // one debounce later, and on a loaded machine it may have run before this read (main does the
    // same). Only when it has not is the first pass the last one.
    if (first?.['passes'] === 1) t.like(first['lastPass'], { scope: 'full', trigger: 'start', result: 'converged' });
    else t.like(first?.['lastPass'], { result: 'converged' });
    await env.waitUp('a');

    await env.profile('fresh', RUNNING);
    await env.waitUp('fresh');
    writeState(path.join(env.home, 'profiles/b/gateway_state.json'), RUNNING);
    await env.waitUp('b');
    writeState(path.join(env.home, 'profiles/a/gateway_state.json'), { desired_state: 'stopped' });
    await env.svscan.waitSvstat('gateway-a', 'up,wantedup', 'false false');
    const bPid = await env.pid('b');
    await rm(path.join(env.home, 'profiles/fresh'), { recursive: true });
    const gone = await waitStatus(w, (d) => serviceIn(d, 'gateway-fresh') === undefined, 'the deleted profile to leave the status file');
    t.like(gone['lastPass'], { scope: 'targeted' });
    t.deepEqual(await scandirEntries(env.scandir), ['gateway-a', 'gateway-b', 'gateway-default']);
    t.is(await env.pid('b'), bPid, 'targeted passes leave other gateways alone');
    t.regex(w.stdout, /trigger=event scope=targeted\([a-z,]*fresh[a-z,]*\) result=converged create=1 /);

    const { validateStatusFile } = await loadValidators();
    const doc = readStatus(w);
    t.true(validateStatusFile?.(doc), JSON.stringify(validateStatusFile?.errors));
    t.like(serviceIn(doc ?? {}, 'gateway-b'), { condition: 'Ready', consecutiveFailures: 0 });
    t.like(serviceIn(doc ?? {}, 'gateway-default'), { condition: 'Pending' });

    w.child.kill('SIGTERM');
    t.is(await w.exited, 0);
    t.true(processAlive(bPid), 'stopping the watcher does not stop gateways');
  },
);

needsS6(test)(
  'a targeted pass keeps the empty-set guard: every profile deleted with only a stray directory left removes nothing',
  async (t) => {
    const env = await setup({ a: RUNNING, b: RUNNING });
    await mkdir(path.join(env.home, 'profiles', 'notes'));
    const w = startWatch(env);
    await readiness(w);
    await env.waitUp('a');
    await env.waitUp('b');
    const pids = [await env.pid('a'), await env.pid('b')];
    // Both at once for the watcher (stopped meanwhile, its inotify events queue): a pass between
    // the two would rightly remove a's slot while b is still there.
    w.child.kill('SIGSTOP');
    await rm(path.join(env.home, 'profiles/a'), { recursive: true });
    await rm(path.join(env.home, 'profiles/b'), { recursive: true });
    w.child.kill('SIGCONT');
    const blocked = await waitStatus(w, (d) => (d['lastPass'] as { result?: string } | null)?.result === 'blocked', 'a blocked pass');
    t.like(blocked['lastPass'], { result: 'blocked' });
    t.deepEqual(await scandirEntries(env.scandir), ['gateway-a', 'gateway-b', 'gateway-default']);
    t.deepEqual([await env.pid('a'), await env.pid('b')], pids, 'no gateway was stopped');
    w.child.kill('SIGTERM');
    t.is(await w.exited, 0);
  },
);

needsS6(test)('a failing service backs off while the others converge, and recovers once the cause is gone', async (t) => {
  const env = await setup({ squat: RUNNING, ok: RUNNING });
  await writeFile(path.join(env.scandir, 'gateway-squat'), 'a regular file squatting the slot path\n');
  const w = startWatch(env);
  await readiness(w);
  await env.waitUp('ok');
  const failing = await waitStatus(w, (d) => (serviceIn(d, 'gateway-squat')?.consecutiveFailures ?? 0) >= 2, 'a second failed attempt');
  t.like(serviceIn(failing, 'gateway-squat'), { condition: 'Failed' });
  t.regex(serviceIn(failing, 'gateway-squat')?.reason ?? '', /EEXIST: a (regular file|symlink) is in the way; refusing to replace it/);
  t.truthy(serviceIn(failing, 'gateway-squat')?.nextAttemptAt);

  await env.profile('later', RUNNING);
  await env.waitUp('later');
  const seen = serviceIn(readStatus(w) ?? {}, 'gateway-squat')?.consecutiveFailures ?? 0;
  await new Promise((r) => setTimeout(r, 2500));
  const now = serviceIn(readStatus(w) ?? {}, 'gateway-squat')?.consecutiveFailures ?? 0;
  // Back-off doubles from 1 s: a tight loop would have failed hundreds of times by now.
  t.true(now - seen <= 2, `failures went from ${seen} to ${now} in 2.5 s`);

  await rm(path.join(env.scandir, 'gateway-squat'));
  await env.waitUp('squat', 15_000);
  const healed = await waitStatus(w, (d) => serviceIn(d, 'gateway-squat')?.condition === 'Ready', 'the slot to be Ready');
  t.is(serviceIn(healed, 'gateway-squat')?.consecutiveFailures, 0);
  w.child.kill('SIGINT');
  t.is(await w.exited, 0);
});

needsS6(test)(
  'SIGHUP forces a full pass; an invalid config is reported once, not retried in a loop; the lock is free between passes',
  async (t) => {
    const env = await setup({ a: RUNNING });
    const w = startWatch(env);
    await readiness(w);
    await env.waitUp('a');
    const run = path.join(env.slot('a'), 'run');
    const rendered = readFileSync(run, 'utf8');
    await writeFile(run, `${rendered}# tampered\n`);
    w.child.kill('SIGHUP');
    await waitStatus(w, (d) => (d['lastPass'] as { trigger: string }).trigger === 'signal', 'the SIGHUP pass');
    t.is(readFileSync(run, 'utf8'), rendered, 'the full pass repaired a file no event announced');

    const sync = await env.cli('sync');
    t.is(sync.code, 0, `an operator's sync gets the lock while watch idles: ${sync.stderr}`);

    const good = readFileSync(env.config, 'utf8');
    await writeFile(env.config, '{"user": 42}');
    w.child.kill('SIGHUP');
    const bad = await waitStatus(w, (d) => (d['lastPass'] as { result: string }).result === 'error', 'the config error');
    t.like(bad['lastPass'], { error: { code: 'usage', terminal: true }, exitCode: 100 });
    const passes = bad['passes'] as number;
    await env.profile('meanwhile', RUNNING);
    await new Promise((r) => setTimeout(r, 1500));
    t.is(readStatus(w)?.['passes'], passes, 'no pass runs until the interval or SIGHUP');
    t.true(processAlive(await env.pid('a')), 'gateways are left alone while the config is invalid');

    await writeFile(env.config, good);
    w.child.kill('SIGHUP');
    await env.waitUp('meanwhile');
    w.child.kill('SIGTERM');
    t.is(await w.exited, 0);
    t.regex(w.stderr, /config .* is invalid/);
  },
);

needsS6(test)(
  'without SIGHUP an in-place edit of a slot file, which changes no directory, is repaired by the deep interval pass (every tenth)',
  async (t) => {
    const env = await setup({ a: RUNNING });
    const w = startWatch(env, ['--interval', '0.2']);
    await readiness(w);
    await env.waitUp('a');
    const run = path.join(env.slot('a'), 'run');
    const rendered = readFileSync(run, 'utf8');
    // Older than the cache's racy window (100 ms), so the shallow passes do skip the slot.
    await new Promise((r) => setTimeout(r, 500));
    await writeFile(run, `${rendered}# tampered\n`);
    // The pass line comes after the repair: wait for it, then look at the file.
    const repair = /trigger=interval scope=full result=converged create=0 update=1 /;
    await waitFor(() => repair.test(w.stdout), 60_000, 'an interval pass that updates the slot');
    t.is(readFileSync(run, 'utf8'), rendered, 'the interval pass repaired run');
    w.child.kill('SIGTERM');
    t.is(await w.exited, 0);
  },
);

needsS6(test)(
  'a gateway rewriting its state file with the same intent costs no pass; an intent change costs one targeted pass',
  async (t) => {
    const env = await setup({ busy: RUNNING, other: RUNNING });
    const w = startWatch(env);
    await readiness(w);
    await env.waitUp('busy');
    await env.waitUp('other');
    await waitStatus(w, (d) => serviceIn(d, 'gateway-busy')?.condition === 'Ready', 'convergence');
    await new Promise((r) => setTimeout(r, 1500));
    const s6Owned = (p: string): boolean => /(^|\/)(supervise|event)(\/|$)|^logs(\/|$)|^\.s6-svscan/.test(p);
    const home = await snapshotTree(env.home);
    const scan = await snapshotTree(env.scandir);
    const passes = readStatus(w)?.['passes'] as number;

    const state = path.join(env.home, 'profiles/busy/gateway_state.json');
    for (let i = 0; i < 20; i += 1) {
      writeState(state, { desired_state: 'running', gateway_state: 'draining', tick: i });
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500));
    t.is(readStatus(w)?.['passes'] as number, passes, 'unchanged intent: the cheap check ruled every pass out');
    t.deepEqual(diffSnapshots(scan, await snapshotTree(env.scandir), { ignorePath: s6Owned }), [], 'nothing written in the scandir');
    const homeDiff = diffSnapshots(home, await snapshotTree(env.home), { ignorePath: s6Owned });
    t.deepEqual(
      homeDiff.map((l) => l.split(':')[0]),
      ['changed profiles/busy', 'changed profiles/busy/gateway_state.json'],
      'only what the test itself wrote',
    );

    writeState(state, { desired_state: 'stopped', gateway_state: 'running' });
    const after = await waitStatus(w, (d) => (d['passes'] as number) > passes, 'a pass after the intent change');
    t.like(after['lastPass'], { scope: 'targeted', profiles: ['busy'], result: 'converged' });
    await waitFor(async () => !(await env.svscan.svstat('gateway-busy')).up, 30_000, 'gateway-busy to go down');
    t.true(existsSync(path.join(env.slot('busy'), 'down')));
    w.child.kill('SIGTERM');
    t.is(await w.exited, 0);
  },
);

needsS6(test)('SIGTERM ends a watcher promptly while it waits for the lock held by someone else', async (t) => {
  const env = await setup({ a: RUNNING });
  const w = startWatch(env);
  await readiness(w);
  const holder = spawn('flock', ['--exclusive', path.join(env.root, 'lock'), 'sleep', '60'], { stdio: 'ignore' });
  try {
    await waitFor(
      () => spawnSync('flock', ['--nonblock', path.join(env.root, 'lock'), 'true']).status === 1,
      30_000,
      'the lock to be held',
    );
    await env.profile('b', RUNNING);
    await new Promise((r) => setTimeout(r, 1500));
    t.false(existsSync(env.slot('b')), 'the watcher waits for the lock before changing anything');
    w.child.kill('SIGTERM');
    t.is(await w.exited, 0);
  } finally {
    holder.kill('SIGKILL');
  }
});

needsS6(test)('a profile directory that is a symlink out of HERMES_HOME is neither used nor watched', async (t) => {
  const env = await setup({ a: RUNNING });
  const outside = path.join(env.root, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'SOUL.md'), 'soul\n');
  writeState(path.join(outside, 'gateway_state.json'), RUNNING);
  await symlink(outside, path.join(env.home, 'profiles/evil'));
  const w = startWatch(env);
  await readiness(w);
  await env.waitUp('a');
  t.false(existsSync(env.slot('evil')));
  await new Promise((r) => setTimeout(r, 1500));
  const passes = readStatus(w)?.['passes'] as number;
  for (let i = 0; i < 5; i += 1) {
    writeState(path.join(outside, 'gateway_state.json'), { desired_state: 'running', tick: i });
    await writeFile(path.join(outside, 'SOUL.md'), `soul ${i}\n`);
  }
  await new Promise((r) => setTimeout(r, 1500));
  t.is(readStatus(w)?.['passes'], passes, 'writes behind the symlink cause no pass');
  t.regex(w.stderr, /profiles\/evil: skipped: the profile directory is a symlink/);
  w.child.kill('SIGTERM');
  t.is(await w.exited, 0);
});

needsS6(test)('watch on a HERMES_HOME that does not exist yet reports the error, backs off, and converges once it appears', async (t) => {
  const env = await setup({ a: RUNNING });
  const real = path.join(env.root, 'home-real');
  await rename(env.home, real);
  const w = startWatch(env);
  const failed = await waitStatus(w, (d) => (d['lastPass'] as { result?: string } | null)?.result === 'error', 'the first pass to fail');
  t.like(failed, { ready: false });
  t.like(failed['lastPass'], { error: { code: 'fatal', terminal: false }, exitCode: 111 });
  t.deepEqual(await scandirEntries(env.scandir), [], 'nothing was created');
  await rename(real, env.home);
  t.is(await readiness(w), '\n');
  await env.waitUp('a');
  w.child.kill('SIGTERM');
  t.is(await w.exited, 0);
});
