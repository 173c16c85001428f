import test from 'ava';
import { existsSync, utimesSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeHermesHome, removeTree } from '../../helpers/tree.js';
import { parseDoc, makeWorld, profileLines, removeWorlds, runCli, type World, worldArgs } from '../../helpers/cli.js';

test.after.always('remove the temp worlds, failed tests included', removeWorlds);

const NOW = Math.floor(Date.now() / 1000);

/** Sets the mtime (and atime) of `file` to `secondsAgo` before the start of this test file. */
function age(file: string, secondsAgo: number): void {
  utimesSync(file, NOW - secondsAgo, NOW - secondsAgo);
}

/** Writes `profiles/.deleted/<name>` with the given age, and ages the profile's SOUL.md. */
async function tombstone(w: World, name: string, ages: { tomb: number; soul: number }): Promise<void> {
  const dir = path.join(w.home, 'profiles', '.deleted');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, name), '');
  age(path.join(dir, name), ages.tomb);
  const soul = path.join(w.home, 'profiles', name, 'SOUL.md');
  if (existsSync(soul)) age(soul, ages.soul);
}

function slot(w: World, profile: string): string {
  return path.join(w.scandir, `gateway-${profile}`);
}

async function halfDeletedWorld(prefix: string): Promise<World> {
  const w = await makeWorld(prefix, { create: 'none' });
  await makeHermesHome(w.home, {
    ghost: { state: { desired_state: 'running' } },
    same: { state: { desired_state: 'running' } },
    reborn: { state: { desired_state: 'running' } },
    alive: { state: { desired_state: 'running' } },
  });
  await tombstone(w, 'ghost', { tomb: 10, soul: 100 });
  await tombstone(w, 'same', { tomb: 50, soul: 50 });
  await tombstone(w, 'reborn', { tomb: 100, soul: 10 });
  await tombstone(w, 'vanished', { tomb: 10, soul: 0 });
  return w;
}

test('boot skips a half-deleted profile whose tombstone is newer than SOUL.md: reason tombstoned, no slot (S23)', async (t) => {
  const w = await halfDeletedWorld('tbboot');
  const run = await runCli(['boot', ...worldArgs(w)]);
  t.is(run.code, 0, run.stderr);
  const lines = profileLines(run.stdout);
  t.true(
    lines.includes('reconcile: profile=ghost prior_state=None action=skipped prior_exit=unknown reason="tombstoned"'),
    lines.join('\n'),
  );
  t.true(
    lines.includes('reconcile: profile=same prior_state=None action=skipped prior_exit=unknown reason="tombstoned"'),
    'an equal mtime counts as deleted',
  );
  t.false(existsSync(slot(w, 'ghost')));
  t.false(existsSync(slot(w, 'same')));
  t.false(existsSync(slot(w, 'vanished')));
  t.false(
    lines.some((l) => l.includes('profile=vanished')),
    'a tombstone without a profile directory is no candidate',
  );
  t.false(existsSync(slot(w, '.deleted')));
  t.true(existsSync(path.join(slot(w, 'alive'), 'run')));
  const log = await readFile(path.join(w.home, 'logs', 'container-boot.log'), 'utf8');
  t.regex(log, / profile=ghost prior_state=None action=skipped prior_exit=unknown\n/);
  await removeTree(w.root);
});

test('a SOUL.md newer than its tombstone means a re-created profile: registered as usual, with a warning', async (t) => {
  const w = await halfDeletedWorld('tbreborn');
  const run = await runCli(['boot', ...worldArgs(w), '--output', 'json']);
  t.is(run.code, 0, run.stderr);
  const doc = parseDoc(run);
  const reborn = (doc['profiles'] as { profile: string }[]).find((p) => p.profile === 'reborn');
  t.like(reborn, { profile: 'reborn', action: 'started', priorState: 'running' });
  t.true(existsSync(path.join(slot(w, 'reborn'), 'run')));
  t.false(existsSync(path.join(slot(w, 'reborn'), 'down')));
  const warning = (doc['warnings'] as string[]).find((m) => m.includes('reborn'));
  t.truthy(warning);
  t.regex(warning ?? '', /SOUL\.md is newer than its tombstone profiles\/\.deleted\/reborn; treating the profile as re-created/);
  t.true(run.stderr.includes('profiles/.deleted/reborn'), run.stderr);
  await removeTree(w.root);
});

test('sync prunes the owned slot of a profile tombstoned after it was registered', async (t) => {
  const w = await makeWorld('tbsync', { create: 'none' });
  await makeHermesHome(w.home, { ghost: { state: { desired_state: 'stopped' } }, alive: { state: { desired_state: 'stopped' } } });
  t.is((await runCli(['boot', ...worldArgs(w)])).code, 0);
  t.true(existsSync(path.join(slot(w, 'ghost'), 'run')));
  await tombstone(w, 'ghost', { tomb: 10, soul: 100 });

  const preview = await runCli(['sync', ...worldArgs(w), '--diff', '--output', 'json']);
  t.is(preview.code, 1, preview.stdout);
  t.like((parseDoc(preview)['operations'] as object[])[0], { kind: 'remove', service: 'gateway-ghost' });

  const run = await runCli(['sync', ...worldArgs(w)]);
  t.is(run.code, 0, run.stderr);
  t.true(
    profileLines(run.stdout).includes('reconcile: profile=ghost prior_state=None action=skipped prior_exit=unknown reason="tombstoned"'),
  );
  t.false(existsSync(slot(w, 'ghost')), 'the slot of the deleted profile is gone');
  t.true(existsSync(path.join(slot(w, 'alive'), 'run')));
  t.true(existsSync(path.join(w.home, 'profiles', 'ghost', 'SOUL.md')), 'the profile directory is never touched');
  t.is((await runCli(['sync', ...worldArgs(w), '--diff'])).code, 0, 'converged');
  await removeTree(w.root);
});

test('sync --no-prune and boot keep the slot of a tombstoned profile', async (t) => {
  const w = await makeWorld('tbkeep', { create: 'none' });
  await makeHermesHome(w.home, { ghost: { state: { desired_state: 'stopped' } } });
  t.is((await runCli(['boot', ...worldArgs(w)])).code, 0);
  await tombstone(w, 'ghost', { tomb: 10, soul: 100 });
  t.is((await runCli(['sync', ...worldArgs(w), '--no-prune'])).code, 0);
  t.true(existsSync(path.join(slot(w, 'ghost'), 'run')));
  t.is((await runCli(['boot', ...worldArgs(w)])).code, 0);
  t.true(existsSync(path.join(slot(w, 'ghost'), 'run')));
  await removeTree(w.root);
});

test('a re-created profile whose SOUL.md is missing for a moment (an editor saving it) keeps its slot despite the old tombstone', async (t) => {
  const w = await makeWorld('tbsave', { create: 'none' });
  await makeHermesHome(w.home, { phoenix: { state: { desired_state: 'running' } } });
  await tombstone(w, 'phoenix', { tomb: 100, soul: 10 });
  await mkdir(w.scandir);
  t.is((await runCli(['sync', ...worldArgs(w)])).code, 0);
  const soul = path.join(w.home, 'profiles', 'phoenix', 'SOUL.md');
  await rename(soul, `${soul}~`);
  const run = await runCli(['sync', ...worldArgs(w)]);
  t.is(run.code, 0, run.stderr);
  t.true(existsSync(path.join(slot(w, 'phoenix'), 'run')), 'the slot is kept while the directory is there');
  t.regex(run.stderr, /profiles\/phoenix has no SOUL\.md, so it is no profile: gateway-phoenix is left as it is/);
  await rename(`${soul}~`, soul);
  t.is((await runCli(['sync', ...worldArgs(w), '--diff'])).code, 0, 'back with its SOUL.md, nothing to do');
  await removeTree(w.root);
});

test('sync re-registers a profile re-created after its tombstone, and warns', async (t) => {
  const w = await makeWorld('tbresync', { create: 'none' });
  await makeHermesHome(w.home, { phoenix: { state: { desired_state: 'running' } } });
  await tombstone(w, 'phoenix', { tomb: 100, soul: 10 });
  await mkdir(w.scandir);
  const run = await runCli(['sync', ...worldArgs(w)]);
  t.is(run.code, 0, run.stderr);
  t.true(profileLines(run.stdout).includes('reconcile: profile=phoenix prior_state=running action=started prior_exit=unknown'));
  t.true(existsSync(path.join(slot(w, 'phoenix'), 'run')));
  t.true(run.stderr.includes('treating the profile as re-created'), run.stderr);
  await removeTree(w.root);
});
