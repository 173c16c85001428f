/**
 * restart, and its journal: restarts are persisted before they are done and cleared after, so a
 * crash in between loses none (the next pass's diff honours the entries it can confirm). The
 * journal lives in the scandir's private state directory (src/journal.ts).
 */
import type { OperationResult, RestartOp } from '../model.js';
import { type Dir, closeDir, describeErrno, unlinkAt, writeFileAt } from '../safe-fs/index.js';
import { svc } from './control.js';
import { openObservedSlot } from './observed-slot.js';
import { restartJournal } from '../journal.js';

/** Writes the journal atomically (schemas/restarts.schema.json). */
export function persistRestarts(scandir: Dir, services: readonly string[]): void {
  const doc = { formatVersion: '1', services: [...new Set(services)].sort() };
  const journal = restartJournal(scandir, true);
  if (journal === undefined) throw new Error('no state directory for the restart journal');
  try {
    writeFileAt(journal.dir, journal.name, `${JSON.stringify(doc)}\n`, { mode: 0o600, fsync: true });
  } finally {
    closeDir(journal.dir);
  }
}

/** Removes the journal once every restart in it was done. */
export function clearRestarts(scandir: Dir): void {
  const journal = restartJournal(scandir, false);
  if (journal === undefined) return;
  try {
    unlinkAt(journal.dir, journal.name);
  } finally {
    closeDir(journal.dir);
  }
}

/**
 * Restarts one service (`s6-svc -r`): it runs the slot's current `run` from now on. Only the
 * directory observe saw is signalled (issue 16 #10): one swapped in by name since is left alone.
 */
export function applyRestart(scandir: Dir, op: RestartOp): OperationResult {
  let slot: Dir | undefined;
  try {
    slot = openObservedSlot(scandir, op.service, op.expect);
    svc(slot, 'r');
    return { op, status: 'applied' };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  } finally {
    closeDir(slot);
  }
}
