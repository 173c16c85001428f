// Scenario 6, churn: RSS of `watch` while profiles are created and deleted CHURN_CYCLES times
// (issue 16 #3: the watcher once kept ~1 MB per deleted profile, forever).

import fs from 'node:fs';
import path from 'node:path';
import { CHURN_CYCLES, CHURN_RATE, CHURN_WINDOW, SEED, SOAK_TIMEOUT_MS } from '../config.js';
import { sleep } from '../measure.js';
import { rssKb } from '../proc.js';
import { log, note, results } from '../results.js';
import { type SoakSample, judgeFlat } from './soak.js';
import { type LiveHeap, assertRunning, heapSnapshot, judgeLiveHeap, startSoakWatcher, stopSoakWatcher } from '../heap.js';
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
  const out: Record<string, unknown> = { cycles: CHURN_CYCLES, rate: CHURN_RATE, window: CHURN_WINDOW };
  results.churn = out;
  log(`churn: watch while ${CHURN_CYCLES} profiles are created and deleted (${CHURN_RATE}/s, ${CHURN_WINDOW} alive)`);
  const w = await startSoakWatcher(ctx, 'churn', BASE_PROFILES, SEED + 3, []);
  const child = w.child;
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
    const profiles = path.join(w.home, 'profiles');
    while (cycles < CHURN_CYCLES && performance.now() - t0 < SOAK_TIMEOUT_MS) {
      assertRunning(w);
      churnOnce(profiles, cycles);
      cycles += 1;
      if (cycles === Math.round(CHURN_CYCLES * 0.2)) liveHeap.push(await heapSnapshot(child, w.dir, cycles));
      // Paced against the clock, so a slow moment is caught up rather than stretching the run.
      const ahead = (cycles / CHURN_RATE) * 1000 - (performance.now() - t0 - 1000);
      if (ahead > 0) await sleep(ahead);
    }
    await sleep(2000); // the last deletions' passes
    liveHeap.push(await heapSnapshot(child, w.dir, cycles));
    out['cycles'] = cycles;
    out['seconds'] = Math.round(performance.now() - t0) / 1000;
    if (cycles < CHURN_CYCLES) out['error'] = `only ${cycles} cycles in ${String(out['seconds'])} s`;
  } catch (e) {
    out['error'] = String(e instanceof Error ? e.message : e);
    note(`churn: ${String(out['error'])}`);
  } finally {
    clearInterval(sampler);
    out['slotsLeft'] = fs.readdirSync(w.scandir).filter((n) => n.startsWith('gateway-churn-')).length;
    await stopSoakWatcher(w, out);
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
