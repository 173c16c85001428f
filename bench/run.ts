// Benchmark orchestrator for reconcile-gateways: `npm run bench` (builds, then runs
// dist/bench/run.js). Never part of `npm test`. Settings and env knobs: bench/config.ts and
// bench/README.md; one module per scenario under bench/scenarios/.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_CONFIG, RUNS, SCENARIOS, SIZES, STRACE, STRICT, UPDATE_README } from './config.js';
import { buildFingerprint, childEnv, cleanupSync, installCleanup, probe, scratchRoot, setupScratch } from './context.js';
import { startupFloor } from './floors.js';
import { hasGnuTime, hasStrace, measure, round, stopChild } from './measure.js';
import { churnRows, deriveTargets, printReport, soakRows, updateReadme, watchRows, writeResults } from './report.js';
import { type FloorRecord, infoRow, log, note, results } from './results.js';
import { change } from './scenarios/change.js';
import { coldBoot } from './scenarios/cold.js';
import { converged } from './scenarios/converged.js';
import { type BenchContext, SizeRun } from './scenarios/size.js';
import { benchSoak } from './scenarios/soak.js';
import { benchChurn } from './scenarios/churn.js';
import { benchWatch } from './scenarios/watch.js';

/** Notes about the machine that make numbers less comparable. */
function noteEnvironment(): void {
  const scratch = setupScratch();
  results.scratch = scratch;
  if (!scratch.tmpfs) note(`scratch is not tmpfs: ${scratch.note}`);
  log(`scratch: ${scratch.note}`);
  if (!hasGnuTime) note('GNU time not found: CPU from /proc/$$/stat of a wrapper shell, peak RSS not measured');
  if (!STRACE) note(hasStrace ? 'strace passes disabled (BENCH_STRACE=0)' : 'strace not found: syscall counts skipped');
  if ((results.machine.loadavgAtStart[0] ?? 0) >= 0.5) {
    note(`machine not idle at start (load average ${results.machine.loadavgAtStart.join(' ')}): expect noisy wall times`);
  }
}

/** `node -e 0`, ten runs at least: the start-up floor every N=10 row is compared with. */
async function measureStartup(root: string): Promise<BenchContext['startup']> {
  const s = startupFloor();
  log('floor: node -e 0');
  const sm = await measure({ cmd: s.cmd, args: s.args, runs: Math.max(RUNS, 10), warmup: 2, cwd: root, env: childEnv(), scratchDir: root });
  const startup = {
    name: s.name,
    cmd: s.cmd,
    args: s.args,
    wallMs: sm.wallMs,
    cpuMs: sm.cpuMs,
    maxRssKb: sm.maxRssKb,
    samples: sm.samples,
  };
  results.floors.startup = startup;
  infoRow('floor: node -e 0', '-', { wallMs: round(startup.wallMs, 2), cpuMs: startup.cpuMs, rssKb: startup.maxRssKb });
  return startup;
}

/** Scenarios 1–3 at one N, then that N's floor rows. */
async function benchSize(n: number, ctx: BenchContext): Promise<void> {
  const s = new SizeRun(n, ctx);
  await coldBoot(s, SCENARIOS.has('cold'));
  await converged(s, SCENARIOS.has('converged'));
  await change(s, SCENARIOS.has('change'));
  await s.finish(stopChild);
  const cold = s.floors.cold as FloorRecord;
  const read = s.floors.read as FloorRecord;
  infoRow(`floor: ${cold.name}`, n, {
    wallMs: round(cold.wallMs, 2),
    cpuMs: cold.cpuMs,
    rssKb: cold.maxRssKb,
    note: `from ${cold.source}`,
  });
  infoRow(`floor: ${read.name}`, n, { wallMs: round(read.wallMs, 2), cpuMs: read.cpuMs, rssKb: read.maxRssKb, note: `over ${read.over}` });
}

async function main(): Promise<void> {
  const t0 = Date.now();
  noteEnvironment();
  const root = scratchRoot();
  const cfg = path.join(root, 'bench-config.json');
  fs.writeFileSync(cfg, JSON.stringify(BENCH_CONFIG, null, 2) + '\n');

  const buildAtStart = buildFingerprint();
  results.cliBuild = { atStart: buildAtStart };
  const cli = { boot: probe('boot'), sync: probe('sync'), watch: probe('watch') };
  results.cli = cli;
  for (const [k, v] of Object.entries(cli)) if (!v.available) note(`${k}: not available (${v.why}) – skipped`);
  const ctx: BenchContext = { root, cfg, cli, startup: await measureStartup(root) };

  for (const n of SIZES) await benchSize(n, ctx);
  const live = (sub: 'boot' | 'watch'): boolean => results.cli[sub]?.available === true;
  if (SCENARIOS.has('watch')) {
    if (live('watch') && live('boot')) await benchWatch(ctx);
    else {
      console.log('watch: not available');
      const why = [cli.watch, cli.boot].map((c) => (c.available ? undefined : c.why)).find((x) => x !== undefined);
      results.watch = { unavailable: true, why };
    }
  }
  if (SCENARIOS.has('soak') && live('watch') && live('boot')) await benchSoak(ctx);
  if (SCENARIOS.has('churn') && live('watch') && live('boot')) await benchChurn(ctx);
  results.cliBuild.atEnd = buildFingerprint();
  if (results.cliBuild.atEnd.hash !== buildAtStart.hash)
    note('the CLI build changed during this run (dist was rebuilt): rows may mix two builds – run again');
  watchRows();
  soakRows();
  churnRows();
  deriveTargets();
  results.finishedAt = new Date().toISOString();
  results.machine.loadavgAtEnd = os.loadavg().map((x) => round(x, 2));
  results.elapsedSeconds = round((Date.now() - t0) / 1000, 1);

  printReport();
  writeResults(UPDATE_README);
  if (UPDATE_README) updateReadme();
  const failed =
    results.rows.some((r) => r.pass === false || r.pass === 'error') ||
    results.syscalls.some((s) => s.pass === false) ||
    results.targets.some((t) => t.pass === false);
  if (STRICT && failed) process.exitCode = 1;
}

installCleanup();
await main().finally(() => cleanupSync());
