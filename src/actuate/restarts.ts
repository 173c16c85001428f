/**
 * The pending-restart journal: restarts decided by `--restart-changed` are persisted before they
 * are done and cleared after, so a crash in between loses none (the next pass restarts them). It
 * lives in the scandir's private state directory (src/state-dir.ts).
 */
import { type Dir, closeDir, unlinkAt, writeFileAt } from '../safe-fs.js';
import { journalName, openStateDir } from '../state-dir.js';

/** Writes the journal atomically (schemas/restarts.schema.json). */
export function persistRestarts(scandir: Dir, services: readonly string[]): void {
  const doc = { formatVersion: '1', services: [...new Set(services)].sort() };
  const state = openStateDir(scandir, true);
  try {
    if (state !== undefined) writeFileAt(state, journalName(), `${JSON.stringify(doc)}\n`, { mode: 0o600, fsync: true });
  } finally {
    closeDir(state);
  }
}

/** Removes the journal once every restart in it was done. */
export function clearRestarts(scandir: Dir): void {
  const state = openStateDir(scandir, false);
  try {
    if (state !== undefined) unlinkAt(state, journalName());
  } finally {
    closeDir(state);
  }
}
