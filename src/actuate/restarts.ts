/**
 * restart, and its journal: restarts are persisted before they are done and cleared after, so a
 * crash in between loses none (the next pass's diff honours the entries it can confirm).
 */
import type { OperationResult, RestartOp } from '../model.js';
import { type Dir, closeDir, describeErrno, openDirAt, unlinkAt, writeFileAt } from '../safe-fs/index.js';
import { svc } from './control.js';
import { restartJournal } from '../journal.js';

/** Writes the journal atomically (schemas/restarts.schema.json). */
export function persistRestarts(scandir: Dir, services: readonly string[]): void {
  const doc = { formatVersion: '1', services: [...new Set(services)].sort() };
  const { dir, name } = restartJournal(scandir);
  writeFileAt(dir, name, `${JSON.stringify(doc)}\n`, { mode: 0o644, fsync: true });
}

/** Removes the journal once every restart in it was done. */
export function clearRestarts(scandir: Dir): void {
  const { dir, name } = restartJournal(scandir);
  unlinkAt(dir, name);
}

/** Restarts one service (`s6-svc -r`): it runs the slot's current `run` from now on. */
export function applyRestart(scandir: Dir, op: RestartOp): OperationResult {
  let slot: Dir | undefined;
  try {
    slot = openDirAt(scandir, op.service);
    svc(slot, 'r');
    return { op, status: 'applied' };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  } finally {
    closeDir(slot);
  }
}
