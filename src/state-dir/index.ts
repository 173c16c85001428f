/**
 * Owns the tool's private state directory in the scandir: opening it (making it, or replacing a
 * foreign one) and the warnings a pass gives about it. It never uses as ours a directory under its
 * name that is not this user's and 0700.
 *
 * The tool's own state inside the scandir: `<scandir>/.reconcile-gateways/`, a directory owned by
 * the running user (root) with mode 0700, holding the run lock, the per-run staging directories,
 * the trash and the restart journal (src/journal.ts). It must sit on the scandir's file system (a slot is published
 * and removed by rename(2)), and the hermes user, who may write the scandir, must not be able to
 * reach, rename or replace it: 0700 keeps them out of it, and a sticky scandir (`chmod +t`, done by
 * the example cont-init) keeps them from renaming it (issue 16 #8, #11). A directory under that
 * name someone else owns, or with another mode, is never used: it is renamed aside, deleted and
 * made again. A slot pending removal in its trash whose supervisor still runs (a pass run as
 * another user left it) is taken over first: it moves into the new trash, whose purge stops it.
 *
 * `private-dir.ts` holds the names and what makes a directory ours; `make.ts` makes one under a
 * temporary name; `foreign-trash.ts` finds the running removals in a foreign one's trash.
 */
import fs from 'node:fs';
import {
  type Dir,
  REMOVAL_BUDGET,
  closeDir,
  dirKey,
  describeType,
  errnoCode,
  processTable,
  lstatAt,
  openDirIfExists,
  pathAt,
  removeTreeAt,
  renameAt,
  unlinkAt,
} from '../safe-fs/index.js';
import { openTrashDir, runningRemovals, scanTrash } from './foreign-trash.js';
import { makeStateDir } from './make.js';
import { STATE_DIR, TRASH_DIR, isOthersDir, openPrivateIfExists, openPrivateSubdir } from './private-dir.js';

export { FOREIGN_TRASH_MAX, openForeignTrash, runningRemovals } from './foreign-trash.js';
export {
  STAGING_PREFIX,
  STATE_DIR,
  STATE_MARKER,
  TRASH_DIR,
  defaultLockPath,
  openPrivateIfExists,
  openPrivateSubdir,
} from './private-dir.js';

/** What replacing a foreign state directory did with its trash's running removals. */
export interface TakeOverReport {
  /** Moved into the new trash: its purges stop them. */
  readonly moved: string[];
  /** Left under the aside's dot name, which is then not deleted: a supervisor still runs there. */
  readonly kept: string[];
  /** Some of its trash could not be checked (too many entries, names not UTF-8): the aside is kept. */
  unchecked?: boolean;
  /** The old directory stays under its dot name (`.reconcile-gateways.foreign.*`). */
  asideKept?: boolean;
}

/**
 * Opens the state directory of `scandir`. With `create` a missing one is made and a foreign one
 * (someone else's, or not 0700) is replaced (what happened to its running removals goes to
 * `report`); without it (observe, dry runs) a missing or foreign one is `undefined`: nothing in it
 * is trusted.
 */
export function openStateDir(scandir: Dir, create: boolean, report?: TakeOverReport): Dir | undefined {
  // Foreign directories renamed aside, whose running removals are taken over once ours is open.
  const asides: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const existing = openPrivateIfExists(scandir, STATE_DIR);
    if (existing !== undefined) return takeOver(scandir, asides, existing, report);
    if (!create) return undefined;
    // Runs that start together on a new scandir all find it missing: one makes it, the others
    // cannot rename theirs onto it (ENOTEMPTY) and use it. An entry there is replaced only when it is still not ours on a second look
    // (a concurrent run may have made it just now), and it is renamed aside first, so that of two
    // runs that both judged it foreign only one moves it: the other finds it gone and goes round.
    const seen = lstatAt(scandir, STATE_DIR);
    if (seen !== undefined) {
      const made = openPrivateIfExists(scandir, STATE_DIR);
      if (made !== undefined) return takeOver(scandir, asides, made, report);
      const aside = setForeignAside(scandir, seen);
      if (aside !== undefined) asides.push(aside);
    }
    let made: Dir;
    try {
      made = makeStateDir(scandir);
    } catch (err) {
      // EEXIST, ENOTEMPTY, ENOTDIR: something was put under the name meanwhile (a concurrent run's
      // directory, or another entry). ENOENT: the temporary directory was renamed away (a scandir
      // that is not sticky). Look again.
      const code = errnoCode(err);
      if (!RETRIED.has(code) || attempt >= STATE_DIR_ATTEMPTS) throw err;
      continue;
    }
    return takeOver(scandir, asides, made, report);
  }
}

/** What making the state directory meets when someone else changed the name meanwhile: look again. */
const RETRIED: ReadonlySet<string> = new Set(['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'ENOENT']);

/**
 * Throws what `openStateDir(scandir, true)` would meet, without making or replacing anything (a
 * watcher checks this at start, and over a converged scandir writes nothing): EACCES for another
 * user's directory, or for a missing one in a scandir this user cannot write.
 */
export function checkStateDir(scandir: Dir): void {
  const existing = openStateDir(scandir, false);
  if (existing !== undefined) return closeDir(existing);
  const seen = lstatAt(scandir, STATE_DIR);
  if (seen === undefined) fs.accessSync(`/proc/self/fd/${scandir.fd}`, fs.constants.W_OK);
  else if (isOthersDir(seen)) fs.accessSync(pathAt(scandir, STATE_DIR), fs.constants.W_OK | fs.constants.X_OK);
}

/** How often making the state directory meets one made meanwhile before giving up. */
const STATE_DIR_ATTEMPTS = 5;

/**
 * Renames the foreign entry under the state directory's name aside, and returns its new name: it
 * is deleted once the new state directory has taken over its running removals. When what was
 * moved is a private directory after all, a concurrent run made it between the look and the
 * rename: it is put back (unless the name was taken again meanwhile; that run then finds its lock
 * file gone from the lock path and takes the lock again, src/lock.ts). Losing the race (the entry
 * is gone) is no error.
 */
function setForeignAside(scandir: Dir, seen: fs.Stats): string | undefined {
  // Deleting another user's directory in place fails at once (EACCES, exit 111) and moves
  // nothing: a root run's lock and journal stay where root's next run looks for them.
  if (isOthersDir(seen)) {
    removeTreeAt(scandir, STATE_DIR, { left: REMOVAL_BUDGET });
    return undefined;
  }
  // What is there now is what was judged foreign, or it is left for the next look: the fewer
  // syscalls between this look and the rename, the rarer a concurrent run's directory is taken.
  const now = lstatAt(scandir, STATE_DIR);
  if (now === undefined || now.ino !== seen.ino || now.dev !== seen.dev) return undefined;
  const aside = `${STATE_DIR}.foreign.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  try {
    renameAt(scandir, STATE_DIR, scandir, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const moved = openPrivateIfExists(scandir, aside);
  if (moved !== undefined) {
    closeDir(moved);
    putBack(scandir, aside);
    return undefined;
  }
  return aside;
}

/**
 * Moves the slots of the foreign state directories set aside whose supervisors still run into the
 * trash of `state`, where a purge stops them and deletes them (deleting them with the rest would
 * leave their gateways running with nothing left to stop them), then deletes what is left of each.
 * One whose trash still holds a directory a supervisor runs on (its name taken in our trash,
 * not a service name, or moved there meanwhile) is not deleted: it stays under its dot name,
 * which s6-svscan skips, as does whatever the budget leaves. Returns `state`.
 */
function takeOver(scandir: Dir, asides: readonly string[], state: Dir, report?: TakeOverReport): Dir {
  const table = processTable(dirKey(scandir)); // read when first asked
  for (const aside of asides) {
    let old: Dir | undefined;
    let trash: Dir | undefined;
    try {
      // A symlink or a file set aside holds no supervisor: it goes (never followed).
      if (lstatAt(scandir, aside)?.isDirectory() === false) unlinkAt(scandir, aside);
      old = openDirIfExists(scandir, aside);
      const oldTrash = old === undefined ? undefined : openTrashDir(old);
      let stranded: string[] = [];
      let unchecked = false;
      try {
        const running = oldTrash === undefined ? [] : runningRemovals(oldTrash, table);
        if (oldTrash !== undefined && running.length > 0) {
          trash = openPrivateSubdir(state, TRASH_DIR);
          moveRunningRemovals(oldTrash, trash, running, report);
        }
        const left = oldTrash === undefined ? { running: [], unchecked: false } : scanTrash(oldTrash, true, table);
        stranded = left.running;
        unchecked = left.unchecked;
      } finally {
        closeDir(oldTrash);
      }
      for (const service of stranded) report?.kept.push(service); // no spread: as many as the trash holds
      if (unchecked && report !== undefined) report.unchecked = true;
      if (stranded.length === 0 && !unchecked) removeTreeAt(scandir, aside, { left: REMOVAL_BUDGET });
    } catch {
      // Left under its dot name: nothing in it is used.
    } finally {
      closeDir(trash);
      closeDir(old);
    }
    // Kept on purpose, or not (fully) deleted: said either way.
    if (report !== undefined && lstatAt(scandir, aside) !== undefined) report.asideKept = true;
  }
  return state;
}

/**
 * Moves the `running` removals of a foreign trash into our `trash`, reporting each one moved. One
 * that cannot be moved stays where it is, for takeOver's look at what is left.
 */
function moveRunningRemovals(oldTrash: Dir, trash: Dir, running: readonly string[], report: TakeOverReport | undefined): void {
  for (const service of running) {
    try {
      renameAt(oldTrash, service, trash, service);
      report?.moved.push(service);
    } catch {
      // Taken in our trash (a concurrent run's), or gone: checked by takeOver's look at what is left.
    }
  }
}

/**
 * What is under the state directory's name when it is not this user's private directory and a
 * pass of this user would replace it, for the warning that says so (`a directory of uid 1000`, `a
 * symlink`); undefined when there is none, it is ours, or it is another user's that a user other
 * than root cannot replace (its pass stops, exit 111). Never throws.
 */
export function foreignStateOf(scandir: Dir): string | undefined {
  try {
    const own = openPrivateIfExists(scandir, STATE_DIR);
    if (own !== undefined) {
      closeDir(own);
      return undefined;
    }
    const st = lstatAt(scandir, STATE_DIR);
    if (st === undefined || isOthersDir(st)) return undefined;
    if (!st.isDirectory()) return describeType(st);
    return st.uid !== process.geteuid?.()
      ? `a directory of uid ${st.uid}`
      : `a directory of mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
  } catch {
    return undefined;
  }
}

/**
 * Renames `aside` back to the state directory's name, unless that was taken meanwhile (then it
 * stays aside): a rename onto a directory made meanwhile fails, since ours are never empty.
 */
function putBack(scandir: Dir, aside: string): void {
  try {
    if (lstatAt(scandir, STATE_DIR) === undefined) renameAt(scandir, aside, scandir, STATE_DIR);
  } catch {
    // Taken between the look and the rename: it stays aside, under its dot name.
  }
}

/**
 * A warning when root runs over a scandir the hermes user can write that is not sticky: hermes
 * can then rename root's entries (the state directory, slots) and swap in others (issue 16 #8).
 * The sticky bit does not bind a directory's owner, so a scandir root does not own is warned about
 * whatever its mode: its owner can rename the state directory, and with it the run lock.
 */
export function stickyWarning(scandir: Dir, hermes: { readonly uid: number; readonly gid: number }): string | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  const st = fs.fstatSync(scandir.fd);
  if (st.uid !== 0)
    return `scandir ${scandir.path} is owned by uid ${st.uid}, not root: its owner can rename the slots and the tool's state directory (its trash, and the run lock unless --lock-file puts it elsewhere), sticky bit or not; run chown root on it (root:hermes with mode 1775 lets hermes register slots, as the cont-init example sets)`;
  const writable = st.uid === hermes.uid || (st.gid === hermes.gid && (st.mode & 0o020) !== 0) || (st.mode & 0o002) !== 0;
  if (!writable || (st.mode & 0o1000) !== 0) return undefined;
  return `scandir ${scandir.path} is writable by uid ${hermes.uid} and not sticky: that user can rename the slots and the tool's state; run chmod +t on it`;
}
