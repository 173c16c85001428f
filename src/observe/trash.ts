/**
 * Reads our trash (`<scandir>/.reconcile-gateways/trash/`, src/state-dir.ts): the slots earlier
 * passes moved out of the scandir and did not finish deleting, and whether a supervisor still
 * listens on each. A trash we do not own reads as empty: nothing in it is ours. Only when the
 * whole state directory is foreign (a pass run as another user made it), its trash's slots whose
 * supervisors still run are read too: the pass that replaces that directory takes them over.
 */
import type { TrashEntry } from '../model.js';
import { type Dir, closeDir, dirKey, listDir, openDirAt, processTable, supervisorsOf } from '../safe-fs/index.js';
import { readLiveStatus } from './s6-status.js';
import { TRASH_DIR, openForeignTrash, openPrivateIfExists, openStateDir, runningRemovals } from '../state-dir.js';

const NO_SUPERVISORS = { supervised: false, denied: false, heldOpen: false } as const;

/** Whether the trashed slot's gateway is up while s6 wants it down (TrashEntry.stopping); never throws. */
function isStopping(trash: Dir, service: string): boolean {
  let slot: Dir | undefined;
  try {
    slot = openDirAt(trash, service);
    const live = readLiveStatus(slot);
    return typeof live === 'object' && live.supervised && live.up && !live.wantedUp;
  } catch {
    return false;
  } finally {
    closeDir(slot);
  }
}

/** The trash's entries, sorted; with `only`, just those services. */
export function observeTrash(scandir: Dir, prefix: string, only?: ReadonlySet<string>): TrashEntry[] {
  const state = openStateDir(scandir, false);
  const trash = state === undefined ? openForeignTrash(scandir) : openPrivateIfExists(state, TRASH_DIR);
  closeDir(state);
  if (trash === undefined) return [];
  try {
    const listed = state === undefined ? undefined : listDir(trash).map((e) => ({ name: e.name, dir: e.isDirectory() }));
    if (listed?.length === 0) return []; // the usual case
    const table = processTable(dirKey(scandir)); // read when first asked
    const entries = listed ?? runningRemovals(trash, table).map((name) => ({ name, dir: true }));
    return entries
      .filter((e) => only === undefined || only.has(e.name))
      .map((e) => {
        const { supervised, denied, heldOpen } = e.dir ? supervisorsOf(trash, e.name, table) : NO_SUPERVISORS;
        const entry: TrashEntry = {
          service: e.name,
          profile: e.name.startsWith(prefix) ? e.name.slice(prefix.length) : e.name,
          supervised,
          stopping: supervised && isStopping(trash, e.name),
          ...(heldOpen && !supervised ? { heldOpen } : {}),
        };
        return denied ? { ...entry, controlDenied: true as const } : entry;
      })
      .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  } finally {
    closeDir(trash);
  }
}
