/**
 * Issue 4, crashes: SIGKILL the whole process group of `boot` at random points while it builds a
 * few hundred slots. s6-svscan must never see a half-built slot, the next run must converge to
 * exactly what a clean run produces, nothing under HERMES_HOME may be lost, and the killed run
 * must never block the next one. HARDENING_LONG=1 runs many more trials on more profiles.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { assertTrial, cleanRun, homeIgnore, runTrial, trialWorld } from './crash-trials.js';
import { removeWorld, type World } from '../../helpers/cli.js';
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

test(`SIGKILL at ${TRIALS} random points of a boot of ${PROFILES} profiles: never a half-built slot, nothing lost, the next boot converges`, async (t) => {
  t.timeout(LONG ? 30 * 60_000 : 170_000);
  const world = await trialWorld(t, 'crash-boot', PROFILES);
  ({ mount, layout } = world);
  const { rng } = world;
  fs.writeFileSync(path.join(layout.home, 'gateway_state.json'), '{"desired_state":"running"}');
  const base = { layout, mode: 'boot' as const, prepareScandir: (dir: string) => fs.mkdirSync(dir, { mode: 0o755 }) };
  const { reference, ms } = await cleanRun(base, path.join(layout.root, 'reference'));
  const setup = { ...base, reference, cleanRunMs: ms, homeIgnore, homeBefore: snapshot(layout.home, homeIgnore) };

  let killed = 0;
  let partial = 0;
  for (let n = 0; n < TRIALS; n += 1) {
    // Half the kills land at a random time, half as soon as a random number of slots is published.
    const o = await runTrial(setup, n, n % 2 === 0 ? { afterMs: rng() * ms * 1.05 } : { atSlots: 1 + Math.floor(rng() * PROFILES) });
    if (o.killedWhileRunning) killed += 1;
    if (o.killedWhileRunning && o.slotsAtKill > 0 && o.slotsAtKill < PROFILES + 1) partial += 1;
    assertTrial(t, n, o, 'boot');
  }
  t.log(`${TRIALS} trials in ~${ms} ms clean runs: ${killed} killed mid-run, ${partial} with some slots published`);
  t.true(killed > 0, 'no kill landed while boot was running: the trials tested nothing');
});
