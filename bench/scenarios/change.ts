// Scenario 3, 1 % change: before each run 1 % of the profiles flip desired_state; after it every
// flipped slot's `down` marker must have toggled.

import fs from 'node:fs';
import path from 'node:path';
import { RUNS, STRACE, STRACE_MAX_N, WARMUP } from '../config.js';
import { markUnavailable, NotAvailable, slotDirOf } from '../context.js';
import { type ManifestEntry, flipDesired, pickProfiles } from '../generate.js';
import { addTarget, log } from '../results.js';
import { type SizeRun, toolRow } from './size.js';

/** Measures the 1 % change boot and sync at one N. */
export async function change(s: SizeRun, enabled: boolean): Promise<void> {
  if (!enabled || !s.ctx.cli['boot']?.available) return;
  for (const sub of ['boot', 'sync']) {
    if (!s.ctx.cli[sub]?.available) continue;
    try {
      await measureChange(s, sub);
    } catch (e) {
      if (!(e instanceof NotAvailable)) throw e;
      markUnavailable(s.ctx.cli, sub, e.message);
    }
  }
}

async function measureChange(s: SizeRun, sub: string): Promise<void> {
  const k = Math.max(1, Math.round(s.n * 0.01));
  const scenario = `1% change ${sub}`;
  log(`N=${s.n}: ${scenario} (${k} profiles) ×${WARMUP}+${RUNS}`);
  let flipped: ManifestEntry[] = [];
  let downBefore: boolean[] = [];
  let convergedCount = 0;
  let total = 0;
  const downOf = (p: ManifestEntry): boolean => fs.existsSync(path.join(slotDirOf(s.scan, p.name), 'down'));
  const flip = (): void => {
    flipped = pickProfiles(s.manifest, k, ++s.roundNo);
    downBefore = flipped.map(downOf);
    flipDesired(flipped);
  };
  const verify = (): void => {
    flipped.forEach((p, j) => {
      total++;
      if (downOf(p) !== downBefore[j]) convergedCount++;
    });
  };
  const m = await s.measureTool(sub, { setup: flip, check: verify }); // no pair at N > 10: no target here
  s.floors.read ??= await s.measureReadFloor();
  const f = s.small ? m.floor : { ...s.floors.read, short: 'tar|cat' };
  toolRow(scenario, s.n, m, f, { targetRatio: s.small ? 2 : null, note: `${k} flipped/run; down toggled ${convergedCount}/${total}` });
  addTarget(
    `${scenario} N=${s.n}: every flipped slot's down marker toggled`,
    `${convergedCount}/${total}`,
    'all',
    convergedCount === total,
  );
  if (STRACE && s.n <= STRACE_MAX_N) await s.syscalls(scenario, sub, flip, { divisor: k, noSummary: true }); // writes only: saves a slow pass
}
