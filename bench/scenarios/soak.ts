// Scenario 5, soak: RSS of `watch --interval 0.05` across SOAK_PASSES passes over SOAK_N profiles.

import fs from 'node:fs';
import { SEED, SOAK_INTERVAL, SOAK_N, SOAK_PASSES, SOAK_TIMEOUT_MS } from '../config.js';
import { median, round, sleep } from '../measure.js';
import { rssKb } from '../proc.js';
import { log, note, results } from '../results.js';
import { type LiveHeap, assertRunning, heapSnapshot, judgeLiveHeap, startSoakWatcher, stopSoakWatcher } from '../heap.js';
import type { BenchContext } from './size.js';

/** One RSS sample; `passes` is the progress count (passes, or churn cycles). */
export interface SoakSample {
  readonly t: number;
  readonly passes: number;
  readonly kb: number;
}

/**
 * `watch --interval 0.05` over SOAK_N profiles: a full pass every ~50 ms until the status file
 * counts SOAK_PASSES passes. RSS is sampled every 250 ms with the pass count at that moment.
 * Flat = the median RSS of the last 10% of passes is at most max(4 MiB, 5%) above the median of
 * passes 10–20% (the first 10% are warm-up: JIT, heap sizing); the least-squares slope is
 * reported in MB per 1000 passes.
 */
export async function benchSoak(ctx: BenchContext): Promise<void> {
  const out: Record<string, unknown> = { n: SOAK_N, interval: SOAK_INTERVAL, targetPasses: SOAK_PASSES };
  results.soak = out;
  log(`soak: watch over ${SOAK_N} profiles, --interval ${SOAK_INTERVAL}, until ${SOAK_PASSES} passes`);
  const w = await startSoakWatcher(ctx, 'soak', SOAK_N, SEED + 2, ['--interval', SOAK_INTERVAL]);
  const { child, statusFile } = w;
  const samples: SoakSample[] = [];
  const t0 = performance.now();
  const passes = (): number | null => {
    try {
      return Number((JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { passes: unknown }).passes);
    } catch {
      return null;
    }
  };
  const liveHeap: LiveHeap[] = [];
  try {
    let last = 0;
    while (performance.now() - t0 < SOAK_TIMEOUT_MS) {
      await sleep(250);
      assertRunning(w);
      const p = passes();
      const kb = rssKb(child.pid);
      if (p == null || kb == null) continue;
      samples.push({ t: round((performance.now() - t0) / 1000, 2), passes: p, kb });
      last = p;
      if (liveHeap.length === 0 && p >= SOAK_PASSES * 0.2) liveHeap.push(await heapSnapshot(child, w.dir, p));
      if (p >= SOAK_PASSES) break;
    }
    if (liveHeap.length > 0) liveHeap.push(await heapSnapshot(child, w.dir, last));
    out['passes'] = last;
    out['seconds'] = round((performance.now() - t0) / 1000, 1);
    if (last < SOAK_PASSES) out['error'] = `only ${last} passes in ${String(out['seconds'])} s`;
  } catch (e) {
    out['error'] = String(e instanceof Error ? e.message : e);
    note(`soak: ${String(out['error'])}`);
  } finally {
    await stopSoakWatcher(w, out);
  }
  out['samples'] = samples;
  judgeFlat(out, samples, Number(out['passes'] ?? 0));
  judgeLiveHeap(out, liveHeap);
}

/** Early (progress 10–20 %) against late (last 10 %) RSS, and the slope per 1000 steps. */
export function judgeFlat(out: Record<string, unknown>, samples: readonly SoakSample[], total: number): void {
  const band = (lo: number, hi: number): number[] =>
    samples.filter((x) => x.passes >= lo * total && x.passes <= hi * total).map((x) => x.kb);
  const early = band(0.1, 0.2);
  const late = band(0.9, 1);
  if (!early.length || !late.length) return;
  const fit = samples.filter((x) => x.passes >= 0.1 * total);
  const n = fit.length;
  const mx = fit.reduce((a, x) => a + x.passes, 0) / n;
  const my = fit.reduce((a, x) => a + x.kb, 0) / n;
  const slope = fit.reduce((a, x) => a + (x.passes - mx) * (x.kb - my), 0) / (fit.reduce((a, x) => a + (x.passes - mx) ** 2, 0) || 1);
  const earlyKb = median(early) ?? 0;
  const lateKb = median(late) ?? 0;
  out['earlyKb'] = earlyKb;
  out['lateKb'] = lateKb;
  out['slopeMbPer1000'] = round((slope * 1000) / 1024, 2);
  out['maxKb'] = Math.max(...samples.map((x) => x.kb));
  out['flat'] = lateKb - earlyKb <= Math.max(4096, earlyKb * 0.05);
}
