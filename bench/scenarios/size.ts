// One profile count N: its HERMES_HOME, scandir and floors, and the measuring steps the cold,
// converged and 1 % change scenarios share (bench/README.md "How a run is measured").

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RUNS, SEED, STRACE_C_MAX_N, WARMUP, RUN_TIMEOUT_MS, BENCH_CONFIG, OK_CODES } from '../config.js';
import { childEnv, cliArgs, firstLine, NotAvailable, rmrfSync, slotCount, startSvscanStub } from '../context.js';
import { type Floor, coldFloor, readFloor, renderReferenceScandir } from '../floors.js';
import { type Manifest, generateHermesHome, summarize } from '../generate.js';
import { type Measurement, type RunOptions, type RunResult, measure, median, round, runOnce } from '../measure.js';
import { type Availability, type FloorRecord, type Row, type SyscallRecord, addRow, log, note, results } from '../results.js';
import { straceMutations, straceSummary } from '../strace.js';

/** What every size shares: the scratch root, the bench config file, the CLI's commands, `node -e 0`. */
export interface BenchContext {
  readonly root: string;
  readonly cfg: string;
  readonly cli: Record<string, Availability>;
  readonly startup: FloorRecord & Floor;
}

/** A floor run after every tool run (ABAB), with a short name for the target column. */
export interface PairedFloor extends Floor {
  readonly short: string;
  readonly setup?: () => void;
}

/** A tool measurement with its paired floor. */
export interface ToolMeasurement extends Measurement {
  floor?: FloorRecord & { short: string; paired: true };
  pairedRatio?: number | null;
}

/** Options for {@link SizeRun.measureTool}. */
export interface ToolOptions {
  readonly setup?: (i: number) => void;
  readonly check?: (i: number, r: RunResult) => void;
  readonly pair?: PairedFloor;
}

/** The state of one N while its scenarios run. */
export class SizeRun {
  readonly dir: string;
  readonly hh: string;
  readonly scan: string;
  readonly ref: string;
  readonly dst: string;
  readonly manifest: Manifest;
  readonly info: Record<string, unknown> & { slots?: number };
  readonly run: RunOptions;
  /** N=10: every pass is compared with `node -e 0`. */
  readonly small: boolean;
  readonly floors: { cold?: FloorRecord; read?: FloorRecord } = {};
  refSource = 'bench renderer (CLI unavailable)';
  roundNo = 0;
  readonly #stub: ChildProcess;

  constructor(
    readonly n: number,
    readonly ctx: BenchContext,
  ) {
    this.dir = path.join(ctx.root, `n${n}`);
    fs.mkdirSync(this.dir);
    this.hh = path.join(this.dir, 'home');
    this.scan = path.join(this.dir, 'scan');
    this.ref = path.join(this.dir, 'ref');
    this.dst = path.join(this.dir, 'floor-dst');
    const tg = Date.now();
    this.manifest = generateHermesHome(this.hh, n, SEED);
    this.info = { generate: summarize(this.manifest), generateMs: Date.now() - tg };
    results.sizes[n] = this.info;
    results.floors[n] = this.floors;
    fs.mkdirSync(this.scan);
    this.#stub = startSvscanStub(this.scan);
    this.run = { cwd: this.dir, env: childEnv(this.hh), scratchDir: this.dir, timeoutMs: RUN_TIMEOUT_MS };
    this.small = n <= 10;
  }

  /** The CLI's arguments for `sub` on this size's trees. */
  args(sub: string): string[] {
    return cliArgs(sub, this.hh, this.scan, this.ctx.cfg);
  }

  /**
   * Times one CLI pass, interleaved with its floor: after every tool run (warm-up included) the
   * floor runs once, so both see the same machine state on a noisy host (ABAB, not AAAA BBBB).
   * At small N the floor is `node -e 0`; otherwise `pair`.
   */
  async measureTool(sub: string, { setup, check, pair }: ToolOptions = {}): Promise<ToolMeasurement> {
    const s = this.ctx.startup;
    const fl: PairedFloor | undefined = this.small ? { name: s.name, short: 'node -e 0', cmd: s.cmd, args: s.args } : pair;
    const paired: RunResult[] = [];
    const m: ToolMeasurement = await measure({
      cmd: process.execPath,
      args: this.args(sub),
      runs: RUNS,
      warmup: WARMUP,
      ...this.run,
      setup,
      check: async (i, r) => {
        if (i === 0 && r.code === 100) throw new NotAvailable(`\`${sub}\` exited 100: ${firstLine(r.stderr || r.stdout).slice(0, 120)}`);
        if (check) check(i, r);
        if (!fl) return;
        fl.setup?.();
        const f = await runOnce(fl.cmd, fl.args, this.run);
        if (i >= WARMUP) paired.push(f);
      },
    });
    if (fl) {
      const rss = paired.map((x) => x.maxRssKb).filter((x): x is number => x !== null && Number.isFinite(x));
      m.floor = {
        name: fl.name,
        short: fl.short,
        wallMs: median(paired.map((x) => x.wallMs)),
        cpuMs: median(paired.map((x) => x.cpuMs)),
        maxRssKb: Math.max(...rss, 0) || null,
        samples: paired.map((x) => ({ wallMs: round(x.wallMs, 2), cpuMs: x.cpuMs, maxRssKb: x.maxRssKb })),
        paired: true,
      };
      m.pairedRatio = round(
        median(
          m.samples.map((x, j) => {
            const f = paired[j];
            return f && x.wallMs !== null ? x.wallMs / f.wallMs : NaN;
          }),
        ),
        3,
      );
    }
    return m;
  }

  /** `cp -a` of the reference scandir, paired with a cold boot. */
  coldPair(): PairedFloor {
    return {
      ...coldFloor(this.ref, this.dst, this.hh),
      short: 'cp -a',
      setup: () => {
        rmrfSync(this.dst);
        fs.mkdirSync(this.dst);
      },
    };
  }

  /** `tar | cat` of the scandir and state files, paired with a converged run. */
  readPair(): PairedFloor {
    return { ...readFloor(this.scan, this.hh), short: 'tar|cat' };
  }

  /** The cold floor on its own (no paired tool run). */
  async measureColdFloor(): Promise<FloorRecord> {
    if (!fs.existsSync(this.ref)) renderReferenceScandir(this.manifest, this.ref, BENCH_CONFIG);
    const f = coldFloor(this.ref, this.dst, this.hh);
    log(`N=${this.n}: floor ${f.name}`);
    const m = await measure({
      cmd: f.cmd,
      args: f.args,
      runs: RUNS,
      warmup: WARMUP,
      ...this.run,
      setup: () => {
        rmrfSync(this.dst);
        fs.mkdirSync(this.dst);
      },
    });
    rmrfSync(this.dst);
    return { name: f.name, wallMs: m.wallMs, cpuMs: m.cpuMs, maxRssKb: m.maxRssKb, samples: m.samples };
  }

  /** The read floor on its own, over the tool's scandir if there is one. */
  async measureReadFloor(): Promise<FloorRecord> {
    const target = slotCount(this.scan) > 0 ? this.scan : this.ref;
    const f = readFloor(target, this.hh);
    log(`N=${this.n}: floor ${f.name}`);
    const m = await measure({ cmd: f.cmd, args: f.args, runs: RUNS, warmup: WARMUP, ...this.run });
    return {
      name: f.name,
      wallMs: m.wallMs,
      cpuMs: m.cpuMs,
      maxRssKb: m.maxRssKb,
      samples: m.samples,
      over: target === this.scan ? 'tool scandir' : 'reference scandir',
    };
  }

  /** A boot that fills the empty scandir (untimed), for the converged and change scenarios. */
  async populate(): Promise<void> {
    const r = await runOnce(process.execPath, this.args('boot'), this.run);
    this.info.slots = slotCount(this.scan);
    if (!OK_CODES.has(r.code)) note(`N=${this.n}: initial boot exited ${r.code}: ${r.stderr.slice(-300)}`);
  }

  /** Untimed strace passes: syscall totals (up to STRACE_C_MAX_N) and mutating calls by path. */
  async syscalls(
    scenario: string,
    sub: string,
    setup: (() => void) | null,
    extra: { noSummary?: boolean; zeroSlotWrites?: boolean; divisor?: number } = {},
  ): Promise<SyscallRecord> {
    const nn = this.n;
    log(`N=${nn}: strace ${scenario}`);
    const args = this.args(sub);
    let sum: { calls: Record<string, number>; total: number | null; code: number | null } = { calls: {}, total: null, code: null };
    if (!extra.noSummary && nn <= STRACE_C_MAX_N) {
      setup?.();
      sum = await straceSummary(process.execPath, args, this.run);
    }
    setup?.();
    const mut = await straceMutations(process.execPath, args, { scandir: this.scan, hermesHome: this.hh, cwd: this.dir }, this.run);
    const slots = Math.max(1, this.info.slots ?? nn);
    const c = sum.calls;
    const rec: SyscallRecord = {
      scenario,
      n: nn,
      totalSyscalls: sum.total,
      perProfile: sum.total == null ? null : round(sum.total / nn, 1),
      writeCalls: (c['write'] ?? 0) + (c['writev'] ?? 0) + (c['pwrite64'] ?? 0) + (c['pwritev'] ?? 0),
      slotMutations: mut.slot ?? 0,
      slotMutationsPerSlot: round((mut.slot ?? 0) / (extra.divisor ?? slots), 2),
      slotsTouched: mut.slotsTouched ?? 0,
      scandirTopMutations: mut.scandirTop ?? 0,
      hermesHomeMutations: mut.hermesHome ?? 0,
      failedInScandir: mut.failedInScandir ?? 0,
      mkfifoExecs: mut.execs?.['mkfifo'] ?? 0,
      fifoCreates: mut.fifoCreates ?? 0,
      svscanctlExecs: mut.execs?.['s6-svscanctl'] ?? 0,
      controlWrites: mut.controlWrites ?? 0,
      unresolvedPaths: mut.unresolved ?? 0,
      execs: mut.execs ?? {},
      byCall: mut.byCall,
      examples: mut.examples ?? [],
      topSyscalls: Object.entries(c)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12),
      ioUring: Boolean(c['io_uring_enter'] || c['io_uring_setup']),
      exitCodes: [sum.code, mut.code],
    };
    if (rec.ioUring)
      note(`${scenario} N=${nn}: io_uring in use – strace cannot see file operations submitted through it; write counts are a lower bound`);
    if (mut.error) note(`${scenario} N=${nn}: strace log not parsed: ${mut.error}`);
    if (rec.unresolvedPaths)
      note(`${scenario} N=${nn}: ${rec.unresolvedPaths} /proc/self/fd paths could not be resolved; slot-write counts may be low`);
    const perPass = rec.mkfifoExecs <= 1 && rec.svscanctlExecs <= 1 && rec.controlWrites <= 1;
    rec.pass = extra.zeroSlotWrites ? rec.slotMutations === 0 && perPass : perPass;
    rec.target = extra.zeroSlotWrites ? '0 slot writes; ≤1 mkfifo, ≤1 svscan cmd' : '≤1 mkfifo, ≤1 svscan cmd';
    results.syscalls.push(rec);
    return rec;
  }

  /** Stops the fake s6-svscan and removes this size's trees. */
  async finish(stopChild: (c: ChildProcess, graceMs: number) => Promise<unknown>): Promise<void> {
    await stopChild(this.#stub, 1000);
    rmrfSync(this.dir);
  }
}

/** Records a tool measurement; flags unexpected exit codes. */
export function toolRow(
  scenario: string,
  n: number,
  m: ToolMeasurement,
  floor: (FloorRecord & { short?: string }) | undefined,
  opts: { targetRatio?: number | null; note?: string } = {},
): Row {
  const bad = m.codes.filter((c) => !OK_CODES.has(c));
  const ratio = floor?.wallMs ? m.wallMs / floor.wallMs : null;
  let pass: Row['pass'] = opts.targetRatio != null && ratio != null ? ratio <= opts.targetRatio : null;
  if (bad.length) {
    pass = 'error';
    note(
      `${scenario} N=${n}: exit code(s) ${bad.join(',')}; stderr tail: ${m.lastStderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`,
    );
  }
  return addRow({
    scenario,
    n,
    wallMs: round(m.wallMs, 2),
    cpuMs: m.cpuMs,
    rssKb: m.maxRssKb,
    floor: floor?.name ?? null,
    floorMs: floor ? round(floor.wallMs, 2) : null,
    ratio: ratio == null ? null : round(ratio, 3),
    target: opts.targetRatio != null ? `≤ ${opts.targetRatio}× ${floor?.short ?? ''}` : '-',
    pass,
    exitCodes: m.codes,
    note: opts.note ?? '',
    pairedRatio: m.pairedRatio ?? null,
    floorPaired: Boolean(floor?.paired),
    floorSamples: floor?.samples ?? null,
    samples: m.samples,
    warmupSamples: m.warmupSamples,
  });
}
