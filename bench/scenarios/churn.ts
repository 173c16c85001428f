// Scenario 6, churn: RSS of `watch` while profiles are created and deleted CHURN_CYCLES times
// (issue 16 #3: the watcher once kept ~1 MB per deleted profile, forever).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CHURN_CYCLES, CHURN_RATE, CHURN_WINDOW, RUN_TIMEOUT_MS, SEED, SOAK_TIMEOUT_MS } from '../config.js';
import { childEnv, cliArgs, rmrfSync, startSvscanStub } from '../context.js';
import { generateHermesHome } from '../generate.js';
import { runOnce, sleep, stopChild, track } from '../measure.js';
import { rssKb } from '../proc.js';
import { log, note, results } from '../results.js';
import { type SoakSample, judgeFlat } from './soak.js';
import { HEAP_SNAPSHOT_FLAG, type LiveHeap, heapSnapshot, judgeLiveHeap } from '../heap.js';
import type { BenchContext } from './size.js';

/** Profiles that stay throughout, beside the churned ones. */
const BASE_PROFILES = 10;

/**
 * `watch` (which prunes) over a small home while a driver creates profile `churn-<i>` (SOUL.md and a
 * running intent) and deletes `churn-<i − CHURN_WINDOW>`, CHURN_RATE cycles a second, every
 * name new. The watcher's event-driven passes create and prune their slots as they go. RSS is
 * sampled every 250 ms against the cycle count; flat is judged as in the pass soak.
 */
export async function benchChurn(ctx: BenchContext): Promise<void> {
  const dir = path.join(ctx.root, 'churn');
  fs.mkdirSync(dir);
  const hh = path.join(dir, 'home');
  const scan = path.join(dir, 'scan');
  generateHermesHome(hh, BASE_PROFILES, SEED + 3);
  fs.mkdirSync(scan);
  const stub = startSvscanStub(scan);
  const out: Record<string, unknown> = { cycles: CHURN_CYCLES, rate: CHURN_RATE, window: CHURN_WINDOW };
  results.churn = out;
  await runOnce(process.execPath, cliArgs('boot', hh, scan, ctx.cfg), {
    cwd: dir,
    env: childEnv(),
    scratchDir: dir,
    timeoutMs: RUN_TIMEOUT_MS,
  });
  const logFile = path.join(dir, 'watch.log');
  const logFd = fs.openSync(logFile, 'w');
  const args = [...cliArgs('watch', hh, scan, ctx.cfg), '--status-file', path.join(dir, 'status.json')];
  log(`churn: watch while ${CHURN_CYCLES} profiles are created and deleted (${CHURN_RATE}/s, ${CHURN_WINDOW} alive)`);
  // SIGUSR2 makes the watcher write a heap snapshot (after a full GC): its live heap, not RSS,
  // which V8 grows lazily and returns to the system only now and then.
  const withSnapshots = [HEAP_SNAPSHOT_FLAG, ...args];
  const child = track(
    spawn(process.execPath, withSnapshots, { cwd: dir, env: childEnv(), detached: true, stdio: ['ignore', logFd, logFd] }),
    'churn',
  );
  fs.closeSync(logFd);
  const samples: SoakSample[] = [];
  const t0 = performance.now();
  let cycles = 0;
  const liveHeap: LiveHeap[] = [];
  const sampler = setInterval(() => {
    const kb = rssKb(child.pid);
    if (kb != null) samples.push({ t: Math.round(performance.now() - t0) / 1000, passes: cycles, kb });
  }, 250);
  try {
    await sleep(1000); // the watcher's first pass and its watches
    const profiles = path.join(hh, 'profiles');
    while (cycles < CHURN_CYCLES && performance.now() - t0 < SOAK_TIMEOUT_MS) {
      if (child.exitCode !== null) throw new Error(`watch exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-400)}`);
      churnOnce(profiles, cycles);
      cycles += 1;
      if (cycles === Math.round(CHURN_CYCLES * 0.2)) liveHeap.push(await heapSnapshot(child, dir, cycles));
      // Paced against the clock, so a slow moment is caught up rather than stretching the run.
      const ahead = (cycles / CHURN_RATE) * 1000 - (performance.now() - t0 - 1000);
      if (ahead > 0) await sleep(ahead);
    }
    await sleep(2000); // the last deletions' passes
    liveHeap.push(await heapSnapshot(child, dir, cycles));
    out['cycles'] = cycles;
    out['seconds'] = Math.round(performance.now() - t0) / 1000;
    if (cycles < CHURN_CYCLES) out['error'] = `only ${cycles} cycles in ${String(out['seconds'])} s`;
  } catch (e) {
    out['error'] = String(e instanceof Error ? e.message : e);
    note(`churn: ${String(out['error'])}`);
  } finally {
    clearInterval(sampler);
    await stopChild(child, 5000);
    await stopChild(stub, 1000);
    out['logTail'] = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-800) : '';
    out['slotsLeft'] = fs.existsSync(scan) ? fs.readdirSync(scan).filter((n) => n.startsWith('gateway-churn-')).length : null;
    rmrfSync(dir);
  }
  out['samples'] = samples;
  judgeFlat(out, samples, cycles);
  judgeLiveHeap(out, liveHeap);
}

/** Creates `churn-<i>` and deletes the profile CHURN_WINDOW cycles older. */
function churnOnce(profiles: string, i: number): void {
  const created = path.join(profiles, `churn-${i}`);
  fs.mkdirSync(created);
  fs.writeFileSync(path.join(created, 'SOUL.md'), '# churn\n');
  fs.writeFileSync(path.join(created, 'gateway_state.json'), '{"desired_state":"running","gateway_state":"running"}\n');
  if (i >= CHURN_WINDOW) fs.rmSync(path.join(profiles, `churn-${i - CHURN_WINDOW}`), { recursive: true, force: true });
}
