/**
 * Reads our trash (`<scandir>/.reconcile-gateways/trash/`, src/state-dir.ts): the slots earlier
 * passes moved out of the scandir and did not finish deleting, and whether a supervisor still
 * listens on each. A trash we do not own (or none) reads as empty: nothing in it is ours.
 */
import type { TrashEntry } from '../model.js';
import { type Dir, closeDir, listDir, openDirIfExists } from '../safe-fs.js';
import { TRASH_DIR, openPrivateIfExists, openStateDir } from '../state-dir.js';
import { hasFifoReader } from './s6-status.js';

/** The trash's entries, sorted; with `only`, just those services. */
export function observeTrash(scandir: Dir, prefix: string, only?: ReadonlySet<string>): TrashEntry[] {
  const state = openStateDir(scandir, false);
  const trash = state === undefined ? undefined : openPrivateIfExists(state, TRASH_DIR);
  closeDir(state);
  if (trash === undefined) return [];
  try {
    return listDir(trash)
      .filter((e) => only === undefined || only.has(e.name))
      .map((e) => ({
        service: e.name,
        profile: e.name.startsWith(prefix) ? e.name.slice(prefix.length) : e.name,
        supervised: e.isDirectory() && isSupervised(trash, e.name),
      }))
      .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  } finally {
    closeDir(trash);
  }
}

/** Whether the slot's or its logger's supervisor still listens (a control FIFO has a reader). */
export function isSupervised(parent: Dir, service: string): boolean {
  let slot: Dir | undefined;
  let log: Dir | undefined;
  try {
    slot = openDirIfExists(parent, service);
    if (slot === undefined) return false;
    log = openDirIfExists(slot, 'log');
    return hasListener(slot) || (log !== undefined && hasListener(log));
  } catch {
    return false;
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
