#!/usr/bin/env node
// Benchmark orchestrator for reconcile-gateways. `npm run bench` (builds first) or
// `node bench/run.mjs`. Never part of `npm test`. See bench/README.md.
//
// Env knobs:
//   BENCH_SIZES=10,100       profile counts (default 10,100,1000,10000; quick: 10,100)
//   BENCH_RUNS=5             timed runs per measurement, after 1 warm-up (default 5; quick: 3)
//   BENCH_QUICK=1            smoke pass (< 1 min): small sizes, 3 runs, short watch phases
//   BENCH_SCENARIOS=cold,converged,change,watch   subset to run
//   BENCH_WATCH_N=1000       profiles in the watch scenario (quick: 100)
//   BENCH_WATCH_SECONDS=60   length of each idle window (quiet / writer) (quick: 3)
//   BENCH_WATCH_CHANGES=40   desired_state flips per latency phase (quick: 6)
//   BENCH_WATCH_INTERVAL=60  value passed to `watch --interval` (the tool's default)
//   BENCH_SOAK_PASSES=1000   watch passes in the RSS soak (quick: 60)
//   BENCH_SOAK_INTERVAL=0.05 `watch --interval` of the soak (a full pass every ~50 ms)
//   BENCH_WATCH_TIMEOUT_MS   give up on one change after this long (default max(5 s, 2 × interval + 1 s))
//   BENCH_STRACE=0           skip the strace passes; BENCH_STRACE_MAX_N=10000 skip them above N
//   BENCH_STRACE_C_MAX_N=1000  run the (slow) `strace -f -c` totals pass only up to this N
//   BENCH_SEED=1             generator seed
//   BENCH_CLI=path/main.js   CLI to benchmark (default dist/src/cli/main.cjs)
//   BENCH_EXTRA_ARGS='[...]' extra arguments for every CLI invocation (JSON array or words;
//                            default --container-argv [] so /proc scanning does not measure the host)
//   BENCH_WATCH_ARGS='...'   extra arguments for `watch` only (watch and soak), e.g. metrics flags
//   BENCH_TMPFS_SIZE=4g      size of the private tmpfs
//   BENCH_README=0|1         rewrite the "Latest results" section of bench/README.md
//                            (default: yes for full runs of the default CLI, no otherwise)
//   BENCH_STRICT=1           exit 1 if any target fails
//   BENCH_TIMEOUT_MS=600000  kill a single pass after this long
//   BENCH_NO_GNU_TIME=1      use the /proc/$$/stat fallback instead of GNU time (testing)

import { spawn, spawnSync, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateHermesHome, restoreStaleFiles, pickProfiles, flipDesired, flippable, summarize } from './generate.mjs';
import {
  measure, runOnce, straceSummary, straceMutations, snapshotTree, diffSnapshots, median, percentile,
  track, killAllChildren, stopChild, treeCpuSeconds, rssKb, sleep, round, hasGnuTime, hasStrace, straceSeccomp,
} from './measure.mjs';
import { startupFloor, coldFloor, readFloor, renderReferenceScandir } from './floors.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const num = (v, d) => (v !== undefined && v !== '' && Number.isFinite(Number(v)) ? Number(v) : d);
const SIZES = env.BENCH_SIZES ? env.BENCH_SIZES.split(',').map((s) => Number(s.trim())).filter((x) => x > 0) : QUICK ? [10, 100] : [10, 100, 1000, 10000];
const RUNS = Math.max(1, num(env.BENCH_RUNS, QUICK ? 3 : 5));
const WARMUP = 1;
const SCENARIOS = new Set((env.BENCH_SCENARIOS ?? 'cold,converged,change,watch,soak').split(',').map((s) => s.trim()));
const WATCH_N = num(env.BENCH_WATCH_N, QUICK ? 100 : 1000);
const WATCH_SECONDS = num(env.BENCH_WATCH_SECONDS, QUICK ? 3 : 60);
const WATCH_CHANGES = num(env.BENCH_WATCH_CHANGES, QUICK ? 6 : 40);
const WATCH_INTERVAL = env.BENCH_WATCH_INTERVAL ?? '60'; // the tool's own default
const SOAK_PASSES = num(env.BENCH_SOAK_PASSES, QUICK ? 60 : 1000);
const SOAK_INTERVAL = env.BENCH_SOAK_INTERVAL ?? '0.05';
const SOAK_TIMEOUT_MS = num(env.BENCH_SOAK_TIMEOUT_MS, 15 * 60 * 1000);
const WATCH_TIMEOUT_MS = num(env.BENCH_WATCH_TIMEOUT_MS, Math.max(5000, 2000 * Number(WATCH_INTERVAL) + 1000));
const STRACE = env.BENCH_STRACE !== '0' && hasStrace;
const STRACE_MAX_N = num(env.BENCH_STRACE_MAX_N, 10000);
const STRACE_C_MAX_N = num(env.BENCH_STRACE_C_MAX_N, 1000); // the full `strace -c` pass costs minutes at N=10000
const SEED = num(env.BENCH_SEED, 1);
const CLI = path.resolve(env.BENCH_CLI ?? path.join(REPO, 'dist/src/cli/main.cjs'));
const TMPFS_SIZE = env.BENCH_TMPFS_SIZE ?? '4g';
const RUN_TIMEOUT_MS = num(env.BENCH_TIMEOUT_MS, 10 * 60 * 1000);
const UPDATE_README = env.BENCH_README ? env.BENCH_README === '1' : (!QUICK && !env.BENCH_CLI && !env.BENCH_SIZES && !env.BENCH_SCENARIOS);
const BENCH_CONFIG = { shebang: '#!/bin/sh', user: 'nobody', gatewayCommand: '/bin/true', uid: 65534, gid: 65534 };

// ---------------------------------------------------------------------------------------------
// scratch space: a private tmpfs (production's scandir is tmpfs); always unmounted on exit

let mountPoint = null;
let workRoot = null;
let cleanedUp = false;
function cleanupSync() {
  if (cleanedUp) return;
  cleanedUp = true;
  killAllChildren('SIGKILL');
  if (mountPoint) {
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      ok = spawnSync('umount', [mountPoint], { stdio: 'ignore' }).status === 0;
      if (!ok) spawnSync('sleep', ['0.1']);
    }
    if (!ok) {
      spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
      console.error(`bench: ${mountPoint} was busy; lazily unmounted`);
    }
    try { fs.rmdirSync(mountPoint); } catch { /* leave it */ }
  } else if (workRoot) {
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
}
process.on('exit', cleanupSync);
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(sig, () => { console.error(`\nbench: ${sig}, cleaning up`); cleanupSync(); process.exit(code); });
}
process.on('uncaughtException', (e) => { console.error(e); cleanupSync(); process.exit(1); });
process.on('unhandledRejection', (e) => { console.error(e); cleanupSync(); process.exit(1); });

function setupScratch() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-bench-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) {
    mountPoint = dir; workRoot = dir;
    return { tmpfs: true, path: dir, note: `private tmpfs (size=${TMPFS_SIZE})` };
  }
  workRoot = dir;
  const fstype = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim();
  return { tmpfs: fstype === 'tmpfs', path: dir, note: `mount failed (${(r.stderr || r.error?.message || '').trim()}); using ${dir} on ${fstype || 'unknown fs'}` };
}

// ---------------------------------------------------------------------------------------------
// helpers

const T0 = Date.now();
const log = (...a) => console.error(`bench [${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s]`, ...a);
const childEnv = () => ({ PATH: env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: env.HOME ?? '/root', LANG: 'C.UTF-8', TZ: 'UTC', NO_COLOR: '1', TMPDIR: workRoot });
const EXTRA_ARGS = (() => {
  const v = env.BENCH_EXTRA_ARGS;
  // Container-role detection scans /proc/*/cmdline: it measures the host, not N. Pin it.
  if (v === undefined) return ['--container-argv', '[]'];
  if (!v) return [];
  try { const a = JSON.parse(v); if (Array.isArray(a)) return a.map(String); } catch { /* not JSON */ }
  return v.split(/\s+/).filter(Boolean);
})();
const cliArgs = (sub, hh, scan, cfg) => [CLI, sub, '--hermes-home', hh, '--scandir', scan, '--config', cfg, ...EXTRA_ARGS, ...(sub === 'watch' ? WATCH_ARGS : [])];
const WATCH_ARGS = (env.BENCH_WATCH_ARGS ?? '').split(/\s+/).filter((w) => w !== '');
const OK_CODES = new Set([0, 2]); // 0 converged, 2 partial failure (e.g. corrupt state files)

/** A subcommand that parses but says it is not implemented (exit 100) at run time. */
class NotAvailable extends Error {}
const firstLine = (t) => (t ?? '').trim().split('\n').find((l) => l.trim()) ?? '';
function markUnavailable(cli, sub, why) {
  if (!cli[sub].available) return;
  cli[sub] = { available: false, why };
  note(`${sub}: not available (${why}) – skipped`);
}

/**
 * Fingerprint of the CLI build (path, size, mtime of every .js under the CLI's dist/src), taken
 * at start and end: a rebuild in the middle of a run would mix two builds in one table.
 */
function buildFingerprint() {
  const root = path.resolve(path.dirname(CLI), '..');
  const parts = [];
  const walk = (d) => {
    let entries = [];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) { try { const st = fs.statSync(p); parts.push(`${p}:${st.size}:${st.mtimeMs}`); } catch { /* racing a rebuild */ } }
    }
  };
  walk(root);
  parts.sort();
  let h = 0; for (const c of parts.join('\n')) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return { files: parts.length, hash: (h >>> 0).toString(16) };
}

/** Does the CLI have `sub`? Unavailable when `sub --help` exits 100 or says "unknown command". */
function probe(sub) {
  if (!fs.existsSync(CLI)) return { available: false, why: `${path.relative(REPO, CLI) || CLI} not found (not built yet?)` };
  const r = spawnSync(process.execPath, [CLI, sub, '--help'], { encoding: 'utf8', timeout: 30000, env: childEnv(), cwd: workRoot });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) return { available: false, why: String(r.error.message) };
  if (r.status === 100 || /unknown command/i.test(text)) return { available: false, why: `\`${sub} --help\` exited ${r.status}: ${text.trim().split('\n')[0]?.slice(0, 120)}` };
  return { available: true, helpExit: r.status };
}

/** Fake s6-svscan: a FIFO .s6-svscan/control with a reader, so s6-svscanctl succeeds. */
function startSvscanStub(scan) {
  fs.mkdirSync(path.join(scan, '.s6-svscan'), { recursive: true });
  const fifo = path.join(scan, '.s6-svscan', 'control');
  if (!fs.existsSync(fifo)) spawnSync('mkfifo', ['-m', '0600', fifo]);
  // `<>` opens read-write, so cat never sees EOF however many writers come and go
  return track(spawn('/bin/sh', ['-c', 'exec cat <>"$1" >/dev/null', 'svscan-stub', fifo], { detached: true, stdio: 'ignore' }), 'svscan-stub');
}

/** rm -rf is ~30% faster than fs.rmSync on 10 000 slots; untimed, but it adds up. */
function rmrfSync(...paths) {
  if (!paths.length) return;
  const r = spawnSync('rm', ['-rf', '--', ...paths], { stdio: 'ignore' });
  if (r.status !== 0) for (const p of paths) fs.rmSync(p, { recursive: true, force: true });
}
function clearSlots(scan) {
  rmrfSync(...fs.readdirSync(scan).filter((e) => e !== '.s6-svscan').map((e) => path.join(scan, e)));
}
const slotEntries = (scan) => fs.readdirSync(scan).filter((e) => e !== '.s6-svscan');
const slotCount = (scan) => slotEntries(scan).filter((e) => !e.startsWith('.')).length;

/** The slot dir of a profile: <scandir>/gateway-<name>. */
const slotDirOf = (scan, name) => path.join(scan, `gateway-${name}`);

const fmtMs = (x) => (x == null ? '-' : x >= 100 ? String(Math.round(x)) : x.toFixed(1));
const fmtMb = (kb) => (kb == null ? '-' : (kb / 1024).toFixed(1));
const fmtRatio = (r) => (r == null || !Number.isFinite(r) ? '-' : `${r.toFixed(2)}×`);
const passText = (p) => (p === true ? 'pass' : p === false ? 'FAIL' : p === 'error' ? 'ERROR' : '-');

// ---------------------------------------------------------------------------------------------
// results

const results = {
  tool: 'reconcile-gateways bench',
  startedAt: new Date().toISOString(),
  mode: QUICK ? 'quick' : 'full',
  machine: {
    cpuModel: os.cpus()[0]?.model ?? 'unknown', cpus: os.cpus().length, totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version, kernel: `${os.type()} ${os.release()}`, arch: os.arch(),
    loadavgAtStart: os.loadavg().map((x) => round(x, 2)),
  },
  settings: { sizes: SIZES, runs: RUNS, warmup: WARMUP, scenarios: [...SCENARIOS], seed: SEED, cli: path.relative(REPO, CLI) || CLI, extraArgs: EXTRA_ARGS,
    watch: { n: WATCH_N, seconds: WATCH_SECONDS, changes: WATCH_CHANGES, interval: WATCH_INTERVAL, timeoutMs: WATCH_TIMEOUT_MS },
    soak: { n: WATCH_N, passes: SOAK_PASSES, interval: SOAK_INTERVAL, timeoutMs: SOAK_TIMEOUT_MS },
    strace: STRACE, straceMaxN: STRACE_MAX_N, straceCMaxN: STRACE_C_MAX_N, straceSeccompBpf: straceSeccomp, gnuTime: hasGnuTime, config: BENCH_CONFIG },
  scratch: null, cli: {}, floors: {}, sizes: {}, watch: null, soak: null,
  rows: [], syscalls: [], targets: [], notes: [],
};
const note = (s) => { results.notes.push(s); log(s); };

function addRow(r) { results.rows.push(r); return r; }
function addTarget(name, value, target, pass) { results.targets.push({ name, value, target, pass }); }

/** Record a tool measurement; flags unexpected exit codes. */
function toolRow(scenario, n, m, floor, opts = {}) {
  const bad = m.codes.filter((c) => !OK_CODES.has(c));
  const ratio = floor?.wallMs ? m.wallMs / floor.wallMs : null;
  let pass = opts.targetRatio != null && ratio != null ? ratio <= opts.targetRatio : null;
  if (bad.length) {
    pass = 'error';
    note(`${scenario} N=${n}: exit code(s) ${bad.join(',')}; stderr tail: ${m.lastStderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`);
  }
  return addRow({
    scenario, n, wallMs: round(m.wallMs, 2), cpuMs: m.cpuMs, rssKb: m.maxRssKb, floor: floor?.name ?? null, floorMs: floor ? round(floor.wallMs, 2) : null,
    ratio: ratio == null ? null : round(ratio, 3), target: opts.targetRatio != null ? `≤ ${opts.targetRatio}× ${floor.short}` : '-', pass,
    exitCodes: m.codes, note: opts.note ?? '', pairedRatio: m.pairedRatio ?? null, floorPaired: Boolean(floor?.paired), floorSamples: floor?.samples ?? null,
    samples: m.samples, warmupSamples: m.warmupSamples,
  });
}

// ---------------------------------------------------------------------------------------------
// per-size scenarios

async function benchSize(n, ctx) {
  const { root, cfg, cli, startup } = ctx;
  const dir = path.join(root, `n${n}`);
  fs.mkdirSync(dir);
  const hh = path.join(dir, 'home'); const scan = path.join(dir, 'scan'); const ref = path.join(dir, 'ref'); const dst = path.join(dir, 'floor-dst');
  const tg = Date.now();
  const manifest = generateHermesHome(hh, n, SEED);
  const info = { generate: summarize(manifest), generateMs: Date.now() - tg };
  results.sizes[n] = info;
  fs.mkdirSync(scan);
  const stub = startSvscanStub(scan);
  const run = { cwd: dir, env: childEnv(), scratchDir: dir, timeoutMs: RUN_TIMEOUT_MS };
  const roots = { scandir: scan, hermesHome: hh, cwd: dir };
  const small = n <= 10; // N=10: compare against `node -e 0`
  const floors = {};
  results.floors[n] = floors;
  let boot = cli.boot.available;

  /**
   * Time one CLI pass, interleaved with its floor: after every tool run (warm-up included) the
   * floor runs once, so both see the same machine state on a noisy host (ABAB, not AAAA BBBB).
   * At small N the floor is `node -e 0`; otherwise `pair` ({ name, short, cmd, args, setup }).
   * m.floor = { name, short, wallMs (median), cpuMs, maxRssKb, samples, paired: true }.
   */
  async function measureTool(sub, { setup, check, pair } = {}) {
    const fl = small ? { name: startup.name, short: 'node -e 0', cmd: startup.cmd, args: startup.args } : pair;
    const paired = [];
    const m = await measure({
      cmd: process.execPath, args: cliArgs(sub, hh, scan, cfg), runs: RUNS, warmup: WARMUP, ...run, setup,
      check: async (i, r) => {
        if (i === 0 && r.code === 100) throw new NotAvailable(`\`${sub}\` exited 100: ${firstLine(r.stderr || r.stdout).slice(0, 120)}`);
        if (check) await check(i, r);
        if (!fl) return;
        if (fl.setup) await fl.setup();
        const f = await runOnce(fl.cmd, fl.args, run);
        if (i >= WARMUP) paired.push(f);
      },
    });
    if (fl) {
      const pick = (k) => paired.map((x) => x[k]);
      m.floor = { name: fl.name, short: fl.short, wallMs: median(pick('wallMs')), cpuMs: median(pick('cpuMs')), maxRssKb: Math.max(...pick('maxRssKb').filter(Number.isFinite), 0) || null,
        samples: paired.map((x) => ({ wallMs: round(x.wallMs, 2), cpuMs: x.cpuMs, maxRssKb: x.maxRssKb })), paired: true };
      m.pairedRatio = round(median(m.samples.map((x, j) => (paired[j] ? x.wallMs / paired[j].wallMs : NaN))), 3);
    }
    return m;
  }
  const coldPair = () => {
    const f = coldFloor(ref, dst, hh);
    return { ...f, short: 'cp -a', setup: () => { rmrfSync(dst); fs.mkdirSync(dst); } };
  };
  const readPair = () => ({ ...readFloor(scan, hh), short: 'tar|cat' });

  // ---- 1. cold boot -------------------------------------------------------------------------
  let refSource = 'bench renderer (CLI unavailable)';
  const coldSetup = () => { clearSlots(scan); restoreStaleFiles(manifest); };
  if (boot && SCENARIOS.has('cold')) {
    try { await coldScenario(); } catch (e) { if (!(e instanceof NotAvailable)) throw e; markUnavailable(cli, 'boot', e.message); boot = false; }
  }
  if (!floors.cold) {
    if (!fs.existsSync(ref)) renderReferenceScandir(manifest, ref, BENCH_CONFIG);
    floors.cold = await measureColdFloor();
  }
  floors.cold.source = refSource;

  async function coldScenario() {
    log(`N=${n}: cold boot ×${WARMUP}+${RUNS}`);
    const m = await measureTool('boot', {
      setup: coldSetup,
      check: (i) => {
        if (i === 0) { // keep the warm-up output as the reference scandir for the cp -a floor
          rmrfSync(ref);
          spawnSync('cp', ['-a', scan, ref]);
          rmrfSync(path.join(ref, '.s6-svscan'));
          refSource = 'the tool\'s own cold-boot output';
          info.slots = slotCount(scan);
        }
      },
      pair: coldPair(),
    });
    rmrfSync(dst);
    if (small) floors.cold = await measureColdFloor(); // for the record; the N=10 row uses node -e 0
    else floors.cold = { ...m.floor, source: refSource };
    toolRow('cold boot', n, m, m.floor, { targetRatio: small ? 2 : n >= 1000 ? 1.0 : null, note: `${info.slots} slots` });
    if (STRACE && n <= STRACE_MAX_N) await syscalls('cold boot', n, 'boot', coldSetup);
  }

  async function measureColdFloor() {
    if (!fs.existsSync(ref)) { renderReferenceScandir(manifest, ref, BENCH_CONFIG); }
    const f = coldFloor(ref, dst, hh);
    log(`N=${n}: floor ${f.name}`);
    const m = await measure({ cmd: f.cmd, args: f.args, runs: RUNS, warmup: WARMUP, ...run,
      setup: () => { rmrfSync(dst); fs.mkdirSync(dst); } });
    rmrfSync(dst);
    return { name: f.name, wallMs: m.wallMs, cpuMs: m.cpuMs, maxRssKb: m.maxRssKb, samples: m.samples };
  }

  async function syscalls(scenario, nn, sub, setup, extra = {}) {
    log(`N=${nn}: strace ${scenario}`);
    const args = cliArgs(sub, hh, scan, cfg);
    let sum = { calls: {}, total: null, code: null };
    if (!extra.noSummary && nn <= STRACE_C_MAX_N) {
      if (setup) await setup();
      sum = await straceSummary(process.execPath, args, run);
    }
    if (setup) await setup();
    const mut = await straceMutations(process.execPath, args, roots, run);
    const slots = Math.max(1, info.slots ?? nn);
    const rec = {
      scenario, n: nn,
      totalSyscalls: sum.total, perProfile: sum.total == null ? null : round(sum.total / nn, 1),
      writeCalls: (sum.calls.write ?? 0) + (sum.calls.writev ?? 0) + (sum.calls.pwrite64 ?? 0) + (sum.calls.pwritev ?? 0),
      slotMutations: mut.slot, slotMutationsPerSlot: round(mut.slot / (extra.divisor ?? slots), 2), slotsTouched: mut.slotsTouched,
      scandirTopMutations: mut.scandirTop, hermesHomeMutations: mut.hermesHome, failedInScandir: mut.failedInScandir,
      mkfifoExecs: mut.execs?.mkfifo ?? 0, fifoCreates: mut.fifoCreates, svscanctlExecs: mut.execs?.['s6-svscanctl'] ?? 0,
      controlWrites: mut.controlWrites, unresolvedPaths: mut.unresolved,
      execs: mut.execs, byCall: mut.byCall, examples: mut.examples, topSyscalls: Object.entries(sum.calls).sort((a, b) => b[1] - a[1]).slice(0, 12),
      ioUring: Boolean(sum.calls.io_uring_enter || sum.calls.io_uring_setup), exitCodes: [sum.code, mut.code],
    };
    if (rec.ioUring) note(`${scenario} N=${nn}: io_uring in use – strace cannot see file operations submitted through it; write counts are a lower bound`);
    if (mut.error) note(`${scenario} N=${nn}: strace log not parsed: ${mut.error}`);
    if (rec.unresolvedPaths) note(`${scenario} N=${nn}: ${rec.unresolvedPaths} /proc/self/fd paths could not be resolved; slot-write counts may be low`);
    const perPass = rec.mkfifoExecs <= 1 && rec.svscanctlExecs <= 1 && rec.controlWrites <= 1;
    rec.pass = extra.zeroSlotWrites ? (rec.slotMutations === 0 && perPass) : perPass;
    rec.target = extra.zeroSlotWrites ? '0 slot writes; ≤1 mkfifo, ≤1 svscan cmd' : '≤1 mkfifo, ≤1 svscan cmd';
    results.syscalls.push(rec);
    return rec;
  }

  // ---- 2. converged boot / sync ---------------------------------------------------------------
  if (boot && (SCENARIOS.has('converged') || SCENARIOS.has('change')) && slotCount(scan) === 0) {
    const r = await runOnce(process.execPath, cliArgs('boot', hh, scan, cfg), run); // populate
    info.slots = slotCount(scan);
    if (!OK_CODES.has(r.code)) note(`N=${n}: initial boot exited ${r.code}: ${r.stderr.slice(-300)}`);
  }
  if (boot && SCENARIOS.has('converged')) {
    for (const sub of ['boot', 'sync']) {
      if (!cli[sub].available) continue;
      try { await convergedScenario(sub); } catch (e) { if (!(e instanceof NotAvailable)) throw e; markUnavailable(cli, sub, e.message); }
    }
  }
  async function convergedScenario(sub) {
    {
      const scenario = `converged ${sub}`;
      log(`N=${n}: ${scenario} ×${WARMUP}+${RUNS}`);
      let snap0 = null;
      const m = await measureTool(sub, {
        setup: (i) => { if (i === WARMUP) snap0 = snapshotTree(scan); }, // after the warm-up pass
        pair: readPair(),
      });
      const d = diffSnapshots(snap0, snapshotTree(scan));
      if (!small && !floors.read) floors.read = { ...m.floor, over: 'tool scandir' };
      const row = toolRow(scenario, n, m, m.floor, { targetRatio: small ? 2 : n >= 1000 ? 2.0 : null,
        note: `snapshot: ${d.inSlots} slot changes, ${d.outsideSlots} outside` });
      row.snapshot = d;
      addTarget(`${scenario} N=${n}: scandir snapshot unchanged over ${RUNS} runs`, `${d.inSlots} changed in slots`, '0', d.inSlots === 0);
      if (STRACE && n <= STRACE_MAX_N) await syscalls(scenario, n, sub, null, { zeroSlotWrites: true });
    }
  }
  if (!floors.read) floors.read = await measureReadFloor();

  async function measureReadFloor() {
    const target = slotCount(scan) > 0 ? scan : ref;
    const f = readFloor(target, hh);
    log(`N=${n}: floor ${f.name}`);
    const m = await measure({ cmd: f.cmd, args: f.args, runs: RUNS, warmup: WARMUP, ...run });
    return { name: f.name, wallMs: m.wallMs, cpuMs: m.cpuMs, maxRssKb: m.maxRssKb, samples: m.samples, over: target === scan ? 'tool scandir' : 'reference scandir' };
  }

  // ---- 3. small change: 1% of profiles flip desired_state ---------------------------------------
  let roundNo = 0;
  if (boot && SCENARIOS.has('change')) {
    for (const sub of ['boot', 'sync']) {
      if (!cli[sub].available) continue;
      try { await changeScenario(sub); } catch (e) { if (!(e instanceof NotAvailable)) throw e; markUnavailable(cli, sub, e.message); }
    }
  }
  async function changeScenario(sub) {
    const k = Math.max(1, Math.round(n * 0.01));
    {
      const scenario = `1% change ${sub}`;
      log(`N=${n}: ${scenario} (${k} profiles) ×${WARMUP}+${RUNS}`);
      let flipped = []; let downBefore = []; let converged = 0; let total = 0;
      const flip = () => {
        flipped = pickProfiles(manifest, k, ++roundNo);
        downBefore = flipped.map((p) => fs.existsSync(path.join(slotDirOf(scan, p.name), 'down')));
        flipDesired(flipped);
      };
      const verify = () => {
        flipped.forEach((p, j) => { total++; if (fs.existsSync(path.join(slotDirOf(scan, p.name), 'down')) !== downBefore[j]) converged++; });
      };
      const m = await measureTool(sub, { setup: flip, check: verify }); // no pair at N > 10: no target here
      floors.read ??= await measureReadFloor();
      const f = small ? m.floor : { ...floors.read, short: 'tar|cat' };
      toolRow(scenario, n, m, f, { targetRatio: small ? 2 : null, note: `${k} flipped/run; down toggled ${converged}/${total}` });
      addTarget(`${scenario} N=${n}: every flipped slot's down marker toggled`, `${converged}/${total}`, 'all', converged === total);
      if (STRACE && n <= STRACE_MAX_N) await syscalls(scenario, n, sub, flip, { divisor: k, noSummary: true }); // writes only: saves a slow pass
    }
  }

  await stopChild(stub, 1000);
  rmrfSync(dir);
}

// ---------------------------------------------------------------------------------------------
// 4. watch

async function benchWatch(ctx) {
  const { root, cfg } = ctx;
  const dir = path.join(root, 'watch');
  fs.mkdirSync(dir);
  const hh = path.join(dir, 'home'); const scan = path.join(dir, 'scan');
  const manifest = generateHermesHome(hh, WATCH_N, SEED + 1);
  fs.mkdirSync(scan);
  const stub = startSvscanStub(scan);
  const out = { n: WATCH_N, interval: WATCH_INTERVAL, windowSeconds: WATCH_SECONDS };
  results.watch = out;
  const b = await runOnce(process.execPath, cliArgs('boot', hh, scan, cfg), { cwd: dir, env: childEnv(), scratchDir: dir, timeoutMs: RUN_TIMEOUT_MS });
  out.preBoot = { code: b.code, wallMs: round(b.wallMs), slots: slotCount(scan) };

  const statusFile = path.join(dir, 'status.json');
  const logFile = path.join(dir, 'watch.log');
  const logFd = fs.openSync(logFile, 'w');
  const args = [...cliArgs('watch', hh, scan, cfg), '--interval', String(WATCH_INTERVAL), '--status-file', statusFile];
  log(`watch: starting with ${WATCH_N} profiles, --interval ${WATCH_INTERVAL}`);
  const tStart = performance.now();
  const child = track(spawn(process.execPath, args, { cwd: dir, env: childEnv(), detached: true, stdio: ['ignore', logFd, logFd] }), 'watch');
  fs.closeSync(logFd);
  const pid = child.pid;
  let phase = 'start';
  const rss = [];
  const sampler = setInterval(() => { const v = rssKb(pid); if (v != null) rss.push({ t: round((performance.now() - tStart) / 1000, 2), phase, kb: v }); }, 1000);
  let writer = null;
  try {
    // ready: status file written (or 15 s), then settle until CPU is quiet (or 20 s)
    const t0 = performance.now();
    while (!fs.existsSync(statusFile) && performance.now() - t0 < 15000 && child.exitCode === null) await sleep(20);
    out.statusFileAfterMs = fs.existsSync(statusFile) ? round(performance.now() - t0) : null;
    if (child.exitCode !== null) {
      const text = fs.readFileSync(logFile, 'utf8');
      if (child.exitCode === 100) throw new NotAvailable(`\`watch\` exited 100: ${firstLine(text).slice(0, 120)}`);
      throw new Error(`watch exited early with ${child.exitCode}: ${text.slice(-400)}`);
    }
    phase = 'settle';
    const ts = performance.now();
    for (;;) {
      const c0 = treeCpuSeconds(pid); await sleep(1000); const c1 = treeCpuSeconds(pid);
      if (c0 == null || c1 == null) throw new Error('watch exited while settling');
      if (c1 - c0 <= 0.02 || performance.now() - ts > 20000) break;
    }
    out.settleMs = round(performance.now() - ts);

    const pool = flippable(manifest).filter((p) => p.desired === 'running' || p.desired === 'stopped');
    const picks = pickProfiles({ ...manifest, profiles: pool }, Math.min(pool.length, WATCH_CHANGES * 2), 999);

    // latency, quiet
    phase = 'latency-quiet';
    log(`watch: ${WATCH_CHANGES} changes, quiet`);
    out.latencyQuiet = await latencies(picks.slice(0, WATCH_CHANGES), null);
    // idle, quiet
    phase = 'idle-quiet';
    log(`watch: idle ${WATCH_SECONDS}s, quiet`);
    out.idleQuiet = await idleWindow('idle-quiet');

    // writer load
    phase = 'writer-start';
    writer = track(fork(path.join(BENCH_DIR, 'writer.mjs'), [hh, '1'], { detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }), 'writer');
    const ready = await nextMessage(writer, 'ready', 20000);
    out.writer = { files: ready?.files ?? null };
    await sleep(QUICK ? 1000 : 3000); // let the watcher see a few rounds of rewrites first
    phase = 'latency-writer';
    log(`watch: ${WATCH_CHANGES} changes, under writer load (${ready?.files} files/s)`);
    const second = picks.slice(WATCH_CHANGES, WATCH_CHANGES * 2);
    out.latencyWriter = await latencies(second.length ? second : picks.slice(0, WATCH_CHANGES), writer);
    phase = 'idle-writer';
    log(`watch: ${WATCH_SECONDS}s under writer load`);
    out.idleWriter = await idleWindow('idle-writer');
    writer.send({ type: 'stats' });
    const st = await nextMessage(writer, 'stats', 5000);
    out.writer = { ...out.writer, writes: st?.writes, seconds: round(st?.seconds, 1), writesPerSecond: st ? round(st.writes / st.seconds, 1) : null, maxLagMs: round(st?.maxLagMs, 1) };
  } catch (e) {
    if (e instanceof NotAvailable) {
      out.unavailable = true; out.why = e.message;
      console.log('watch: not available');
      note(`watch: not available (${e.message}) – skipped`);
    } else {
      out.error = String(e.message ?? e);
      note(`watch: ${out.error}`);
    }
  } finally {
    clearInterval(sampler);
    if (writer) { try { writer.send({ type: 'stop' }); } catch { /* gone */ } await stopChild(writer, 2000); }
    phase = 'stop';
    const ex = await stopChild(child, 5000);
    out.exit = ex;
    try { out.statusFile = fs.readFileSync(statusFile, 'utf8').slice(0, 2000); } catch { out.statusFile = null; }
    out.logTail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-1500) : '';
    await stopChild(stub, 1000);
  }
  out.rss = { quiet: summarizeRss(rss.filter((x) => x.phase === 'idle-quiet')), writer: summarizeRss(rss.filter((x) => x.phase === 'idle-writer')),
    maxKb: rss.length ? Math.max(...rss.map((x) => x.kb)) : null };
  const flats = [out.rss.quiet.flat, out.rss.writer.flat].filter((x) => x != null);
  out.rss.flat = flats.length ? flats.every(Boolean) : null;
  out.rssSamples = rss;
  rmrfSync(dir);

  async function latencies(profiles, wr) {
    const lat = []; let timeouts = 0; const detail = [];
    for (const p of profiles) {
      const slot = slotDirOf(scan, p.name);
      const downPath = path.join(slot, 'down');
      const before = fs.existsSync(downPath);
      const want = p.desired === 'running' ? 'stopped' : 'running';
      if (wr) { wr.send({ type: 'set', name: p.name, desired: want }); await nextMessage(wr, 'ack', 5000, (m) => m.name === p.name); }
      let wake = null;
      let watcher = null;
      try { watcher = fs.watch(slot, () => wake?.()); } catch { /* slot missing: poll only */ }
      flipDesired([p], Date.now());
      const t0 = performance.now();
      let t1 = null;
      while (performance.now() - t0 < WATCH_TIMEOUT_MS) {
        if (fs.existsSync(downPath) !== before) { t1 = performance.now(); break; }
        await new Promise((r) => { wake = r; setTimeout(r, 5); }); // 5 ms poll, woken early by inotify
        wake = null;
      }
      watcher?.close();
      if (t1 == null) timeouts++; else lat.push(t1 - t0);
      detail.push({ profile: p.name, to: want, ms: t1 == null ? null : round(t1 - t0, 1) });
      await sleep(200);
    }
    return { count: profiles.length, p50: round(percentile(lat, 50), 1), p95: round(percentile(lat, 95), 1), max: round(Math.max(...lat, 0), 1), timeouts, detail };
  }

  async function idleWindow(name) {
    const c0 = treeCpuSeconds(pid); const t0 = performance.now();
    const r0 = rssKb(pid);
    await sleep(WATCH_SECONDS * 1000);
    const c1 = treeCpuSeconds(pid); const secs = (performance.now() - t0) / 1000;
    if (c0 == null || c1 == null) throw new Error(`watch exited during ${name}`);
    return { seconds: round(secs, 1), cpuMs: round((c1 - c0) * 1000), pctOfCore: round(((c1 - c0) / secs) * 100, 2), rssStartKb: r0, rssEndKb: rssKb(pid) };
  }
}

// ---------------------------------------------------------------------------------------------
// 5. soak: RSS across many watch passes

/**
 * `watch --interval 0.05` over WATCH_N profiles: a full pass every ~50 ms until the status file
 * counts SOAK_PASSES passes. RSS is sampled every 250 ms with the pass count at that moment.
 * Flat = the median RSS of the last 10% of passes is at most max(4 MiB, 5%) above the median of
 * passes 10–20% (the first 10% are warm-up: JIT, heap sizing); the least-squares slope is
 * reported in MB per 1000 passes.
 */
async function benchSoak(ctx) {
  const { root, cfg } = ctx;
  const dir = path.join(root, 'soak');
  fs.mkdirSync(dir);
  const hh = path.join(dir, 'home'); const scan = path.join(dir, 'scan');
  generateHermesHome(hh, WATCH_N, SEED + 2);
  fs.mkdirSync(scan);
  const stub = startSvscanStub(scan);
  const out = { n: WATCH_N, interval: SOAK_INTERVAL, targetPasses: SOAK_PASSES };
  results.soak = out;
  await runOnce(process.execPath, cliArgs('boot', hh, scan, cfg), { cwd: dir, env: childEnv(), scratchDir: dir, timeoutMs: RUN_TIMEOUT_MS });
  const statusFile = path.join(dir, 'status.json');
  const logFile = path.join(dir, 'watch.log');
  const logFd = fs.openSync(logFile, 'w');
  const args = [...cliArgs('watch', hh, scan, cfg), '--interval', SOAK_INTERVAL, '--status-file', statusFile];
  log(`soak: watch over ${WATCH_N} profiles, --interval ${SOAK_INTERVAL}, until ${SOAK_PASSES} passes`);
  const child = track(spawn(process.execPath, args, { cwd: dir, env: childEnv(), detached: true, stdio: ['ignore', logFd, logFd] }), 'soak');
  fs.closeSync(logFd);
  const samples = [];
  const t0 = performance.now();
  const passes = () => { try { return JSON.parse(fs.readFileSync(statusFile, 'utf8')).passes; } catch { return null; } };
  try {
    let last = 0;
    while (performance.now() - t0 < SOAK_TIMEOUT_MS) {
      await sleep(250);
      if (child.exitCode !== null) throw new Error(`watch exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-400)}`);
      const p = passes(); const kb = rssKb(child.pid);
      if (p == null || kb == null) continue;
      samples.push({ t: round((performance.now() - t0) / 1000, 2), passes: p, kb });
      last = p;
      if (p >= SOAK_PASSES) break;
    }
    out.passes = last;
    out.seconds = round((performance.now() - t0) / 1000, 1);
    if (last < SOAK_PASSES) out.error = `only ${last} passes in ${out.seconds} s`;
  } catch (e) {
    out.error = String(e.message ?? e);
    note(`soak: ${out.error}`);
  } finally {
    await stopChild(child, 5000);
    await stopChild(stub, 1000);
    out.logTail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-800) : '';
    rmrfSync(dir);
  }
  out.samples = samples;
  const total = out.passes ?? 0;
  const band = (lo, hi) => samples.filter((x) => x.passes >= lo * total && x.passes <= hi * total).map((x) => x.kb);
  const early = band(0.1, 0.2); const late = band(0.9, 1);
  if (early.length && late.length) {
    const fit = samples.filter((x) => x.passes >= 0.1 * total);
    const n = fit.length; const mx = fit.reduce((a, x) => a + x.passes, 0) / n; const my = fit.reduce((a, x) => a + x.kb, 0) / n;
    const slope = fit.reduce((a, x) => a + (x.passes - mx) * (x.kb - my), 0) / (fit.reduce((a, x) => a + (x.passes - mx) ** 2, 0) || 1);
    out.earlyKb = median(early); out.lateKb = median(late);
    out.slopeMbPer1000 = round((slope * 1000) / 1024, 2);
    out.maxKb = Math.max(...samples.map((x) => x.kb));
    out.flat = out.lateKb - out.earlyKb <= Math.max(4096, out.earlyKb * 0.05);
  }
}

function soakRows() {
  const k = results.soak;
  if (!k) return;
  if (k.flat == null) {
    addRow({ scenario: 'watch RSS over passes', n: k.n, wallMs: null, cpuMs: null, rssKb: null, floor: null, floorMs: null, ratio: null, target: 'flat', pass: 'error', note: (k.error ?? 'too few samples').slice(0, 120) });
    return;
  }
  addRow({ scenario: 'watch RSS over passes', n: k.n, wallMs: k.seconds * 1000, cpuMs: null, rssKb: k.maxKb, floor: null, floorMs: null, ratio: null,
    target: 'flat', pass: k.flat && !k.error,
    note: `${k.passes} passes: RSS ${fmtMb(k.earlyKb)} MB (passes 10–20%) → ${fmtMb(k.lateKb)} MB (last 10%), ${k.slopeMbPer1000} MB/1000 passes` });
}

function nextMessage(child, type, timeoutMs, pred = () => true) {
  return new Promise((resolve) => {
    const on = (m) => { if (m?.type === type && pred(m)) { clearTimeout(t); child.off('message', on); resolve(m); } };
    const t = setTimeout(() => { child.off('message', on); resolve(null); }, timeoutMs);
    child.on('message', on);
  });
}

/**
 * RSS flatness within one idle window (quiet, or under writer load – judged separately, since
 * the working set legitimately steps up when the load starts): compare the median of the first
 * 20% of samples with the median of the last 20%; flat if growth ≤ max(4 MiB, 5%).
 * Also a least-squares slope in MiB/min.
 */
function summarizeRss(s) {
  if (s.length < 3) return { samples: s.length, flat: null };
  const k = Math.max(1, Math.floor(s.length / 5));
  const first = median(s.slice(0, k).map((x) => x.kb)); const last = median(s.slice(-k).map((x) => x.kb));
  const n = s.length; const mx = s.reduce((a, x) => a + x.t, 0) / n; const my = s.reduce((a, x) => a + x.kb, 0) / n;
  const slope = s.reduce((a, x) => a + (x.t - mx) * (x.kb - my), 0) / (s.reduce((a, x) => a + (x.t - mx) ** 2, 0) || 1);
  const growthKb = last - first;
  return { samples: n, firstKb: first, lastKb: last, maxKb: Math.max(...s.map((x) => x.kb)), growthKb, slopeMbPerMin: round((slope * 60) / 1024, 2),
    flat: growthKb <= Math.max(4096, first * 0.05) };
}

// ---------------------------------------------------------------------------------------------
// report

function renderTable(headers, rows, { markdown = false } = {}) {
  if (markdown) { // a literal | inside a cell would split it
    const esc = (c) => String(c).replace(/\|/g, '\\|');
    headers = headers.map(esc); rows = rows.map((r) => r.map(esc));
  }
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  return [line(headers), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function buildTables(opts = {}) {
  const main = results.rows.map((r) => [r.scenario, r.n, fmtMs(r.wallMs), r.cpuMs == null ? '-' : Math.round(r.cpuMs), fmtMb(r.rssKb),
    r.floor ?? '-', fmtMs(r.floorMs), typeof r.ratio === 'string' ? r.ratio : fmtRatio(r.ratio), r.target, passText(r.pass), r.note ?? '']);
  const t1 = renderTable(['scenario', 'N', 'wall ms (median)', 'CPU ms', 'peak RSS MB', 'floor', 'floor ms', 'ratio', 'target', 'result', 'note'], main, opts);
  const sc = results.syscalls.map((s) => [s.scenario, s.n, s.totalSyscalls ?? '-', s.perProfile ?? '-', s.slotMutations, s.slotMutationsPerSlot, s.slotsTouched,
    s.scandirTopMutations, s.hermesHomeMutations, s.mkfifoExecs, s.fifoCreates, `${s.svscanctlExecs} / ${s.controlWrites}`, s.target, passText(s.pass)]);
  const t2 = sc.length ? renderTable(['scenario (strace -f)', 'N', 'syscalls', 'per profile', 'slot writes', 'per slot/change', 'slots touched',
    'other scandir writes', 'HERMES_HOME writes', 'mkfifo execs', 'FIFOs', 'svscanctl execs / ctl writes', 'target', 'result'], sc, opts) : '';
  const t3 = results.targets.length ? renderTable(['target', 'measured', 'wanted', 'result'], results.targets.map((t) => [t.name, t.value, t.target, passText(t.pass)]), opts) : '';
  return { t1, t2, t3 };
}

function deriveTargets() {
  // peak RSS at the largest N
  const big = Math.max(...SIZES);
  const toolRows = results.rows.filter((x) => !x.scenario.startsWith('floor') && !x.scenario.startsWith('watch'));
  for (const r of toolRows.filter((x) => x.n === 10000 && x.rssKb != null)) {
    addTarget(`${r.scenario} N=10000: peak RSS`, `${fmtMb(r.rssKb)} MB`, '≤ 150 MB', r.rssKb <= 150 * 1024);
  }
  if (big < 10000) results.notes.push('peak-RSS target (N=10000) not evaluated: N=10000 not in BENCH_SIZES');
  // linear cost: exponent of (wall − node -e 0) between successive sizes ≥ 100
  const start = results.floors.startup?.wallMs ?? 0;
  const byScenario = new Map();
  for (const r of toolRows) if (r.n >= 100) { if (!byScenario.has(r.scenario)) byScenario.set(r.scenario, []); byScenario.get(r.scenario).push(r); }
  for (const [sc, rs] of byScenario) {
    rs.sort((a, b) => a.n - b.n);
    for (let i = 1; i < rs.length; i++) {
      const a = rs[i - 1]; const b = rs[i];
      const ta = Math.max(1, a.wallMs - start); const tb = Math.max(1, b.wallMs - start);
      const k = Math.log(tb / ta) / Math.log(b.n / a.n);
      addTarget(`${sc}: cost exponent N=${a.n}→${b.n} (wall − node -e 0)`, k.toFixed(2), '≤ 1.15 (1 = linear)', k <= 1.15);
    }
  }
  // (zero slot writes and ≤ 1 mkfifo / s6-svscanctl per pass are judged in the syscall table)
}

function watchRows() {
  const w = results.watch;
  if (!w || w.unavailable) return;
  const L = (name, l) => {
    if (!l) return;
    addRow({ scenario: `watch change→converged p95 (${name})`, n: w.n, wallMs: l.p95, cpuMs: null, rssKb: null, floor: null, floorMs: null, ratio: null,
      target: '≤ 500 ms', pass: l.p95 != null && l.timeouts === 0 ? l.p95 <= 500 : false, note: `p50=${l.p50} ms, max=${l.max} ms, ${l.count} changes, ${l.timeouts} timeouts` });
  };
  const I = (name, x, limit) => {
    if (!x) return;
    addRow({ scenario: `watch idle CPU (${name})`, n: w.n, wallMs: x.seconds * 1000, cpuMs: x.cpuMs, rssKb: x.rssEndKb, floor: null, floorMs: null,
      ratio: `${x.pctOfCore}% core`, target: `≤ ${limit}% of a core`, pass: x.pctOfCore <= limit, note: `RSS ${fmtMb(x.rssStartKb)}→${fmtMb(x.rssEndKb)} MB` });
  };
  L('quiet', w.latencyQuiet); I('quiet', w.idleQuiet, 1);
  L('writer', w.latencyWriter); I('writer', w.idleWriter, 5);
  if (w.rss?.flat != null) {
    const d = (x) => (x.flat == null ? 'n/a' : `${fmtMb(x.firstKb)}→${fmtMb(x.lastKb)} MB (${x.slopeMbPerMin} MB/min)`);
    addRow({ scenario: 'watch RSS over time', n: w.n, wallMs: null, cpuMs: null, rssKb: w.rss.maxKb, floor: null, floorMs: null, ratio: null,
      target: 'flat', pass: w.rss.flat, note: `quiet ${d(w.rss.quiet)}; writer ${d(w.rss.writer)}` });
  }
  if (w.error) addRow({ scenario: 'watch', n: w.n, wallMs: null, cpuMs: null, rssKb: null, floor: null, floorMs: null, ratio: null, target: '-', pass: 'error', note: w.error.slice(0, 120) });
}

function machineLine() {
  const m = results.machine;
  return `${m.cpus} × ${m.cpuModel}, ${(m.totalMemMB / 1024).toFixed(1)} GiB RAM, ${m.kernel}, Node ${m.node}; scratch: ${results.scratch?.note}`;
}

function updateReadme(text) {
  const file = path.join(BENCH_DIR, 'README.md');
  if (!fs.existsSync(file)) return;
  const begin = '<!-- BENCH:LATEST:BEGIN -->'; const end = '<!-- BENCH:LATEST:END -->';
  const src = fs.readFileSync(file, 'utf8');
  const a = src.indexOf(begin); const b = src.indexOf(end);
  if (a < 0 || b < a) { log('README has no BENCH:LATEST markers; not updated'); return; }
  fs.writeFileSync(file, `${src.slice(0, a + begin.length)}\n${text}\n${src.slice(b)}`);
  log('bench/README.md: latest results updated');
}

// ---------------------------------------------------------------------------------------------
// main

async function main() {
  const t0 = Date.now();
  results.scratch = setupScratch();
  if (!results.scratch.tmpfs) note(`scratch is not tmpfs: ${results.scratch.note}`);
  log(`scratch: ${results.scratch.note}`);
  if (!hasGnuTime) note('GNU time not found: CPU from /proc/$$/stat of a wrapper shell, peak RSS not measured');
  if (!STRACE) note(hasStrace ? 'strace passes disabled (BENCH_STRACE=0)' : 'strace not found: syscall counts skipped');
  if (results.machine.loadavgAtStart[0] >= 0.5) {
    note(`machine not idle at start (load average ${results.machine.loadavgAtStart.join(' ')}): expect noisy wall times`);
  }
  const root = workRoot;
  const cfg = path.join(root, 'bench-config.json');
  fs.writeFileSync(cfg, JSON.stringify(BENCH_CONFIG, null, 2) + '\n');

  const buildAtStart = buildFingerprint();
  results.cliBuild = { atStart: buildAtStart };
  const cli = { boot: probe('boot'), sync: probe('sync'), watch: probe('watch') };
  results.cli = cli;
  for (const [k, v] of Object.entries(cli)) if (!v.available) note(`${k}: not available (${v.why}) – skipped`);

  const s = startupFloor();
  log('floor: node -e 0');
  const sm = await measure({ cmd: s.cmd, args: s.args, runs: Math.max(RUNS, 10), warmup: 2, cwd: root, env: childEnv(), scratchDir: root });
  const startup = { name: s.name, cmd: s.cmd, args: s.args, wallMs: sm.wallMs, cpuMs: sm.cpuMs, maxRssKb: sm.maxRssKb, samples: sm.samples };
  results.floors.startup = startup;
  addRow({ scenario: 'floor: node -e 0', n: '-', wallMs: round(startup.wallMs, 2), cpuMs: startup.cpuMs, rssKb: startup.maxRssKb, floor: null, floorMs: null, ratio: null, target: '-', pass: null, note: '' });

  const ctx = { root, cfg, cli, startup };
  for (const n of SIZES) {
    await benchSize(n, ctx);
    const f = results.floors[n];
    addRow({ scenario: `floor: ${f.cold.name}`, n, wallMs: round(f.cold.wallMs, 2), cpuMs: f.cold.cpuMs, rssKb: f.cold.maxRssKb, floor: null, floorMs: null, ratio: null, target: '-', pass: null, note: `from ${f.cold.source}` });
    addRow({ scenario: `floor: ${f.read.name}`, n, wallMs: round(f.read.wallMs, 2), cpuMs: f.read.cpuMs, rssKb: f.read.maxRssKb, floor: null, floorMs: null, ratio: null, target: '-', pass: null, note: `over ${f.read.over}` });
  }
  // keep rows grouped: scenario order within each N
  if (SCENARIOS.has('watch')) {
    if (cli.watch.available && cli.boot.available) await benchWatch(ctx);
    else { console.log('watch: not available'); results.watch = { unavailable: true, why: cli.watch.why ?? cli.boot.why }; }
  }
  if (SCENARIOS.has('soak') && cli.watch.available && cli.boot.available) await benchSoak(ctx);
  results.cliBuild.atEnd = buildFingerprint();
  if (results.cliBuild.atEnd.hash !== buildAtStart.hash) note('the CLI build changed during this run (dist was rebuilt): rows may mix two builds – run again');
  watchRows();
  soakRows();
  deriveTargets();
  results.finishedAt = new Date().toISOString();
  results.machine.loadavgAtEnd = os.loadavg().map((x) => round(x, 2));
  results.elapsedSeconds = round((Date.now() - t0) / 1000, 1);

  const { t1, t2, t3 } = buildTables();
  const header = `reconcile-gateways bench — ${results.startedAt} (${results.mode}, ${RUNS} runs + ${WARMUP} warm-up, median)\nmachine: ${machineLine()}`;
  console.log(`\n${header}\n\n${t1}\n`);
  if (t2) console.log(`${t2}\n`);
  if (t3) console.log(`${t3}\n`);
  if (results.notes.length) console.log(`notes:\n${results.notes.map((x) => `  - ${x}`).join('\n')}\n`);

  const resDir = path.join(BENCH_DIR, 'results');
  fs.mkdirSync(resDir, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const json = JSON.stringify(results, null, 1) + '\n';
  for (const name of [`${stamp}.json`, 'latest.json']) {
    const tmp = path.join(resDir, `${name}.tmp`);
    fs.writeFileSync(tmp, json);
    fs.renameSync(tmp, path.join(resDir, name));
  }
  console.log(`results: bench/results/${stamp}.json (also latest.json); ${results.elapsedSeconds}s`);

  if (UPDATE_README) {
    const { t1, t2, t3 } = buildTables({ markdown: true });
    const md = [`Run ${results.startedAt} (${results.mode}; ${RUNS} runs + ${WARMUP} warm-up, medians; ${results.elapsedSeconds} s).`, '',
      `Machine: ${machineLine()}.`, '', t1, '', t2, '', t3, '',
      ...(results.notes.length ? ['Notes:', '', ...results.notes.map((x) => `- ${x}`), ''] : [])].join('\n');
    updateReadme(md);
  }
  const failed = results.rows.some((r) => r.pass === false || r.pass === 'error') || results.syscalls.some((s) => s.pass === false) || results.targets.some((t) => t.pass === false);
  if (env.BENCH_STRICT === '1' && failed) process.exitCode = 1;
}

await main().finally(() => { cleanupSync(); });
