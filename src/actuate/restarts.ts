/**
 * The pending-restart journal: restarts decided by `--restart-changed` are persisted before they
 * are done and cleared after, so a crash in between loses none (the next pass restarts them).
 */
import type { Dir } from '../safe-fs/index.js';
import { unlinkAt, writeFileAt } from '../safe-fs/index.js';
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
