// Scenario 4, watch: change→converged latency, idle CPU and RSS of `watch` over WATCH_N profiles,
// quiet and under a heartbeat writer load (bench/README.md "Scenarios").

import { type ChildProcess, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  COMPILED_DIR,
  QUICK,
  RUN_TIMEOUT_MS,
  SEED,
  WATCH_CHANGES,
  WATCH_INTERVAL,
  WATCH_N,
  WATCH_SECONDS,
  WATCH_TIMEOUT_MS,
} from '../config.js';
import { childEnv, cliArgs, firstLine, NotAvailable, rmrfSync, slotCount, slotDirOf, startSvscanStub } from '../context.js';
import { type ManifestEntry, flippable, flipDesired, generateHermesHome, pickProfiles } from '../generate.js';
import { median, percentile, round, runOnce, sleep, stopChild, track } from '../measure.js';
import { rssKb, treeCpuSeconds } from '../proc.js';
import { log, note, results } from '../results.js';
import type { BenchContext } from './size.js';

/** One VmRSS sample of the watcher. */
interface RssSample {
  readonly t: number;
  readonly phase: string;
  readonly kb: number;
}

type Message = Record<string, unknown> & { type?: unknown; name?: unknown };

/** The next IPC message of `type` (matching `pred`) from `child`, or null after `timeoutMs`. */
export function nextMessage(
  child: ChildProcess,
  type: string,
  timeoutMs: number,
  pred: (m: Message) => boolean = () => true,
): Promise<Message | null> {
  return new Promise((resolve) => {
    const on = (m: Message): void => {
      if (m?.type === type && pred(m)) {
        clearTimeout(t);
        child.off('message', on);
        resolve(m);
      }
    };
    const t = setTimeout(() => {
      child.off('message', on);
      resolve(null);
    }, timeoutMs);
    child.on('message', on);
  });
}

/**
 * RSS flatness within one idle window (quiet, or under writer load – judged separately, since
 * the working set legitimately steps up when the load starts): compare the median of the first
 * 20% of samples with the median of the last 20%; flat if growth ≤ max(4 MiB, 5%).
 * Also a least-squares slope in MiB/min.
 */
export function summarizeRss(
  s: readonly RssSample[],
): Record<string, unknown> & { flat: boolean | null; firstKb?: number; lastKb?: number; slopeMbPerMin?: number } {
  if (s.length < 3) return { samples: s.length, flat: null };
  const k = Math.max(1, Math.floor(s.length / 5));
  const first = median(s.slice(0, k).map((x) => x.kb)) ?? 0;
  const last = median(s.slice(-k).map((x) => x.kb)) ?? 0;
  const n = s.length;
  const mx = s.reduce((a, x) => a + x.t, 0) / n;
  const my = s.reduce((a, x) => a + x.kb, 0) / n;
  const slope = s.reduce((a, x) => a + (x.t - mx) * (x.kb - my), 0) / (s.reduce((a, x) => a + (x.t - mx) ** 2, 0) || 1);
  const growthKb = last - first;
  return {
    samples: n,
    firstKb: first,
    lastKb: last,
    maxKb: Math.max(...s.map((x) => x.kb)),
    growthKb,
    slopeMbPerMin: round((slope * 60) / 1024, 2),
    flat: growthKb <= Math.max(4096, first * 0.05),
  };
}

/** A running watcher and what the phases need to measure it. */
class WatchRun {
  phase = 'start';
  readonly rss: RssSample[] = [];
  constructor(
    readonly pid: number,
    readonly scan: string,
  ) {}

  /** Flips each profile and times until its slot's down marker follows (5 ms poll, woken by inotify). */
  async latencies(profiles: readonly ManifestEntry[], wr: ChildProcess | null): Promise<Record<string, unknown>> {
    const lat: number[] = [];
    let timeouts = 0;
    const detail: { profile: string; to: string; ms: number | null }[] = [];
    for (const p of profiles) {
      const slot = slotDirOf(this.scan, p.name);
      const downPath = path.join(slot, 'down');
      const before = fs.existsSync(downPath);
      const want = p.desired === 'running' ? 'stopped' : 'running';
      if (wr) {
        wr.send({ type: 'set', name: p.name, desired: want });
        await nextMessage(wr, 'ack', 5000, (m) => m.name === p.name);
      }
      let wake: (() => void) | null = null;
      let watcher: fs.FSWatcher | null = null;
      try {
        watcher = fs.watch(slot, () => wake?.());
      } catch {
        /* slot missing: poll only */
      }
      flipDesired([p], Date.now());
      const t0 = performance.now();
      let t1: number | null = null;
      while (performance.now() - t0 < WATCH_TIMEOUT_MS) {
        if (fs.existsSync(downPath) !== before) {
          t1 = performance.now();
          break;
        }
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 5);
        });
        wake = null;
      }
      watcher?.close();
      if (t1 == null) timeouts++;
      else lat.push(t1 - t0);
      detail.push({ profile: p.name, to: want, ms: t1 == null ? null : round(t1 - t0, 1) });
      await sleep(200);
    }
    return {
      count: profiles.length,
      p50: round(percentile(lat, 50), 1),
      p95: round(percentile(lat, 95), 1),
      max: round(Math.max(...lat, 0), 1),
      timeouts,
      detail,
    };
  }

  /** CPU of the watcher's process tree over WATCH_SECONDS, as % of one core. */
  async idleWindow(name: string): Promise<Record<string, unknown>> {
    const c0 = treeCpuSeconds(this.pid);
    const t0 = performance.now();
    const r0 = rssKb(this.pid);
    await sleep(WATCH_SECONDS * 1000);
    const c1 = treeCpuSeconds(this.pid);
    const secs = (performance.now() - t0) / 1000;
    if (c0 == null || c1 == null) throw new Error(`watch exited during ${name}`);
    return {
      seconds: round(secs, 1),
      cpuMs: round((c1 - c0) * 1000),
      pctOfCore: round(((c1 - c0) / secs) * 100, 2),
      rssStartKb: r0,
      rssEndKb: rssKb(this.pid),
    };
  }
}

/** Whether the watcher's status file counts a pass (it is written at start too, with none). */
function firstPassRecorded(statusFile: string): boolean {
  try {
    return ((JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { passes?: number }).passes ?? 0) >= 1;
  } catch {
    return false;
  }
}

/** Waits for the status file to record a first pass (15 s at most), then until CPU is quiet (20 s at most). */
async function waitReady(
  child: ChildProcess,
  w: WatchRun,
  statusFile: string,
  logFile: string,
  out: Record<string, unknown>,
): Promise<void> {
  const t0 = performance.now();
  while (!firstPassRecorded(statusFile) && performance.now() - t0 < 15000 && child.exitCode === null) await sleep(20);
  out['statusFileAfterMs'] = firstPassRecorded(statusFile) ? round(performance.now() - t0) : null;
  if (child.exitCode !== null) {
    const text = fs.readFileSync(logFile, 'utf8');
    if (child.exitCode === 100) throw new NotAvailable(`\`watch\` exited 100: ${firstLine(text).slice(0, 120)}`);
    throw new Error(`watch exited early with ${child.exitCode}: ${text.slice(-400)}`);
  }
  w.phase = 'settle';
  const ts = performance.now();
  for (;;) {
    const c0 = treeCpuSeconds(w.pid);
    await sleep(1000);
    const c1 = treeCpuSeconds(w.pid);
    if (c0 == null || c1 == null) throw new Error('watch exited while settling');
    if (c1 - c0 <= 0.02 || performance.now() - ts > 20000) break;
  }
  out['settleMs'] = round(performance.now() - ts);
}

/** The latency and idle phases, quiet then under the writer; returns the writer to stop. */
async function phases(
  w: WatchRun,
  hh: string,
  picks: ManifestEntry[],
  out: Record<string, unknown>,
  setWriter: (c: ChildProcess) => void,
): Promise<void> {
  w.phase = 'latency-quiet';
  log(`watch: ${WATCH_CHANGES} changes, quiet`);
  out['latencyQuiet'] = await w.latencies(picks.slice(0, WATCH_CHANGES), null);
  w.phase = 'idle-quiet';
  log(`watch: idle ${WATCH_SECONDS}s, quiet`);
  out['idleQuiet'] = await w.idleWindow('idle-quiet');

  w.phase = 'writer-start';
  const writer = track(
    fork(path.join(COMPILED_DIR, 'writer.js'), [hh, '1'], { detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
    'writer',
  );
  setWriter(writer);
  const ready = await nextMessage(writer, 'ready', 20000);
  out['writer'] = { files: ready?.['files'] ?? null };
  await sleep(QUICK ? 1000 : 3000); // let the watcher see a few rounds of rewrites first
  w.phase = 'latency-writer';
  log(`watch: ${WATCH_CHANGES} changes, under writer load (${String(ready?.['files'])} files/s)`);
  const second = picks.slice(WATCH_CHANGES, WATCH_CHANGES * 2);
  out['latencyWriter'] = await w.latencies(second.length ? second : picks.slice(0, WATCH_CHANGES), writer);
  w.phase = 'idle-writer';
  log(`watch: ${WATCH_SECONDS}s under writer load`);
  out['idleWriter'] = await w.idleWindow('idle-writer');
  writer.send({ type: 'stats' });
  const st = await nextMessage(writer, 'stats', 5000);
  const writes = Number(st?.['writes']);
  const seconds = Number(st?.['seconds']);
  out['writer'] = {
    ...(out['writer'] as object),
    writes: st?.['writes'],
    seconds: round(seconds, 1),
    writesPerSecond: st ? round(writes / seconds, 1) : null,
    maxLagMs: round(Number(st?.['maxLagMs']), 1),
  };
}

/** Runs the watch scenario and records it in results.watch. */
export async function benchWatch(ctx: BenchContext): Promise<void> {
  const dir = path.join(ctx.root, 'watch');
  fs.mkdirSync(dir);
  const hh = path.join(dir, 'home');
  const scan = path.join(dir, 'scan');
  const manifest = generateHermesHome(hh, WATCH_N, SEED + 1);
  fs.mkdirSync(scan);
  const stub = startSvscanStub(scan);
  const out: Record<string, unknown> = { n: WATCH_N, interval: WATCH_INTERVAL, windowSeconds: WATCH_SECONDS };
  results.watch = out;
  const b = await runOnce(process.execPath, cliArgs('boot', hh, scan, ctx.cfg), {
    cwd: dir,
    env: childEnv(hh),
    scratchDir: dir,
    timeoutMs: RUN_TIMEOUT_MS,
  });
  out['preBoot'] = { code: b.code, wallMs: round(b.wallMs), slots: slotCount(scan) };

  const statusFile = path.join(dir, 'status.json');
  const logFile = path.join(dir, 'watch.log');
  const logFd = fs.openSync(logFile, 'w');
  const args = [...cliArgs('watch', hh, scan, ctx.cfg), '--interval', String(WATCH_INTERVAL), '--status-file', statusFile];
  log(`watch: starting with ${WATCH_N} profiles, --interval ${WATCH_INTERVAL}`);
  const tStart = performance.now();
  const child = track(
    spawn(process.execPath, args, { cwd: dir, env: childEnv(hh), detached: true, stdio: ['ignore', logFd, logFd] }),
    'watch',
  );
  fs.closeSync(logFd);
  const w = new WatchRun(child.pid ?? -1, scan);
  const sampler = setInterval(() => {
    const v = rssKb(w.pid);
    if (v != null) w.rss.push({ t: round((performance.now() - tStart) / 1000, 2), phase: w.phase, kb: v });
  }, 1000);
  let writer: ChildProcess | null = null;
  try {
    await waitReady(child, w, statusFile, logFile, out);
    const pool = flippable(manifest).filter((p) => p.desired === 'running' || p.desired === 'stopped');
    const picks = pickProfiles({ ...manifest, profiles: pool }, Math.min(pool.length, WATCH_CHANGES * 2), 999);
    await phases(w, hh, picks, out, (c) => {
      writer = c;
    });
  } catch (e) {
    recordFailure(out, e);
  } finally {
    clearInterval(sampler);
    const wr = writer as ChildProcess | null;
    if (wr) {
      try {
        wr.send({ type: 'stop' });
      } catch {
        /* gone */
      }
      await stopChild(wr, 2000);
    }
    w.phase = 'stop';
    out['exit'] = await stopChild(child, 5000);
    try {
      out['statusFile'] = fs.readFileSync(statusFile, 'utf8').slice(0, 2000);
    } catch {
      out['statusFile'] = null;
    }
    out['logTail'] = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-1500) : '';
    await stopChild(stub, 1000);
  }
  recordRss(out, w.rss);
  rmrfSync(dir);
}

function recordFailure(out: Record<string, unknown>, e: unknown): void {
  if (e instanceof NotAvailable) {
    out['unavailable'] = true;
    out['why'] = e.message;
    console.log('watch: not available');
    note(`watch: not available (${e.message}) – skipped`);
  } else {
    out['error'] = String(e instanceof Error ? e.message : e);
    note(`watch: ${String(out['error'])}`);
  }
}

function recordRss(out: Record<string, unknown>, rss: readonly RssSample[]): void {
  const quiet = summarizeRss(rss.filter((x) => x.phase === 'idle-quiet'));
  const writer = summarizeRss(rss.filter((x) => x.phase === 'idle-writer'));
  const flats = [quiet.flat, writer.flat].filter((x): x is boolean => x != null);
  out['rss'] = {
    quiet,
    writer,
    maxKb: rss.length ? Math.max(...rss.map((x) => x.kb)) : null,
    flat: flats.length ? flats.every(Boolean) : null,
  };
  out['rssSamples'] = rss;
}
