/**
 * What makes a state directory ours: the names in and around it, and the checks that a directory is
 * this user's and private (or another user's). The rest of src/state-dir/ opens through these; they
 * make nothing but a private subdirectory of a state directory that is already ours (deleting
 * first whatever that is not private sits under its name).
 */
import fs from 'node:fs';
import { type Dir, REMOVAL_BUDGET, closeDir, mkdirAt, openDirIfExists, removeTreeAt } from '../safe-fs/index.js';

/** Name of the state directory inside the scandir (a dot name: s6-svscan ignores it). */
export const STATE_DIR = '.reconcile-gateways';

/** The run lock inside the state directory. */
const LOCK_FILE = 'lock';

/** Where removed slots wait for their supervisors to exit before deletion. */
export const TRASH_DIR = 'trash';

/**
 * A file every state directory of ours holds from the moment it has its name: it is made under a
 * temporary name with this file in it and renamed into place, and rename(2) replaces only an
 * empty directory, so no rename (a concurrent run's put-back, take-over.ts) can ever replace ours.
 */
export const STATE_MARKER = 'README';

/** Prefix of the per-run staging directories (`staging.<pid>`). */
export const STAGING_PREFIX = 'staging.';

/** Path of the default lock file for a scandir path. */
export function defaultLockPath(scandirPath: string): string {
  return `${scandirPath}/${STATE_DIR}/${LOCK_FILE}`;
}

/** Whether an open directory is ours and private: owned by us, mode 0700, not a symlink. */
function isPrivateDir(dir: Dir): boolean {
  const st = fs.fstatSync(dir.fd);
  return st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o7777) === 0o700;
}

/**
 * Another user's directory, seen by a user other than root: it could be renamed away (the scandir
 * is writable) but neither used nor deleted.
 */
export function isOthersDir(seen: fs.Stats): boolean {
  const euid = process.geteuid?.();
  return seen.isDirectory() && euid !== 0 && seen.uid !== euid;
}

/** Opens a private subdirectory of the state directory, making (or remaking) it. */
export function openPrivateSubdir(state: Dir, name: string): Dir {
  const existing = openPrivateIfExists(state, name);
  if (existing !== undefined) return existing;
  removeTreeAt(state, name, { left: REMOVAL_BUDGET });
  return mkdirAt(state, name, 0o700);
}

/** Opens `name` when it is a private directory of ours; `undefined` when missing or foreign. */
export function openPrivateIfExists(parent: Dir, name: string): Dir | undefined {
  let dir: Dir | undefined;
  try {
    dir = openDirIfExists(parent, name);
  } catch {
    return undefined; // a symlink or a file under our name: foreign
  }
  if (dir === undefined) return undefined;
  if (isPrivateDir(dir)) return dir;
  closeDir(dir);
  return undefined;
}
