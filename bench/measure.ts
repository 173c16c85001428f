// Measurement primitives for the benchmark suite: whole-process timing of one command, medians
// over runs, and the registry of children killed on exit. (strace.ts counts syscalls,
// snapshot.ts compares scandirs, proc.ts samples long-running processes.)
//
// How a run is measured (runOnce):
//   * wall time: process.hrtime.bigint() taken just before spawn() and in the child's 'exit'
//     event. It includes the fork/exec of the wrapper below (well under 1 ms), which every
//     measured command (tool and floors alike) pays equally.
//   * user+sys CPU and peak RSS: the child is run under GNU time
//     (`/usr/bin/time -f '%e %U %S %M' -o FILE -- cmd ...`). GNU time fork()s, exec()s the command
//     and wait4()s for it, so the figures are the kernel's rusage of the command *and every
//     descendant it waited for* (CPU is summed; %M is ru_maxrss = the peak RSS of the largest
//     single process in the tree, in KiB). CPU resolution is 10 ms (kernel tick accounting).
//   * fallback when /usr/bin/time is absent: `sh -c '"$@"; ...; cat /proc/$$/stat'` and read the
//     *shell's own* stat line (cutime+cstime = CPU of its waited-for children, which is exactly
//     the command). Peak RSS is then unknown (null) – there is no portable way to get a
//     child's ru_maxrss from Node without a wrapper.
//   Reading /proc/self/... from inside the wrapper would be wrong (that is the `cat` process),
//   and process.resourceUsage() only covers the Node process itself, not its children.
//
// Every child is spawned detached (own process group) and registered in `children`, so
// killAllChildren() can kill whole groups on exit / SIGINT.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const GNU_TIME = '/usr/bin/time';
export const hasGnuTime: boolean =
  process.env['BENCH_NO_GNU_TIME'] !== '1' &&
  (() => {
    try {
      const r = spawnSync(GNU_TIME, ['-f', '%e', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' });
      return r.status === 0;
    } catch {
      return false;
    }
  })();
export const hasStrace: boolean = (() => {
  try {
    return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
})();
/** strace ≥ 5.3 can stop the tracee only on traced syscalls (seccomp-bpf): ~2× faster with -e. */
export const straceSeccomp: boolean =
  hasStrace &&
  (() => {
    try {
      return (
        spawnSync('strace', ['-f', '--seccomp-bpf', '-e', 'trace=write', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' }).status === 0
      );
    } catch {
      return false;
    }
  })();
export const CLK_TCK: number = (() => {
  try {
    return Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---------------------------------------------------------------------------------------------
// child registry / cleanup

/** Live children: pid -> { child, label }. Every child is a process-group leader. */
export const children = new Map<number, { readonly child: ChildProcess; readonly label: string }>();

export function track<C extends ChildProcess>(child: C, label: string): C {
  const pid = child.pid;
  if (pid !== undefined) {
    children.set(pid, { child, label });
    child.once('exit', () => children.delete(pid));
  }
  return child;
}

/** Send `sig` to the process group of every tracked child (then to the child itself). */
export function killAllChildren(sig: NodeJS.Signals = 'SIGKILL'): void {
  for (const [pid] of children) {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  }
}

export function killGroup(child: ChildProcess | null | undefined, sig: NodeJS.Signals = 'SIGTERM'): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      process.kill(child.pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** Resolve when the child exits (or at once if it already has); returns { code, signal }. */
/** How a child ended (or that it did not within the wait). */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut?: boolean;
  readonly killed?: boolean;
}

export function waitExit(child: ChildProcess, timeoutMs = 0): Promise<ExitInfo> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal });
    };
    child.once('exit', done);
    if (timeoutMs > 0)
      timer = setTimeout(() => {
        child.off('exit', done);
        resolve({ code: null, signal: null, timedOut: true });
      }, timeoutMs);
  });
}

/** Ask a child group to stop: SIGTERM, wait, then SIGKILL. */
export async function stopChild(child: ChildProcess | null | undefined, graceMs = 3000): Promise<ExitInfo> {
  if (!child || child.exitCode !== null || child.signalCode !== null)
    return { code: child?.exitCode ?? null, signal: child?.signalCode ?? null };
  killGroup(child, 'SIGTERM');
  const r = await waitExit(child, graceMs);
  if (r.timedOut) {
    killGroup(child, 'SIGKILL');
    return { ...(await waitExit(child, graceMs)), killed: true };
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// stats

/** Median of the finite values, or null when there are none. */
export function median(xs: readonly (number | null | undefined)[]): number | null {
  const v = finite(xs).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] ?? null) : ((v[m - 1] ?? 0) + (v[m] ?? 0)) / 2;
}

/** The finite numbers of `xs`. */
export function finite(xs: readonly (number | null | undefined)[]): number[] {
  return xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly (number | null | undefined)[], p: number): number | null {
  const v = finite(xs).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * v.length));
  return v[Math.min(rank, v.length) - 1] ?? null;
}

export const max = (xs: readonly (number | null | undefined)[]): number | null => {
  const v = finite(xs);
  return v.length ? Math.max(...v) : null;
};

// ---------------------------------------------------------------------------------------------
// running one command

class Tail {
  buf = '';
  constructor(readonly limit = 4096) {}
  push(chunk: Buffer | string): void {
    this.buf += chunk.toString();
    if (this.buf.length > this.limit * 2) this.buf = this.buf.slice(-this.limit);
  }
  toString(): string {
    return this.buf.slice(-this.limit);
  }
}

let tmpSeq = 0;
export function scratchFile(dir: string | undefined, stem: string): string {
  return path.join(dir ?? os.tmpdir(), `.bench-${process.pid}-${stem}-${++tmpSeq}`);
}

/**
 * Run `cmd args` once as a child and measure it.
 * opts: { cwd, env, timeoutMs, scratchDir, stdoutFile }.
 * Returns { wallMs, userMs, sysMs, cpuMs, maxRssKb, code, signal, timedOut, stdout, stderr }.
 * `code` is the command's exit status (GNU time passes it through).
 */
/** Where and how a measured command runs. */
export interface RunOptions {
  readonly cwd?: string | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly timeoutMs?: number | undefined;
  readonly scratchDir?: string | undefined;
}

/** One run of one command. */
export interface RunResult {
  readonly wallMs: number;
  userMs: number | null;
  sysMs: number | null;
  cpuMs: number | null;
  maxRssKb: number | null;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runOnce(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const scratch = opts.scratchDir ?? os.tmpdir();
  const timeFile = scratchFile(scratch, 'time');
  let argv0: string;
  let argv: string[];
  if (hasGnuTime) {
    argv0 = GNU_TIME;
    argv = ['-f', '%e %U %S %M', '-o', timeFile, '--', cmd, ...args];
  } else {
    argv0 = '/bin/sh';
    argv = ['-c', '"$@"; rc=$?; cat /proc/$$/stat > "$0"; exit $rc', timeFile, cmd, ...args];
  }
  const out = new Tail();
  const err = new Tail();
  const t0 = process.hrtime.bigint();
  const child = track(
    spawn(argv0, argv, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    `${path.basename(cmd)} ${args[0] ?? ''}`,
  );
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const closed = Promise.all([new Promise((r) => child.stdout.once('close', r)), new Promise((r) => child.stderr.once('close', r))]);
  let timedOut = false;
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        killGroup(child, 'SIGKILL');
      }, opts.timeoutMs)
    : null;
  const { code, signal } = await exited(child);
  const t1 = process.hrtime.bigint();
  if (timer) clearTimeout(timer);
  // let the pipes drain (the tool's own children may hold them a moment longer)
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    closed,
    new Promise((r) => {
      drainTimer = setTimeout(r, 2000);
    }),
  ]);
  clearTimeout(drainTimer);
  const res: RunResult = {
    wallMs: Number(t1 - t0) / 1e6,
    userMs: null,
    sysMs: null,
    cpuMs: null,
    maxRssKb: null,
    code,
    signal,
    timedOut,
    stdout: out.toString(),
    stderr: err.toString(),
  };
  try {
    const text = fs.readFileSync(timeFile, 'utf8');
    if (hasGnuTime) {
      // possible first line: "Command exited with non-zero status 2"; the numbers are on the last line
      const last = (text.trim().split('\n').pop() ?? '').trim().split(/\s+/).map(Number);
      const [, user, sys, rss] = last;
      if (last.length === 4 && user !== undefined && sys !== undefined && rss !== undefined && last.every(Number.isFinite)) {
        res.userMs = user * 1000;
        res.sysMs = sys * 1000;
        res.cpuMs = res.userMs + res.sysMs;
        res.maxRssKb = rss;
      }
    } else {
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // fields after "(comm) ": index 0 = state (field 3); cutime = field 16, cstime = field 17
      const cu = Number(f[16 - 3]);
      const cs = Number(f[17 - 3]);
      res.userMs = (cu / CLK_TCK) * 1000;
      res.sysMs = (cs / CLK_TCK) * 1000;
      res.cpuMs = res.userMs + res.sysMs;
    }
  } catch {
    /* killed before the wrapper wrote it */
  }
  fs.rmSync(timeFile, { force: true });
  return res;
}

/**
 * Run a command `warmup + runs` times; `setup(i)` (untimed, may be async) runs before each,
 * `check(i, result)` after. Warm-up results are kept separately and not in the medians.
 * Returns { runs, warmup, wallMs, cpuMs, userMs, sysMs, maxRssKb, samples, warmupSamples, codes }.
 */
/** A sample as kept in the results JSON. */
export interface Sample {
  readonly wallMs: number | null;
  readonly cpuMs: number | null;
  readonly maxRssKb: number | null;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What {@link measure} runs. */
export interface MeasureSpec extends RunOptions {
  readonly cmd: string;
  readonly args: readonly string[] | ((i: number) => readonly string[]);
  readonly runs?: number;
  readonly warmup?: number;
  /** Untimed, before run i (warm-ups count from 0). */
  readonly setup?: ((i: number) => unknown) | undefined;
  /** Untimed, after run i. */
  readonly check?: ((i: number, r: RunResult) => unknown) | undefined;
}

/** Medians over the timed runs, with every sample. */
export interface Measurement {
  readonly runs: number;
  readonly warmup: number;
  readonly wallMs: number;
  readonly cpuMs: number | null;
  readonly userMs: number | null;
  readonly sysMs: number | null;
  readonly maxRssKb: number | null;
  readonly medianRssKb: number | null;
  readonly codes: (number | null)[];
  readonly samples: Sample[];
  readonly warmupSamples: Sample[];
  readonly lastStderr: string;
}

export async function measure({ cmd, args, runs = 5, warmup = 1, setup, check, ...opts }: MeasureSpec): Promise<Measurement> {
  const samples: RunResult[] = [];
  const warmupSamples: RunResult[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    if (setup) await setup(i);
    const r = await runOnce(cmd, typeof args === 'function' ? args(i) : args, opts);
    if (check) await check(i, r);
    (i < warmup ? warmupSamples : samples).push(r);
  }
  const pick = (k: 'wallMs' | 'cpuMs' | 'userMs' | 'sysMs' | 'maxRssKb'): (number | null)[] => samples.map((s) => s[k]);
  return {
    runs,
    warmup,
    wallMs: median(pick('wallMs')) ?? NaN,
    cpuMs: median(pick('cpuMs')),
    userMs: median(pick('userMs')),
    sysMs: median(pick('sysMs')),
    maxRssKb: max(pick('maxRssKb')),
    medianRssKb: median(pick('maxRssKb')),
    codes: [...new Set([...warmupSamples, ...samples].map((s) => s.code))],
    samples: samples.map(slim),
    warmupSamples: warmupSamples.map(slim),
    lastStderr: samples.at(-1)?.stderr ?? warmupSamples.at(-1)?.stderr ?? '',
  };
}
const slim = (s: RunResult): Sample => ({
  wallMs: round(s.wallMs, 2),
  cpuMs: s.cpuMs,
  maxRssKb: s.maxRssKb,
  code: s.code,
  signal: s.signal,
});
/** `x` rounded to `d` decimals; null/undefined/NaN pass through. */
export function round<T extends number | null | undefined>(x: T, d = 1): T {
  return (x == null || !Number.isFinite(x) ? x : Math.round(x * 10 ** d) / 10 ** d) as T;
}

/** Resolves with the exit status once `child` exits. */
function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (c: number | null, s: NodeJS.Signals | null) => resolve({ code: c, signal: s })));
}

/** Run a command without GNU time (used for strace wrappers); returns { code, stderr }. */
export async function runPlain(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const err = new Tail(8192);
  const out = new Tail(8192);
  const child = track(
    spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }),
    cmd,
  );
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const timer = opts.timeoutMs ? setTimeout(() => killGroup(child, 'SIGKILL'), opts.timeoutMs) : null;
  const { code, signal } = await exited(child);
  if (timer) clearTimeout(timer);
  return { code, signal, stdout: out.toString(), stderr: err.toString() };
}

export async function rmrf(p: string): Promise<void> {
  await fsp.rm(p, { recursive: true, force: true });
}
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
