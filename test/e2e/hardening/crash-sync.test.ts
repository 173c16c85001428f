/**
 * Issue 4, crashes: SIGKILL the whole process group of `sync` at random points while it creates,
 * updates, starts, stops and removes slots of a few hundred profiles. The same guarantees as for
 * boot: no half-built slot, the next sync converges to the clean result, nothing lost under
 * HERMES_HOME, and no stuck lock. HARDENING_LONG=1 runs many more trials on more profiles.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { assertTrial, cleanRun, homeIgnore, runTrial, trialWorld, writeCrashProfiles } from './crash-trials.js';
import { removeWorld, runWorld, type World, writeConfig, writeProfiles } from '../../helpers/cli.js';
import { snapshot } from './tree-check.js';
import { unmountTmpfs } from './tmpfs.js';
import { LONG } from './crash-trials.js';

const PROFILES = LONG ? 600 : 300;
const TRIALS = LONG ? 200 : 30;
let layout: World | undefined;
let mount: string | undefined;

test.after.always('remove scratch trees and the tmpfs', async () => {
  await removeWorld(layout);
  unmountTmpfs(mount);
});

/** Changes HERMES_HOME and the config so a sync has every kind of operation to do. */
function changeEverything(l: World): void {
  for (let i = 0; i < PROFILES; i += 1) {
    const name = `p${String(i).padStart(4, '0')}`;
    if (i % 10 === 1) fs.rmSync(path.join(l.home, 'profiles', name), { recursive: true });
    else if (i % 6 === 0) writeProfiles(l.home, { [name]: i % 4 === 0 ? 'stopped' : 'running' });
  }
  writeCrashProfiles(l, Math.floor(PROFILES / 10), PROFILES);
  writeConfig(l, { gatewayCommand: '/bin/false' });
}

test(`SIGKILL at ${TRIALS} random points of a sync of ${PROFILES} profiles: never a half-built slot, nothing lost, the next sync converges`, async (t) => {
  t.timeout(LONG ? 30 * 60_000 : 170_000);
  const world = await trialWorld(t, 'crash-sync', PROFILES);
  ({ mount, layout } = world);
  const { rng } = world;
  const template = path.join(layout.root, 'template');
  fs.mkdirSync(template, { mode: 0o755 });
  t.is((await runWorld('boot', { ...layout, scandir: template })).code, 0);
  changeEverything(layout);
  const base = { layout, mode: 'sync' as const, prepareScandir: (dir: string) => execFileSync('cp', ['-a', template, dir]) };
  const { reference, ms } = await cleanRun(base, path.join(layout.root, 'reference'));
  const setup = { ...base, reference, cleanRunMs: ms, homeIgnore, homeBefore: snapshot(layout.home, homeIgnore) };

  let killed = 0;
  for (let n = 0; n < TRIALS; n += 1) {
    const o = await runTrial(setup, n, { afterMs: rng() * ms * 1.05 });
    if (o.killedWhileRunning) killed += 1;
    assertTrial(t, n, o, 'sync');
  }
  t.log(`${TRIALS} trials in ~${ms} ms clean runs: ${killed} killed mid-run`);
  t.true(killed > 0, 'no kill landed while sync was running: the trials tested nothing');
});
