/**
 * Reads our trash (`<scandir>/.reconcile-gateways/trash/`, src/state-dir.ts): the slots earlier
 * passes moved out of the scandir and did not finish deleting, and whether a supervisor still
 * listens on each. A trash we do not own reads as empty: nothing in it is ours. Only when the
 * whole state directory is foreign (a pass run as another user made it), its trash's slots whose
 * supervisors still run are read too: the pass that replaces that directory takes them over.
 */
import type { TrashEntry } from '../model.js';
import fs from 'node:fs';
import {
  type Dir,
  closeDir,
  dirKey,
  forEachDirEntryRaw,
  listDir,
  lstatAt,
  openDirAt,
  processTable,
  rawPathAt,
  supervisorsOf,
} from '../safe-fs/index.js';
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

/** Most symlinks of the scandir followed (for what they lead to) in one pass: hermes may make millions. */
const SCANDIR_LINKS_MAX = 1000;

/**
 * The scandir's symlinks by what they lead to (`dev:ino`, as s6-svscan tells services apart), the
 * first {@link SCANDIR_LINKS_MAX} of them: each is followed with stat(2), for its metadata only
 * (nothing is opened or read through it). A dangling one, a loop or one this user may not follow
 * leads nowhere. Never throws.
 */
function linkTargets(scandir: Dir): Map<string, string> {
  const targets = new Map<string, string>();
  let links = 0;
  try {
    forEachDirEntryRaw(scandir, (entry) => {
      if (!entry.isSymlink || ++links > SCANDIR_LINKS_MAX) return;
      try {
        const st = fs.statSync(rawPathAt(scandir, entry.name));
        const key = `${st.dev}:${st.ino}`;
        if (!targets.has(key)) targets.set(key, entry.name.toString('utf8'));
      } catch {
        // Leads nowhere s6-svscan could supervise either.
      }
    });
  } catch {
    // An unreadable scandir: nothing to add to what observe says of it.
  }
  return targets;
}

/** The scandir symlink that leads to a trashed slot (TrashEntry.linkedFrom), if any. */
function linkTo(trash: Dir, service: string, targets: ReadonlyMap<string, string>): string | undefined {
  const st = lstatAt(trash, service);
  return st === undefined ? undefined : targets.get(`${st.dev}:${st.ino}`);
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
    let targets: Map<string, string> | undefined; // read once, when a supervisor still runs
    return entries
      .filter((e) => only === undefined || only.has(e.name))
      .map((e) => {
        const { supervised, denied, heldOpen } = e.dir ? supervisorsOf(trash, e.name, table) : NO_SUPERVISORS;
        const linkedFrom = supervised ? linkTo(trash, e.name, (targets ??= linkTargets(scandir))) : undefined;
        const entry: TrashEntry = {
          service: e.name,
          profile: e.name.startsWith(prefix) ? e.name.slice(prefix.length) : e.name,
          supervised,
          stopping: supervised && isStopping(trash, e.name),
          ...(heldOpen && !supervised ? { heldOpen } : {}),
          ...(linkedFrom === undefined ? {} : { linkedFrom }),
        };
        return denied ? { ...entry, controlDenied: true as const } : entry;
      })
      .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  } finally {
    closeDir(trash);
  }
}
