/**
 * remove: takes owned slots of deleted profiles out of supervision without disturbing any other
 * service. s6-facts §3.5: `s6-svc -x` alone is undone by s6-svscan; the directory must leave the
 * scandir, then `s6-svscanctl -an` stops the supervisors whose directory vanished.
 */
import fs from 'node:fs';
import type { OperationResult, RemoveOp } from '../model.js';
import { type Dir, closeDir, hasFifoReader, describeErrno, listDir, mkdirAt, openDirAt, openDirIfExists, removeTreeAt, renameAt } from '../safe-fs/index.js';
import { svscanReap } from './control.js';

/** Where removed slots wait for their supervisors to exit before deletion. */
export const TRASH_DIR = '.reconcile-gateways.trash';

/** Options of applyRemoves. */
export interface RemoveOptions {
  readonly live: boolean;
  /** Upper bound on waiting for supervisors to exit (a liveness guard, not a timing). */
  readonly timeoutMs: number;
  readonly sleep: (ms: number) => void;
  /** Fault-injection seam (see ApplyContext): called before each slot is moved out. */
  readonly beforeOperation?: (op: RemoveOp) => void;
}

/** Applies every remove of a plan: move out, one `-an`, wait for the supervisors, delete. */
export function applyRemoves(scandir: Dir, ops: readonly RemoveOp[], options: RemoveOptions): OperationResult[] {
  if (ops.length === 0) return [];
  let trash: Dir;
  try {
    trash = openTrash(scandir);
  } catch (err) {
    return ops.map((op) => ({ op, status: 'failed', error: describeErrno(err) }));
  }
  try {
    const moved: RemoveOp[] = [];
    const results = new Map<RemoveOp, OperationResult>();
    for (const op of ops) {
      try {
        options.beforeOperation?.(op);
        removeTreeAt(trash, op.service);
        renameAt(scandir, op.service, trash, op.service);
        moved.push(op);
      } catch (err) {
        results.set(op, { op, status: 'failed', error: describeErrno(err) });
      }
    }
    if (options.live && moved.length > 0) {
      try {
        svscanReap(scandir);
      } catch (err) {
        for (const op of moved) results.set(op, { op, status: 'failed', error: describeErrno(err) });
      }
    }
    for (const op of moved) {
      if (results.has(op)) continue;
      results.set(op, finishRemove(trash, op, options));
    }
    return ops.map((op) => results.get(op) ?? { op, status: 'failed', error: 'not processed' });
  } finally {
    closeDir(trash);
  }
}

/**
 * Our trash, private (0700, ours). One planted under its name by whoever can write the scandir
 * would let them reach into removed slots and stall the removal: it is cleared and recreated.
 */
function openTrash(scandir: Dir): Dir {
  const existing = openDirIfExists(scandir, TRASH_DIR);
  if (existing !== undefined) {
    const st = fs.fstatSync(existing.fd);
    if (st.uid === process.geteuid?.() && (st.mode & 0o7777) === 0o700) return existing;
    closeDir(existing);
    removeTreeAt(scandir, TRASH_DIR);
  }
  return mkdirAt(scandir, TRASH_DIR, 0o700);
}

function finishRemove(trash: Dir, op: RemoveOp, options: RemoveOptions): OperationResult {
  try {
    const deadline = Date.now() + options.timeoutMs;
    while (isSupervised(trash, op.service)) {
      if (Date.now() > deadline) {
        return { op, status: 'failed', error: `supervisor of ${op.service} still running after ${options.timeoutMs} ms; left in ${TRASH_DIR}` };
      }
      options.sleep(50);
    }
    removeTreeAt(trash, op.service);
    return { op, status: 'applied' };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  }
}

/** Whether the slot's or its logger's supervisor still listens. */
function isSupervised(trash: Dir, service: string): boolean {
  const slot = openDirAt(trash, service);
  let log: Dir | undefined;
  try {
    log = openDirIfExists(slot, 'log');
    return hasListener(slot) || (log !== undefined && hasListener(log));
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}

function hasListener(service: Dir): boolean {
  const supervise = openDirIfExists(service, 'supervise');
  try {
    return supervise !== undefined && hasFifoReader(supervise, 'control');
  } finally {
    closeDir(supervise);
  }
}

/** Deletes trash left by an interrupted remove whose supervisors are gone. */
export function emptyTrash(scandir: Dir): void {
  const trash = openDirIfExists(scandir, TRASH_DIR);
  if (trash === undefined) return;
  try {
    for (const entry of listDir(trash)) {
      if (!entry.isDirectory() || !isSupervised(trash, entry.name)) removeTreeAt(trash, entry.name);
    }
  } finally {
    closeDir(trash);
  }
}
