// Scandir snapshots: what a "converged" run may not change (bench/README.md "Scenarios").

import fs from 'node:fs';
import path from 'node:path';

/**
 * Is a scandir-relative path part of a slot? Yes for anything inside a top-level directory other
 * than .s6-svscan (slots, and staging dirs that become slots), and for a top-level entry named
 * gateway-* itself (mkdir/rename of a slot). No for the scandir itself and for top-level files
 * such as a lock file.
 */
export function isSlotPath(rel: string): boolean {
  if (!rel || rel === '.') return false;
  const i = rel.indexOf('/');
  const first = i < 0 ? rel : rel.slice(0, i);
  if (first === '.s6-svscan') return false;
  return i >= 0 || /^\.?gateway-/.test(first);
}

// ---------------------------------------------------------------------------------------------
// scandir snapshots

/**
 * Snapshot a tree: Map relPath -> { ino, mtimeNs, ctimeNs, size, mode }. lstat, no symlink
 * following. ctime is included: a chmod/chown to the same value still counts as a write.
 */
/** One lstat of a snapshot. */
export interface SnapEntry {
  readonly ino: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly size: bigint;
  readonly mode: bigint;
}

export function snapshotTree(root: string): Map<string, SnapEntry> {
  const snap = new Map<string, SnapEntry>();
  const walk = (rel: string): void => {
    const abs = rel ? path.join(root, rel) : root;
    const st = fs.lstatSync(abs, { bigint: true });
    snap.set(rel || '.', { ino: st.ino, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, size: st.size, mode: st.mode });
    if (st.isDirectory()) for (const e of fs.readdirSync(abs)) walk(rel ? `${rel}/${e}` : e);
  };
  walk('');
  return snap;
}

/**
 * Compare two snapshots. Returns { added, removed, changed, inSlots, outsideSlots, examples }.
 * "In a slot" as defined by isSlotPath(); the scandir directory itself ('.') and top-level files
 * (e.g. a lock file) count as outside slots.
 */
/** What changed between two snapshots. */
export interface SnapshotDiff {
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly inSlots: number;
  readonly outsideSlots: number;
  readonly examples: string[];
}

export function diffSnapshots(a: ReadonlyMap<string, SnapEntry>, b: ReadonlyMap<string, SnapEntry>): SnapshotDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [k, v] of b) {
    const o = a.get(k);
    if (!o) added.push(k);
    else if (o.ino !== v.ino || o.mtimeNs !== v.mtimeNs || o.ctimeNs !== v.ctimeNs || o.size !== v.size || o.mode !== v.mode)
      changed.push(k);
  }
  for (const k of a.keys()) if (!b.has(k)) removed.push(k);
  const all = [...added.map((k) => `+ ${k}`), ...removed.map((k) => `- ${k}`), ...changed.map((k) => `~ ${k}`)];
  const isSlot = isSlotPath;
  const inSlots = [...added, ...removed, ...changed].filter(isSlot).length;
  return {
    added: added.length,
    removed: removed.length,
    changed: changed.length,
    inSlots,
    outsideSlots: added.length + removed.length + changed.length - inSlots,
    examples: all.slice(0, 12),
  };
}
