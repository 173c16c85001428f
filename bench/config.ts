// The bench's settings: environment knobs (bench/README.md "Env knobs") and paths. Read once at
// start; every scenario takes them from here.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchConfig } from './floors.js';
import { hasStrace } from './measure.js';

/** Where the compiled bench runs from (dist/bench), for forking writer.js. */
export const COMPILED_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The repository: dist/bench/../.. */
export const REPO = path.resolve(COMPILED_DIR, '..', '..');
/** The bench's source folder: README.md and results/ live there. */
export const BENCH_DIR = path.join(REPO, 'bench');

const env = process.env;

/** A number from the environment, or `d` when unset, empty or not a number. */
const num = (v: string | undefined, d: number): number => (v !== undefined && v !== '' && Number.isFinite(Number(v)) ? Number(v) : d);

export const QUICK = env['BENCH_QUICK'] === '1';
export const SIZES: number[] = env['BENCH_SIZES']
  ? env['BENCH_SIZES']
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((x) => x > 0)
  : QUICK
    ? [10, 100]
    : [10, 100, 1000, 10000];
export const RUNS = Math.max(1, num(env['BENCH_RUNS'], QUICK ? 3 : 5));
export const WARMUP = 1;
export const SCENARIOS = new Set((env['BENCH_SCENARIOS'] ?? 'cold,converged,change,watch,soak,churn').split(',').map((s) => s.trim()));
export const WATCH_N = num(env['BENCH_WATCH_N'], QUICK ? 100 : 1000);
export const WATCH_SECONDS = num(env['BENCH_WATCH_SECONDS'], QUICK ? 3 : 60);
export const WATCH_CHANGES = num(env['BENCH_WATCH_CHANGES'], QUICK ? 6 : 40);
export const WATCH_INTERVAL = env['BENCH_WATCH_INTERVAL'] ?? '60'; // the tool's own default
export const SOAK_PASSES = num(env['BENCH_SOAK_PASSES'], QUICK ? 60 : 1000);
/** Profiles the pass soak watches: small enough that 1000 full passes take minutes, not a quarter hour. */
export const SOAK_N = num(env['BENCH_SOAK_N'], 100);
/** Create/delete cycles of the churn soak (issue 16: watch memory flat over 10,000 of them). */
export const CHURN_CYCLES = num(env['BENCH_CHURN_CYCLES'], QUICK ? 500 : 10000);
/** Cycles per second the churn driver aims at, and how many churned profiles exist at once. */
export const CHURN_RATE = num(env['BENCH_CHURN_RATE'], 200);
export const CHURN_WINDOW = num(env['BENCH_CHURN_WINDOW'], 20);
export const SOAK_INTERVAL = env['BENCH_SOAK_INTERVAL'] ?? '0.05';
export const SOAK_TIMEOUT_MS = num(env['BENCH_SOAK_TIMEOUT_MS'], 15 * 60 * 1000);
export const WATCH_TIMEOUT_MS = num(env['BENCH_WATCH_TIMEOUT_MS'], Math.max(5000, 2000 * Number(WATCH_INTERVAL) + 1000));
export const STRACE = env['BENCH_STRACE'] !== '0' && hasStrace;
export const STRACE_MAX_N = num(env['BENCH_STRACE_MAX_N'], 10000);
export const STRACE_C_MAX_N = num(env['BENCH_STRACE_C_MAX_N'], 1000); // the full `strace -c` pass costs minutes at N=10000
export const SEED = num(env['BENCH_SEED'], 1);
export const CLI = path.resolve(env['BENCH_CLI'] ?? path.join(REPO, 'bin/reconcile-gateways.cjs'));
export const TMPFS_SIZE = env['BENCH_TMPFS_SIZE'] ?? '4g';
export const RUN_TIMEOUT_MS = num(env['BENCH_TIMEOUT_MS'], 10 * 60 * 1000);
export const UPDATE_README = env['BENCH_README']
  ? env['BENCH_README'] === '1'
  : !QUICK && !env['BENCH_CLI'] && !env['BENCH_SIZES'] && !env['BENCH_SCENARIOS'];
export const STRICT = env['BENCH_STRICT'] === '1';
export const BENCH_CONFIG: BenchConfig = { shebang: '#!/bin/sh', user: 'nobody', gatewayCommand: '/bin/true', uid: 65534, gid: 65534 };

/** Extra CLI arguments: container-role detection scans /proc/*\/cmdline, which measures the host, not N. Pin it. */
export const EXTRA_ARGS: string[] = (() => {
  const v = env['BENCH_EXTRA_ARGS'];
  if (v === undefined) return ['--container-argv', '[]'];
  if (!v) return [];
  try {
    const a: unknown = JSON.parse(v);
    if (Array.isArray(a)) return a.map(String);
  } catch {
    /* not JSON */
  }
  return v.split(/\s+/).filter(Boolean);
})();

/** Extra arguments for `watch` only (the watch and soak scenarios), as words: e.g. metrics flags. */
export const WATCH_ARGS: string[] = (env['BENCH_WATCH_ARGS'] ?? '').split(/\s+/).filter((w) => w !== '');

/** Exit codes a pass may end with: 0 converged, 2 partial failure (e.g. corrupt state files). */
export const OK_CODES = new Set<number | null>([0, 2]);
