/**
 * sweep: deletes a profile's stale runtime files (`gateway.pid`, `processes.json`), which belong
 * to the previous container's PID namespace (S06, S33). Never through a symlink: the entry itself
 * is unlinked. cleanup: deletes an upstream staging leftover in the scandir.
 */
import type { CleanupOp, OperationResult, SweepOp } from '../model.js';
import { type Dir, type RemovalBudget, closeDir, describeErrno, openDirAt, removeTreeAt, unlinkAt } from '../safe-fs/index.js';

/** Applies one sweep inside HERMES_HOME; every file is tried, and every failure is reported. */
export function applySweep(home: Dir, op: SweepOp): OperationResult {
  const opened: Dir[] = [];
  try {
    let dir = home;
    for (const part of op.dir === '' ? [] : op.dir.split('/')) {
      dir = openDirAt(dir, part);
      opened.push(dir);
    }
    const errors: string[] = [];
    for (const name of op.files) {
      try {
        unlinkAt(dir, name);
      } catch (err) {
        errors.push(`${name}: ${describeErrno(err)}`);
      }
    }
    return errors.length === 0 ? { op, status: 'applied' } : { op, status: 'failed', error: errors.join('; ') };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  } finally {
    for (const d of opened.reverse()) closeDir(d);
  }
}

/**
 * Applies one cleanup inside the scandir, within the per-pass removal budget: a leftover the
 * hermes user made huge is deleted over several passes, never at the cost of one (issue 16 #6).
 */
export function applyCleanup(scandir: Dir, op: CleanupOp, budget: RemovalBudget): OperationResult {
  try {
    if (removeTreeAt(scandir, op.entry, budget)) return { op, status: 'applied' };
    return { op, status: 'failed', error: `${op.entry} is too large to delete in one pass; the next boot continues` };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  }
}
