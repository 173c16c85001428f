// Live-heap checks for the soaks: a heap snapshot (written by the watcher on SIGUSR2, after a
// full GC) counts what the process retains; RSS also moves with V8's lazy heap sizing.

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './measure.js';

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
