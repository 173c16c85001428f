/**
 * SIGKILL trials for the crash tests: run the real CLI in its own process group, watch the
 * scandir from this process while it runs, kill the whole group at a random moment, then check
 * what a crash must never cause (a half-built slot, a stuck lock, a lost file, a different end
 * state after the next run).
 */
import type { ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { type CliResult, type World, killGroup, makeWorld, runWorld, startCli, worldCommand, writeProfiles } from '../../helpers/cli.js';
import { type Snapshot, diffSnapshot, slotProblems, snapshot } from './tree-check.js';
import { mountTmpfs } from './tmpfs.js';
import { ROOT, decide, isCi } from '../../helpers/needs.js';

/** Whether the long variants run (`HARDENING_LONG=1`). */
export const LONG = process.env['HARDENING_LONG'] === '1';

/** Gate for the tmpfs (the shared policy of needs.ts): true as root; without root it fails under CI, else says so and the trials run on disk. */
function requireRoot(t: ExecutionContext<unknown>): boolean {
  const decision = decide([ROOT], isCi());
  if (decision.kind === 'fail') t.fail(decision.reason);
  else if (decision.kind === 'skip') t.log(`${decision.reason}: the trials run on disk, not on a private tmpfs`);
  return decision.kind === 'run';
}

/** Entries of the tool's state directory in a scandir (none when it is missing). */
function stateEntries(scandir: string): string[] {
  try {
    return fs.readdirSync(path.join(scandir, '.reconcile-gateways'));
  } catch {
    return [];
  }
}

/** A reproducible PRNG (mulberry32); the seed is logged so a failure can be replayed. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for this run: HARDENING_SEED to replay one, else the clock. */
export function trialSeed(): number {
  const fixed = Number(process.env['HARDENING_SEED']);
  return Number.isInteger(fixed) && fixed > 0 ? fixed : Date.now() % 2 ** 31;
}

/** Everything a series of trials shares. */
export interface TrialSetup {
  readonly layout: World;
  readonly mode: 'boot' | 'sync';
  /** Fills a fresh trial scandir (nothing for boot, a copy of the starting tree for sync). */
  readonly prepareScandir: (dir: string) => void;
  /** The scandir a clean, uninterrupted run produces. */
  readonly reference: Snapshot;
  /** HERMES_HOME before any trial, without what a pass may legitimately change. */
  readonly homeBefore: Snapshot;
  readonly homeIgnore: (rel: string) => boolean;
  /** Duration of a clean run; kills are spread over it. */
  readonly cleanRunMs: number;
}

/** What one trial saw. */
export interface TrialOutcome {
  readonly killedWhileRunning: boolean;
  readonly slotsAtKill: number;
  readonly stagingAtKill: boolean;
  readonly observed: readonly string[];
  readonly afterKill: readonly string[];
  readonly rerun: CliResult;
  readonly scandirDiff: readonly string[];
  readonly homeDiff: readonly string[];
}

/**
 * Where a crash test runs its trials: the seed (logged for a replay), its RNG, a private tmpfs
 * when root (it keeps hundreds of trials fast and independent of disk load) and a layout with
 * `profiles` crash profiles. The caller removes `layout` and unmounts `mount` afterwards.
 */
export async function trialWorld(
  t: ExecutionContext,
  name: string,
  profiles: number,
): Promise<{ rng: () => number; mount: string | undefined; layout: World }> {
  const seed = trialSeed();
  t.log(`seed ${seed} (replay with HARDENING_SEED=${seed})`);
  const mount = requireRoot(t) ? await mountTmpfs(name, '1g') : undefined;
  const layout = await makeWorld(name, mount === undefined ? {} : { parent: mount });
  writeCrashProfiles(layout, profiles);
  return { rng: makeRng(seed), mount, layout };
}

/** What every trial must hold, whatever the command killed. */
export function assertTrial(t: ExecutionContext, n: number, o: TrialOutcome, command: 'boot' | 'sync'): void {
  t.deepEqual(o.observed, [], `trial ${n}: the observer saw a half-built slot`);
  t.deepEqual(o.afterKill, [], `trial ${n}: a half-built slot after the kill`);
  t.is(o.rerun.code, 0, `trial ${n}: the run after the kill exited ${String(o.rerun.code)} (3 = lock still held): ${o.rerun.stderr}`);
  t.deepEqual(o.scandirDiff, [], `trial ${n}: the next ${command} did not converge to the clean tree`);
  t.deepEqual(o.homeDiff, [], `trial ${n}: something under HERMES_HOME was lost or changed`);
}

/** When to kill: after a delay, or as soon as the observer counts this many published slots. */
export type KillPoint = { readonly afterMs: number } | { readonly atSlots: number };

/** Runs one trial in `<layout.root>/trial-<n>` and removes it afterwards. */
export async function runTrial(setup: TrialSetup, n: number, kill: KillPoint): Promise<TrialOutcome> {
  const dir = path.join(setup.layout.root, `trial-${n}`);
  setup.prepareScandir(dir);
  const layout: World = { ...setup.layout, scandir: dir };
  try {
    const started = startCli(worldCommand(setup.mode, layout));
    let exited = false;
    void started.done.then(
      () => (exited = true),
      () => (exited = true),
    );
    const killAt = 'afterMs' in kill ? Date.now() + kill.afterMs : Infinity;
    const observed = new Set<string>();
    while (!exited) {
      const seen = slotProblems(dir, observed);
      if (Date.now() >= killAt || ('atSlots' in kill && seen >= kill.atSlots)) {
        killGroup(started.child, 'SIGKILL');
        break;
      }
      await yieldToEvents();
    }
    const killed = await started.done;
    const entries = fs.readdirSync(dir);
    const afterKill = new Set<string>();
    slotProblems(dir, afterKill);
    const rerun = await runWorld(setup.mode, layout);
    return {
      killedWhileRunning: killed.signal === 'SIGKILL',
      slotsAtKill: entries.filter((e) => !e.startsWith('.')).length,
      stagingAtKill: stateEntries(dir).some((e) => e.startsWith('staging.') || e === 'trash'),
      observed: [...observed],
      afterKill: [...afterKill],
      rerun,
      scandirDiff: diffSnapshot(setup.reference, snapshot(dir)),
      homeDiff: diffSnapshot(setup.homeBefore, snapshot(setup.layout.home, setup.homeIgnore)),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Measures a clean run into `dir` and returns its snapshot and duration. */
export async function cleanRun(
  setup: Pick<TrialSetup, 'layout' | 'mode' | 'prepareScandir'>,
  dir: string,
): Promise<{ reference: Snapshot; ms: number }> {
  setup.prepareScandir(dir);
  const start = Date.now();
  const result = await runWorld(setup.mode, { ...setup.layout, scandir: dir });
  const ms = Date.now() - start;
  if (result.code !== 0) throw new Error(`clean ${setup.mode} failed (${String(result.code)}): ${result.stderr}`);
  const reference = snapshot(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return { reference, ms };
}

/** Paths under HERMES_HOME a pass may change: the boot log and the swept runtime files. */
export function homeIgnore(rel: string): boolean {
  const base = path.basename(rel);
  return rel === 'logs' || base === 'gateway.pid' || base === 'processes.json';
}

/** Profiles with every kind of intent, some with stale runtime files and lifecycle ledgers. */
export function writeCrashProfiles(l: World, count: number, offset = 0): void {
  const intents = ['running', 'stopped', 'running', 'paused'];
  for (let i = offset; i < offset + count; i += 1) {
    const name = `p${String(i).padStart(4, '0')}`;
    writeProfiles(l.home, { [name]: intents[i % intents.length] });
    const dir = path.join(l.home, 'profiles', name);
    if (i % 7 === 0) fs.writeFileSync(path.join(dir, 'gateway.pid'), '123\n');
    if (i % 5 === 0) {
      fs.mkdirSync(path.join(dir, 'state'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'state', 'gateway.lifecycle.json'), JSON.stringify({ phase: i % 2 === 0 ? 'exited' : 'running' }));
    }
  }
}
