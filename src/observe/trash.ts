/**
 * Reads our trash (`<scandir>/.reconcile-gateways/trash/`, src/state-dir/): the slots earlier
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
import { nameShown } from '../model/text.js';
import { readLiveStatus } from './s6-status.js';
import { TRASH_DIR, openForeignTrash, openPrivateIfExists, openStateDir, runningRemovals } from '../state-dir/index.js';

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

/**
 * Most symlinks of the scandir followed (for what they lead to) in one look, and the most time
 * spent following them: its writers may make millions, or chains of links each costing
 * milliseconds. Past either, a pending purge says some were not looked at.
 */
export const SCANDIR_LINKS_MAX = 10_000;
const SCANDIR_LINKS_BUDGET_MS = 1000;

const DOT = 0x2e;

interface LinkTargets {
  /** Scandir symlinks by what they lead to (`dev:ino`); the first name of each. */
  readonly byTarget: Map<string, string>;
  /** More than SCANDIR_LINKS_MAX: the rest were not followed. */
  unchecked: boolean;
}

/**
 * The scandir's symlinks by what they lead to (as s6-svscan tells services apart, by device and
 * inode), the first {@link SCANDIR_LINKS_MAX} of them: each is followed with stat(2), for its
 * metadata only (nothing is opened or read through it). A dangling one, a loop or one this user
 * may not follow leads nowhere. Never throws.
 */
function linkTargets(scandir: Dir): LinkTargets {
  const links: LinkTargets = { byTarget: new Map(), unchecked: false };
  let seen = 0;
  const until = performance.now() + SCANDIR_LINKS_BUDGET_MS;
  try {
    forEachDirEntryRaw(scandir, (entry) => {
      // s6-svscan skips dot names, as it does every entry that is no directory when followed.
      if (!entry.isSymlink || entry.name[0] === DOT) return;
      if (links.unchecked || ++seen > SCANDIR_LINKS_MAX || performance.now() > until) {
        links.unchecked = true;
        return;
      }
      try {
        const st = fs.statSync(rawPathAt(scandir, entry.name), { throwIfNoEntry: false });
        const key = st?.isDirectory() === true ? `${st.dev}:${st.ino}` : undefined;
        if (key !== undefined && !links.byTarget.has(key)) links.byTarget.set(key, nameShown(entry.name));
      } catch {
        // Leads nowhere s6-svscan could supervise either (a loop, no access).
      }
    });
  } catch {
    // An unreadable scandir: nothing to add to what observe says of it.
  }
  return links;
}

/** What a trashed slot's scandir symlinks say of it (TrashEntry.linkedFrom, linksUnchecked). */
function linksTo(trash: Dir, service: string, links: LinkTargets): Pick<TrashEntry, 'linkedFrom' | 'linksUnchecked'> {
  const st = lstatAt(trash, service);
  const from = st === undefined ? undefined : links.byTarget.get(`${st.dev}:${st.ino}`);
  if (from !== undefined) return { linkedFrom: from };
  return links.unchecked ? { linksUnchecked: true } : {};
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
    let links: LinkTargets | undefined; // read once, when a supervisor still runs
    return entries
      .filter((e) => only === undefined || only.has(e.name))
      .map((e) => {
        const { supervised, denied, heldOpen } = e.dir ? supervisorsOf(trash, e.name, table) : NO_SUPERVISORS;
        const linked = supervised ? linksTo(trash, e.name, (links ??= linkTargets(scandir))) : {};
        const entry: TrashEntry = {
          service: e.name,
          profile: e.name.startsWith(prefix) ? e.name.slice(prefix.length) : e.name,
          supervised,
          stopping: supervised && isStopping(trash, e.name),
          ...(heldOpen && !supervised ? { heldOpen } : {}),
          ...linked,
        };
        return denied ? { ...entry, controlDenied: true as const } : entry;
      })
      .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  } finally {
    closeDir(trash);
  }
}
