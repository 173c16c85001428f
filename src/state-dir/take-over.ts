/**
 * Replacing a foreign state directory: renaming it aside (or putting back a concurrent run's, made
 * meanwhile), moving its trash's running removals into ours, and deleting the rest. An aside whose
 * trash still holds a supervised directory, or could not all be checked, is never deleted.
 */
import type fs from 'node:fs';
import {
  type Dir,
  REMOVAL_BUDGET,
  closeDir,
  dirKey,
  errnoCode,
  lstatAt,
  openDirIfExists,
  processTable,
  removeTreeAt,
  renameAt,
  unlinkAt,
} from '../safe-fs/index.js';
import { openTrashDir, runningRemovals, scanTrash } from './foreign-trash.js';
import { STATE_DIR, TRASH_DIR, isOthersDir, openPrivateIfExists, openPrivateSubdir } from './private-dir.js';

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
 * Renames the foreign entry under the state directory's name aside, and returns its new name: it
 * is deleted once the new state directory has taken over its running removals. When what was
 * moved is a private directory after all, a concurrent run made it between the look and the
 * rename: it is put back (unless the name was taken again meanwhile; that run then finds its lock
 * file gone from the lock path and takes the lock again, src/lock.ts). Losing the race (the entry
 * is gone) is no error.
 */
export function setForeignAside(scandir: Dir, seen: fs.Stats): string | undefined {
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
export function takeOver(scandir: Dir, asides: readonly string[], state: Dir, report?: TakeOverReport): Dir {
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
