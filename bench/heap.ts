// The soaks' watcher and its live-heap checks: a heap snapshot (written by the watcher on SIGUSR2,
// after a full GC) counts what the process retains; RSS also moves with V8's lazy heap sizing.

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RUN_TIMEOUT_MS } from './config.js';
import { childEnv, cliArgs, rmrfSync, startSvscanStub } from './context.js';
import { generateHermesHome } from './generate.js';
import { runOnce, sleep, stopChild, track } from './measure.js';
import type { BenchContext } from './scenarios/size.js';

/** A `watch` over a generated, booted home under the fake s6-svscan, writing heap snapshots on SIGUSR2. */
export interface SoakWatcher {
  readonly dir: string;
  readonly home: string;
  readonly scandir: string;
  readonly statusFile: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly stub: ChildProcess;
}

/** Generates `n` profiles under `<root>/<name>`, boots them, and starts `watch` with `extra` arguments. */
export async function startSoakWatcher(
  ctx: BenchContext,
  name: string,
  n: number,
  seed: number,
  extra: readonly string[],
): Promise<SoakWatcher> {
  const dir = path.join(ctx.root, name);
  fs.mkdirSync(dir);
  const home = path.join(dir, 'home');
  const scandir = path.join(dir, 'scan');
  generateHermesHome(home, n, seed);
  fs.mkdirSync(scandir);
  const stub = startSvscanStub(scandir);
  await runOnce(process.execPath, cliArgs('boot', home, scandir, ctx.cfg), {
    cwd: dir,
    env: childEnv(home),
    scratchDir: dir,
    timeoutMs: RUN_TIMEOUT_MS,
  });
  const statusFile = path.join(dir, 'status.json');
  const logFile = path.join(dir, 'watch.log');
  const logFd = fs.openSync(logFile, 'w');
  const args = [HEAP_SNAPSHOT_FLAG, ...cliArgs('watch', home, scandir, ctx.cfg), ...extra, '--status-file', statusFile];
  const child = track(
    spawn(process.execPath, args, { cwd: dir, env: childEnv(home), detached: true, stdio: ['ignore', logFd, logFd] }),
    name,
  );
  fs.closeSync(logFd);
  return { dir, home, scandir, statusFile, logFile, child, stub };
}

/** Throws, with the end of its log, if the watcher has exited. */
export function assertRunning(w: SoakWatcher): void {
  if (w.child.exitCode !== null)
    throw new Error(`watch exited with ${w.child.exitCode}: ${fs.readFileSync(w.logFile, 'utf8').slice(-400)}`);
}

/** Stops the watcher and the stub, keeps the end of its log in `out`, removes its directory. */
export async function stopSoakWatcher(w: SoakWatcher, out: Record<string, unknown>): Promise<void> {
  await stopChild(w.child, 5000);
  await stopChild(w.stub, 1000);
  out['logTail'] = fs.existsSync(w.logFile) ? fs.readFileSync(w.logFile, 'utf8').slice(-800) : '';
  rmrfSync(w.dir);
}

/** The node flag that makes SIGUSR2 write a heap snapshot into the working directory. */
export const HEAP_SNAPSHOT_FLAG = '--heapsnapshot-signal=SIGUSR2';

/** Live bytes at a point of a soak (`cycles`: passes or churn cycles). */
export interface LiveHeap {
  readonly cycles: number;
  readonly bytes: number;
}

/** Has the watcher write a heap snapshot (SIGUSR2) and returns the live bytes in it. */
export async function heapSnapshot(child: ChildProcess, dir: string, cycles: number): Promise<LiveHeap> {
  const before = new Set(fs.readdirSync(dir));
  child.kill('SIGUSR2');
  for (let waited = 0; waited < 30_000; waited += 100) {
    await sleep(100);
    const made = fs.readdirSync(dir).find((n) => n.endsWith('.heapsnapshot') && !before.has(n));
    if (made === undefined) continue;
    const file = path.join(dir, made);
    // Written in chunks: it is complete once it parses.
    for (let tries = 0; tries < 100; tries += 1) {
      await sleep(200);
      const bytes = liveBytes(file);
      if (bytes === undefined) continue;
      fs.rmSync(file);
      return { cycles, bytes };
    }
    throw new Error(`heap snapshot ${made} never completed`);
  }
  throw new Error('the watcher wrote no heap snapshot on SIGUSR2');
}

/** Sum of every node's self size in a V8 heap snapshot, or undefined while it is incomplete. */
function liveBytes(file: string): number | undefined {
  let snap: { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
  try {
    snap = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof snap;
  } catch {
    return undefined;
  }
  const fields = snap.snapshot.meta.node_fields;
  const self = fields.indexOf('self_size');
  let total = 0;
  for (let i = self; i < snap.nodes.length; i += fields.length) total += snap.nodes[i] ?? 0;
  return total;
}

/**
 * Sets `flat` from the live heap (the verdict: what a leak would grow), keeping RSS's own verdict
 * as `rssFlat`: flat when the late snapshot holds at most max(1 MiB, 5 %) more than the early one.
 */
export function judgeLiveHeap(out: Record<string, unknown>, liveHeap: readonly LiveHeap[]): void {
  out['rssFlat'] = out['flat'];
  out['liveHeap'] = liveHeap;
  const [early, late] = liveHeap;
  out['flat'] = early !== undefined && late !== undefined ? late.bytes - early.bytes <= Math.max(1024 * 1024, early.bytes * 0.05) : null;
}
