/**
 * The writing half of the no-follow file access (see core.ts for the discipline): atomic
 * replacement, markers, directories with explicit modes and owners, and renames. Unlinking and tree
 * removal are in remove.ts.
 */
import fs from 'node:fs';
import { C, type Dir, FsError, closeDir, describeType, errnoCode, lstatAt, openDirAt, pathAt } from './core.js';

/** Owner to give a new entry (only applied when running as root). */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** Options of writeFileAt. */
export interface WriteOptions {
  readonly mode: number;
  readonly owner?: Owner;
  /** fsync the data before the rename (where a torn file would matter after a crash). */
  readonly fsync: boolean;
  /** The directory is a private staging tree of ours: write `name` directly, no temp + rename. */
  readonly fresh?: boolean;
  /** Give the new file this mtime (and atime) instead of now. */
  readonly mtimeMs?: number;
  /**
   * Replace only a regular file (or nothing): for the tool's own output files (status, metrics),
   * whose paths an operator chooses. A device, FIFO, socket or symlink there is refused, never
   * replaced (`--status-file /dev/null` replaced /dev/null); a directory fails the rename.
   */
  readonly overFileOnly?: boolean;
}

/**
 * Replaces `name` atomically: writes a temp file next to it (O_EXCL|O_NOFOLLOW), sets mode and
 * owner explicitly (never umask-dependent), optionally fsyncs, then renames it over `name`.
 * A crash leaves either the old or the new file, never a truncated one.
 */
export function writeFileAt(dir: Dir, name: string, content: string | Uint8Array, options: WriteOptions): void {
  if (options.fresh === true) {
    writeFreshAt(dir, name, content, options);
    return;
  }
  const tmp = `.${name}.rg-tmp`;
  const display = `${dir.path}/${name}`;
  if (options.overFileOnly === true) refuseNonFile(dir, name, display);
  let fd: number | undefined;
  try {
    fd = openExclusive(dir, tmp);
    fs.writeFileSync(fd, content);
    // chown first: it clears set-id bits, so a mode set before it would not be the one asked for.
    if (options.owner !== undefined) fs.fchownSync(fd, options.owner.uid, options.owner.gid);
    fs.fchmodSync(fd, options.mode);
    if (options.mtimeMs !== undefined) fs.futimesSync(fd, options.mtimeMs / 1000, options.mtimeMs / 1000);
    if (options.fsync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    // Checked again right before the rename: one made there meanwhile is not replaced either.
    if (options.overFileOnly === true) refuseNonFile(dir, name, display);
    fs.renameSync(pathAt(dir, tmp), pathAt(dir, name));
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    try {
      fs.unlinkSync(pathAt(dir, tmp));
    } catch {
      // The temp file may not exist; the original error is what matters.
    }
    throw err instanceof FsError ? err : new FsError('write', display, err);
  }
}

/** The code of the FsError refusing to replace what is not a regular file (WriteOptions.overFileOnly). */
export const NOT_REPLACED = 'ENOTREPLACED';

/** Throws when something other than a regular file holds `name` (WriteOptions.overFileOnly). */
function refuseNonFile(dir: Dir, name: string, display: string): void {
  const why = notReplaced(lstatAt(dir, name));
  if (why !== undefined) throw new FsError('write', display, Object.assign(new Error(why), { code: NOT_REPLACED }));
}

/**
 * Why what `lstat` found is never replaced by an output file (WriteOptions.overFileOnly): a device,
 * FIFO, socket or symlink; undefined for nothing, a regular file, or a directory (the rename
 * itself fails over one, EISDIR, as it always did).
 */
export function notReplaced(st: fs.Stats | undefined): string | undefined {
  if (st === undefined || st.isFile() || st.isDirectory()) return undefined;
  return `it is ${describeType(st)}, not a regular file, and is never replaced`;
}

function writeFreshAt(dir: Dir, name: string, content: string | Uint8Array, options: WriteOptions): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(pathAt(dir, name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, options.mode);
    fs.writeFileSync(fd, content);
    if (options.owner !== undefined) fs.fchownSync(fd, options.owner.uid, options.owner.gid);
    // The umask (or a default ACL) may have masked the creation mode, and chown clears set-id bits:
    // set it explicitly, unless the tree's probe shows the mode came through whole.
    if (!madeExact(dir, options.mode)) fs.fchmodSync(fd, options.mode);
  } catch (err) {
    throw new FsError('write', `${dir.path}/${name}`, err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function openExclusive(dir: Dir, name: string): number {
  const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NONBLOCK;
  try {
    return fs.openSync(pathAt(dir, name), flags, 0o600);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    // A leftover from a killed run: remove it (unlink never follows) and try once more.
    fs.unlinkSync(pathAt(dir, name));
    return fs.openSync(pathAt(dir, name), flags, 0o600);
  }
}

/**
 * Which permission bits entries made in the private tree `dir` keep: one directory made 0777,
 * looked at and removed. The umask and a default ACL both keep `mode & grants` of a new entry's
 * mode, so a mode within `grants` (and without set-id or sticky bits) is exact at creation and
 * needs no chmod (Dir.grants). When the probe fails, or the tree passes a set-group-ID bit on,
 * nothing is assumed and every entry is chmodded as before.
 */
export function probeGrants(dir: Dir): Dir {
  if (dir.rel === undefined) return dir;
  const probe = pathAt(dir, '.grants-probe');
  try {
    fs.mkdirSync(probe, 0o777);
  } catch {
    return dir;
  }
  try {
    const st = fs.lstatSync(probe);
    return st.isDirectory() && (st.mode & 0o7000) === 0 ? { ...dir, grants: st.mode & 0o777 } : dir;
  } catch {
    return dir;
  } finally {
    try {
      fs.rmdirSync(probe);
    } catch {
      // Left in the staging directory, which is removed whole.
    }
  }
}

/** Whether an entry made with `mode` in `dir` has exactly that mode already (see Dir.grants). */
function madeExact(dir: Dir, mode: number): boolean {
  return dir.grants !== undefined && (mode & 0o7000) === 0 && (mode & 0o777 & ~dir.grants) === 0;
}

/** Creates an empty file (a marker) if missing, with an explicit mode; true if it was created. */
export function touchAt(dir: Dir, name: string, mode: number): boolean {
  const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NONBLOCK;
  let fd: number;
  try {
    fd = fs.openSync(pathAt(dir, name), flags, mode);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw new FsError('create', `${dir.path}/${name}`, err);
  }
  try {
    if (!madeExact(dir, mode)) fs.fchmodSync(fd, mode); // the creation mode may have been masked
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Opens a file for appending (the boot log) without following links or blocking. */
export function openAppendAt(dir: Dir, name: string, mode: number, owner?: Owner): { fd: number; size: number } {
  const display = `${dir.path}/${name}`;
  let fd: number;
  try {
    fd = fs.openSync(pathAt(dir, name), C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY, mode);
  } catch (err) {
    throw new FsError('open', display, err);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new FsError('open', display, new Error(`is ${describeType(st)}`));
    // A hard link planted where the log goes would make root append to (and chown) another file.
    if (st.nlink !== 1) throw new FsError('open', display, new Error(`has ${st.nlink} hard links; refusing to write through a link`));
    if (st.size === 0 && owner !== undefined) {
      fs.fchmodSync(fd, mode);
      fs.fchownSync(fd, owner.uid, owner.gid);
    }
    return { fd, size: st.size };
  } catch (err) {
    fs.closeSync(fd);
    throw err instanceof FsError ? err : new FsError('open', display, err);
  }
}

/** Creates a directory with an explicit mode and owner and returns it open; EEXIST is an error. */
export function mkdirAt(dir: Dir, name: string, mode: number, owner?: Owner): Dir {
  // In our private staging tree a directory can be made with its final mode: no one else can
  // reach it. Anywhere else it is made 0700 and opened before it gets its mode.
  try {
    fs.mkdirSync(pathAt(dir, name), dir.rel !== undefined ? mode : 0o700);
  } catch (err) {
    throw new FsError('mkdir', `${dir.path}/${name}`, err);
  }
  const made = openDirAt(dir, name);
  if (made.rel !== undefined) {
    // The umask may have masked the mkdir mode: chmod (by a path that stays inside the private
    // tree), unless the tree's probe shows the mode came through whole.
    try {
      if (owner !== undefined) fs.lchownSync(made.rel, owner.uid, owner.gid);
      if (!madeExact(dir, mode)) fs.chmodSync(made.rel, mode);
    } catch (err) {
      throw new FsError('chmod', made.path, err);
    }
    return made;
  }
  try {
    // Between mkdir and open, whoever can write `dir` could put another directory in its place;
    // never chown or chmod one that is not the private 0700 directory we just made.
    const st = fs.fstatSync(made.fd);
    if (st.uid !== process.geteuid?.() || (st.mode & 0o077) !== 0) throw new Error('EEXIST: replaced while being created');
    if (owner !== undefined) fs.fchownSync(made.fd, owner.uid, owner.gid);
    fs.fchmodSync(made.fd, mode);
  } catch (err) {
    closeDir(made);
    throw new FsError('chmod', made.path, err);
  }
  return made;
}

/** Sets the mode (and owner) of an open directory. */
export function fixDir(dir: Dir, mode: number, owner?: Owner): void {
  try {
    if (owner !== undefined) fs.fchownSync(dir.fd, owner.uid, owner.gid);
    fs.fchmodSync(dir.fd, mode);
  } catch (err) {
    throw new FsError('chmod', dir.path, err);
  }
}

/** chmod of a regular file, through a no-follow descriptor. */
export function chmodFileAt(dir: Dir, name: string, mode: number): void {
  const display = `${dir.path}/${name}`;
  let fd: number;
  try {
    fd = fs.openSync(pathAt(dir, name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (err) {
    throw new FsError('open', display, err);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    // Hard-linked since observe looked (diff rewrites one it saw linked): the next pass rewrites it.
    if (st.nlink > 1) throw new Error(`it has ${st.nlink} hard links, which a chmod would change too; the next run rewrites it`);
    fs.fchmodSync(fd, mode);
  } catch (err) {
    throw new FsError('chmod', display, err);
  } finally {
    fs.closeSync(fd);
  }
}

/** lchown of an entry (never follows): for FIFOs created by mkfifo. */
export function lchownAt(dir: Dir, name: string, owner: Owner): void {
  try {
    fs.lchownSync(pathAt(dir, name), owner.uid, owner.gid);
  } catch (err) {
    throw new FsError('chown', `${dir.path}/${name}`, err);
  }
}

/** rename(2) between two open directories; never follows a symlink at either end. */
export function renameAt(from: Dir, fromName: string, to: Dir, toName: string): void {
  try {
    fs.renameSync(pathAt(from, fromName), pathAt(to, toName));
  } catch (err) {
    throw new FsError('rename', `${from.path}/${fromName} -> ${to.path}/${toName}`, err);
  }
}
