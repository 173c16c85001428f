/**
 * Issue 4, concurrency: concurrent runs on one tree obey the lock exactly (exit 3, or wait with
 * --wait) and never corrupt or duplicate a slot; the Hermes CLI registering slots its own way
 * while sync runs loses nothing and is adopted; sync never deletes a staging dir it did not make.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Settings } from '../../../src/model.js';
import { renderFinish, renderLogRun, renderRun } from '../../../src/desired/render.js';
import { makeRng, trialSeed } from './crash-trials.js';
import { TEST_SETTINGS, removeWorlds, runWorld, type World, writeConfig, writeProfiles, makeWorld } from '../../helpers/cli.js';
import { slotProblems, snapshot } from './tree-check.js';
import { needsRoot } from '../../helpers/needs.js';
import { waitFor } from '../../helpers/s6.js';

test.after.always('remove scratch trees', async () => {
  await removeWorlds();
});

/** Whatever a finished run may leave besides slots: only the lock file. */
function leftovers(scandir: string, allowed: readonly string[]): string[] {
  const stray = fs.readdirSync(scandir).filter((n) => n.startsWith('.') && n !== '.reconcile-gateways' && !allowed.includes(n));
  for (const slot of fs.readdirSync(scandir).filter((n) => !n.startsWith('.'))) {
    for (const dir of [slot, `${slot}/log`]) {
      stray.push(
        ...fs
          .readdirSync(path.join(scandir, dir))
          .filter((n) => n.endsWith('.rg-tmp'))
          .map((n) => `${dir}/${n}`),
      );
    }
  }
  return stray;
}

function assertConverged(t: ExecutionContext, l: World, round: string, allowed: readonly string[] = []): void {
  const problems = new Set<string>();
  slotProblems(l.scandir, problems);
  t.deepEqual([...problems], [], `${round}: a corrupted slot`);
  t.deepEqual(leftovers(l.scandir, allowed), [], `${round}: leftovers`);
}

test('four concurrent boot/sync runs: exit 0 or 3 only (all 0 with --wait), no corrupted or duplicate slot, converged', async (t) => {
  const l = await makeWorld('four');
  const seed = trialSeed();
  const rng = makeRng(seed);
  t.log(`seed ${seed}`);
  const names = Array.from({ length: 120 }, (_, i) => `p${String(i).padStart(3, '0')}`);
  writeProfiles(l.home, Object.fromEntries(names.map((n, i) => [n, i % 2 === 0 ? 'running' : 'stopped'])));
  const commands = ['boot', 'sync', 'boot', 'sync'] as const;
  for (let round = 0; round < 6; round += 1) {
    const wait = round % 2 === 1;
    const codes = await Promise.all(commands.map((c) => runWorld(c, l, wait ? ['--wait'] : [])));
    const exits = codes.map((r) => r.code);
    t.true(
      exits.every((c) => c === 0 || (!wait && c === 3)),
      `round ${round}${wait ? ' --wait' : ''}: exits ${exits.join(',')}: ${codes.map((r) => r.stderr).join('')}`,
    );
    t.true(exits.includes(0), `round ${round}: nobody got the lock`);
    for (const r of codes.filter((c) => c.code === 3)) t.regex(r.stderr, /another reconcile-gateways run holds/);
    assertConverged(t, l, `round ${round}`);
    const settled = snapshot(l.scandir);
    t.is((await runWorld('sync', l, ['--diff'])).code, 0, `round ${round}: not converged`);
    t.deepEqual(snapshot(l.scandir), settled);
    for (const n of names.filter(() => rng() < 0.2)) writeProfiles(l.home, { [n]: rng() < 0.5 ? 'running' : 'stopped' });
    writeConfig(l, { gatewayCommand: round % 2 === 0 ? '/bin/false' : '/bin/true' });
  }
});

/** What upstream's register_profile_gateway does (§2.2): its own staging name, then one rename. */
function registerLikeHermes(scandir: string, profile: string, settings: Settings): 'registered' | 'already registered' {
  const slot = path.join(scandir, `gateway-${profile}`);
  if (fs.existsSync(slot)) return 'already registered';
  const tmp = path.join(scandir, `.gateway-${profile}.tmp`);
  fs.mkdirSync(path.join(tmp, 'log'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'type'), 'longrun\n');
  fs.writeFileSync(path.join(tmp, 'run'), renderRun(profile, settings), { mode: 0o755 });
  fs.writeFileSync(path.join(tmp, 'finish'), renderFinish(settings), { mode: 0o755 });
  fs.writeFileSync(path.join(tmp, 'log', 'run'), renderLogRun(profile, settings), { mode: 0o755 });
  fs.writeFileSync(path.join(tmp, 'down'), '');
  for (const dir of [tmp, path.join(tmp, 'log')]) {
    fs.mkdirSync(path.join(dir, 'event'), { mode: 0o3730 });
    fs.mkdirSync(path.join(dir, 'supervise', 'event'), { recursive: true });
    execFileSync('mkfifo', ['-m', '0660', path.join(dir, 'supervise', 'control')]);
  }
  execFileSync('chown', ['-R', '65534:65534', tmp]);
  try {
    fs.renameSync(tmp, slot);
    return 'registered';
  } catch (err) {
    // ENOTEMPTY/EEXIST: the reconciler published it first; upstream cleans up and reports "already registered".
    if (!(err instanceof Error && 'code' in err && (err.code === 'ENOTEMPTY' || err.code === 'EEXIST'))) throw err;
    fs.rmSync(tmp, { recursive: true });
    return 'already registered';
  }
}

test('the Hermes CLI registering slots while sync runs: no lost slot, no deleted staging dir, the next sync adopts them', async (t) => {
  const l = await makeWorld('hermes-cli');
  const settings = { ...TEST_SETTINGS } as unknown as Settings;
  writeProfiles(l.home, { alice: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  const stale = path.join(l.scandir, '.gateway-stale.tmp');
  fs.mkdirSync(stale);
  const rng = makeRng(trialSeed());
  let done = false;
  const races: string[] = [];
  const syncs = (async () => {
    const exits: (number | null)[] = [];
    while (!done) {
      const r = await runWorld('sync', l);
      exits.push(r.code);
      if (r.code !== 0) races.push(r.stderr.trim());
    }
    return exits;
  })();
  const outcomes: string[] = [];
  for (let i = 0; i < 24; i += 1) {
    const profile = `q${String(i).padStart(2, '0')}`;
    writeProfiles(l.home, { [profile]: 'stopped' });
    await sleep(rng() * 60);
    outcomes.push(registerLikeHermes(l.scandir, profile, settings));
  }
  done = true;
  const exits = await syncs;
  t.log(
    `registrations: ${outcomes.filter((o) => o === 'registered').length} by the CLI, ${outcomes.filter((o) => o !== 'registered').length} by sync first; sync exits ${exits.join(',')}`,
  );
  t.true(
    exits.every((c) => c === 0 || c === 2),
    `sync exits ${exits.join(',')}`,
  );
  // A sync that lost the race to the CLI reports exactly that, and nothing else (but that no
  // s6-svscan runs here to start what it made).
  for (const lines of races) {
    for (const line of lines.split('\n').filter((l) => !l.includes('warn: no s6-svscan runs on ')))
      t.regex(line, /create failed: publish \S+\/gateway-q\d\d: EEXIST: the slot appeared while this pass ran/);
  }
  t.true(fs.statSync(stale).isDirectory(), 'sync deleted a staging dir it did not create');

  const final = await runWorld('sync', l);
  t.is(final.code, 0, final.stderr);
  for (let i = 0; i < 24; i += 1) {
    const slot = path.join(l.scandir, `gateway-q${String(i).padStart(2, '0')}`);
    t.true(fs.existsSync(path.join(slot, '.reconcile-gateways.json')), `${slot} not adopted`);
    t.is(fs.lstatSync(path.join(slot, 'run')).uid, 0);
  }
  assertConverged(t, l, 'after adoption', ['.gateway-stale.tmp']);
  t.true(fs.existsSync(stale));
  t.is((await runWorld('boot', l)).code, 0);
  t.false(fs.existsSync(stale), "boot did not clear upstream's staging leftover");
});

needsRoot(test)('an unprivileged user cannot take the lock to block every run', async (t) => {
  const l = await makeWorld('lock-dos');
  writeProfiles(l.home, { alice: 'running' });
  fs.mkdirSync(path.join(l.scandir, '.reconcile-gateways'), { mode: 0o700 });
  const lock = path.join(l.scandir, '.reconcile-gateways', 'lock');
  fs.writeFileSync(lock, '', { mode: 0o644 });
  t.is((await runWorld('boot', l)).code, 0);
  t.is(fs.statSync(lock).mode & 0o777, 0o600, 'an old world-readable lock file was not tightened');
  const squatter = spawn('flock', ['--exclusive', lock, 'sleep', '30'], { uid: 65534, gid: 65534, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  squatter.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => squatter.on('close', (code) => resolve(code)));
  try {
    // Its attempt first, however loaded the machine: it fails to open the lock and exits. Should it
    // hold the lock instead (the bug this guards against), the sync below is what fails.
    await waitFor(() => stderr.includes('Permission denied') || squatter.exitCode !== null, 10_000, 'the squatter to try the lock').catch(
      () => undefined,
    );
    const result = await runWorld('sync', l);
    t.is(result.code, 0, `a lock held by nobody blocked the run: ${result.stderr}`);
  } finally {
    squatter.kill('SIGKILL');
  }
  await exited;
  t.regex(stderr, /Permission denied/);
});
