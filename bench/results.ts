// The results record (bench/results/latest.json) and the rows, targets and notes scenarios add
// to it. The JSON shape is a contract with earlier results: add fields, never rename them.

import os from 'node:os';
import path from 'node:path';
import * as cfg from './config.js';
import type { Sample } from './measure.js';
import { hasGnuTime, round, straceSeccomp } from './measure.js';
import type { SnapshotDiff } from './snapshot.js';

/** `true` pass, `false` FAIL, `'error'` unexpected exit, `null` informational. */
export type Verdict = boolean | 'error' | null;

/** One line of the main table. */
export interface Row {
  scenario: string;
  n: number | string;
  wallMs: number | null;
  cpuMs: number | null;
  rssKb: number | null;
  floor: string | null;
  floorMs: number | null;
  ratio: number | string | null;
  target: string;
  pass: Verdict;
  note: string;
  exitCodes?: (number | null)[];
  pairedRatio?: number | null;
  floorPaired?: boolean;
  floorSamples?: unknown;
  samples?: Sample[];
  warmupSamples?: Sample[];
  snapshot?: SnapshotDiff;
}

/** A check that is not a single row. */
export interface Target {
  readonly name: string;
  readonly value: string;
  readonly target: string;
  readonly pass: boolean;
}

/** A floor as recorded per N. */
export interface FloorRecord {
  name: string;
  short?: string;
  wallMs: number | null;
  cpuMs: number | null;
  maxRssKb: number | null;
  samples?: unknown;
  paired?: boolean;
  source?: string;
  over?: string;
}

/** Whether the CLI has a subcommand. */
export type Availability = { available: true; helpExit?: number | null } | { available: false; why: string };

/** The whole record. Loose where the scenarios record free-form detail. */
export interface Results {
  tool: string;
  startedAt: string;
  finishedAt?: string;
  elapsedSeconds?: number;
  mode: 'quick' | 'full';
  machine: {
    cpuModel: string;
    cpus: number;
    totalMemMB: number;
    node: string;
    kernel: string;
    arch: string;
    loadavgAtStart: number[];
    loadavgAtEnd?: number[];
  };
  settings: Record<string, unknown>;
  scratch: { tmpfs: boolean; path: string; note: string } | null;
  cliBuild?: { atStart: Fingerprint; atEnd?: Fingerprint };
  cli: Record<string, Availability>;
  floors: Record<string, unknown> & { startup?: FloorRecord & { cmd: string; args: readonly string[] } };
  sizes: Record<string, Record<string, unknown>>;
  watch: Record<string, unknown> | null;
  soak: Record<string, unknown> | null;
  churn: Record<string, unknown> | null;
  rows: Row[];
  syscalls: SyscallRecord[];
  targets: Target[];
  notes: string[];
}

/** Path, size and mtime hash of the CLI build. */
export interface Fingerprint {
  readonly files: number;
  readonly hash: string;
}

/** What one strace pass found (the syscall table). */
export interface SyscallRecord {
  scenario: string;
  n: number;
  totalSyscalls: number | null;
  perProfile: number | null;
  writeCalls: number;
  slotMutations: number;
  slotMutationsPerSlot: number;
  slotsTouched: number;
  scandirTopMutations: number;
  hermesHomeMutations: number;
  failedInScandir: number;
  mkfifoExecs: number;
  fifoCreates: number;
  svscanctlExecs: number;
  controlWrites: number;
  unresolvedPaths: number;
  execs: Record<string, number>;
  byCall: unknown;
  examples: string[];
  topSyscalls: [string, number][];
  ioUring: boolean;
  exitCodes: (number | null)[];
  pass?: boolean;
  target?: string;
}

const T0 = Date.now();

/** Progress on stderr with the time since start. */
export const log = (...a: unknown[]): void => console.error(`bench [${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s]`, ...a);

export const results: Results = {
  tool: 'reconcile-gateways bench',
  startedAt: new Date().toISOString(),
  mode: cfg.QUICK ? 'quick' : 'full',
  machine: {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    loadavgAtStart: os.loadavg().map((x) => round(x, 2)),
  },
  settings: {
    sizes: cfg.SIZES,
    runs: cfg.RUNS,
    warmup: cfg.WARMUP,
    scenarios: [...cfg.SCENARIOS],
    seed: cfg.SEED,
    cli: path.relative(cfg.REPO, cfg.CLI) || cfg.CLI,
    extraArgs: cfg.EXTRA_ARGS,
    watch: {
      n: cfg.WATCH_N,
      seconds: cfg.WATCH_SECONDS,
      changes: cfg.WATCH_CHANGES,
      interval: cfg.WATCH_INTERVAL,
      timeoutMs: cfg.WATCH_TIMEOUT_MS,
    },
    soak: { n: cfg.SOAK_N, passes: cfg.SOAK_PASSES, interval: cfg.SOAK_INTERVAL, timeoutMs: cfg.SOAK_TIMEOUT_MS },
    churn: { cycles: cfg.CHURN_CYCLES, rate: cfg.CHURN_RATE, window: cfg.CHURN_WINDOW },
    strace: cfg.STRACE,
    straceMaxN: cfg.STRACE_MAX_N,
    straceCMaxN: cfg.STRACE_C_MAX_N,
    straceSeccompBpf: straceSeccomp,
    gnuTime: hasGnuTime,
    config: cfg.BENCH_CONFIG,
  },
  scratch: null,
  cli: {},
  floors: {},
  sizes: {},
  watch: null,
  soak: null,
  churn: null,
  rows: [],
  syscalls: [],
  targets: [],
  notes: [],
};

/** A note in the results and on stderr. */
export const note = (s: string): void => {
  results.notes.push(s);
  log(s);
};

export function addRow(r: Row): Row {
  results.rows.push(r);
  return r;
}

export function addTarget(name: string, value: string, target: string, pass: boolean): void {
  results.targets.push({ name, value, target, pass });
}

/** A row with only what informational rows (floors, watch) have. */
export function infoRow(scenario: string, n: number | string, fields: Partial<Row>): Row {
  return addRow({
    scenario,
    n,
    wallMs: null,
    cpuMs: null,
    rssKb: null,
    floor: null,
    floorMs: null,
    ratio: null,
    target: '-',
    pass: null,
    note: '',
    ...fields,
  });
}
