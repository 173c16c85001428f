/**
 * Reads our trash (`<scandir>/.reconcile-gateways/trash/`, src/state-dir.ts): the slots earlier
 * passes moved out of the scandir and did not finish deleting, and whether a supervisor still
 * listens on each. A trash we do not own (or none) reads as empty: nothing in it is ours.
 */
import type { TrashEntry } from '../model.js';
import { type Dir, closeDir, isSupervised, listDir } from '../safe-fs/index.js';
import { TRASH_DIR, openPrivateIfExists, openStateDir } from '../state-dir.js';

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
