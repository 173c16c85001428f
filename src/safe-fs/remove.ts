/**
 * The removing half of the no-follow file access (see core.ts for the discipline): unlinking an
 * entry, and deleting a whole tree without recursion, within a pass's budget.
 */
import fs from 'node:fs';
import { C, type Dir, FsError, closeDir, errnoCode, lstatAt, openDirAt, pathAt, rawPathAt } from './core.js';
import { listDirRawFirst } from './list.js';

/** Removes a file entry (never follows); false when it did not exist. */
export function unlinkAt(dir: Dir, name: string): boolean {
  if (lstatAt(dir, name) === undefined) return false;
  try {
    fs.unlinkSync(pathAt(dir, name));
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw new FsError('unlink', `${dir.path}/${name}`, err);
  }
}

/** How many more entries a pass may delete; shared by every removal of one pass. */
export interface RemovalBudget {
  left: number;
}

/** Entries listed at a time while a tree is deleted: it is read in batches, never held whole. */
const REMOVAL_BATCH = 4096;

/** Entries one pass deletes at most (a slot has about twenty; 30,000 nested directories ~60,000). */
export const REMOVAL_BUDGET = 250_000;

/**
 * Deletes an entry and everything below it without following any symlink and without recursion
 * (issue 16 #6: 30,000 nested directories overflowed the stack): at most two descriptors are open
 * at any time. Deletes at most `budget.left` entries; returns false when the budget ran out first
 * (what is left is deleted by a later call).
 */
export function removeTreeAt(dir: Dir, name: string, budget: RemovalBudget = { left: Number.POSITIVE_INFINITY }): boolean {
  const st = lstatAt(dir, name);
  if (st === undefined) return true;
  if (!st.isDirectory()) {
    unlinkAt(dir, name);
    return true;
  }
  const top = openDirAt(dir, name);
  try {
    if (!emptyTree(top, budget)) return false;
  } finally {
    closeDir(top);
  }
  rmdirAt(dir, name);
  return true;
}

/**
 * Empties `top` level by level: files are unlinked; each subdirectory's entries are moved up into
 * `top` under fresh names, then the emptied subdirectory removed. Every rename stays inside the
 * tree being deleted, so no path grows and nothing is followed. Entries are handled by their raw
 * names: one that is not valid UTF-8 is deleted like any other, not re-listed until the budget
 * runs out (its decoded name, with U+FFFD, would name no entry).
 */
function emptyTree(top: Dir, budget: RemovalBudget): boolean {
  const serial = { next: 0 };
  for (let entries = listDirRawFirst(top, REMOVAL_BATCH); entries.length > 0; entries = listDirRawFirst(top, REMOVAL_BATCH)) {
    for (const entry of entries) {
      if (--budget.left < 0) return false;
      if (!entry.isDir) {
        rawAt(top, entry.name, { action: 'unlink', call: (p) => fs.unlinkSync(p) });
        continue;
      }
      const sub = rawAt(top, entry.name, { action: 'open', call: (p) => fs.openSync(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW) });
      if (sub === undefined) continue;
      const subDir: Dir = { fd: sub, path: `${top.path}/${entry.name.toString()}` };
      try {
        for (const child of listDirRawFirst(subDir, REMOVAL_BATCH)) {
          if (--budget.left < 0) return false;
          hoist(subDir, child.name, top, serial);
        }
      } finally {
        closeDir(subDir);
      }
      rawAt(top, entry.name, { action: 'rmdir', call: (p) => fs.rmdirSync(p), lenient: true });
    }
  }
  return true;
}

/** A call rawAt makes on a raw-named entry. */
interface RawCall<T> {
  /** The call's name in the FsError it throws (`unlink`, `open`, `rmdir`). */
  readonly action: string;
  readonly call: (path: Buffer) => T;
  /** Whether a directory that is not empty yet (ENOTEMPTY, EEXIST) counts as gone too. */
  readonly lenient?: boolean;
}

/**
 * One call on a raw-named entry of `dir`: its result, or undefined when the entry is gone (and,
 * with `lenient`, when a directory is not empty yet: the caller's next round sees it again).
 */
function rawAt<T>(dir: Dir, name: Buffer, { action, call, lenient = false }: RawCall<T>): T | undefined {
  try {
    return call(rawPathAt(dir, name));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || (lenient && (code === 'ENOTEMPTY' || code === 'EEXIST'))) return undefined;
    throw new FsError(action, `${dir.path}/${name.toString()}`, err);
  }
}

/** Moves `from/name` into `top` under an unused `.rm<n>` name. */
function hoist(from: Dir, name: Buffer, top: Dir, serial: { next: number }): void {
  for (;;) {
    const target = `.rm${serial.next++}`;
    if (lstatAt(top, target) !== undefined) continue;
    try {
      fs.renameSync(rawPathAt(from, name), pathAt(top, target));
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EISDIR' && code !== 'ENOTDIR')
        throw new FsError('rename', `${from.path}/${name.toString()}`, err);
    }
  }
}

/** rmdir of an entry. */
function rmdirAt(dir: Dir, name: string): void {
  try {
    fs.rmdirSync(pathAt(dir, name));
  } catch (err) {
    throw new FsError('rmdir', `${dir.path}/${name}`, err);
  }
}
