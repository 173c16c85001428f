/**
 * No-follow file access for trees an unprivileged user can write (HERMES_HOME, the scandir).
 *
 * Every access goes through an open directory descriptor: `/proc/self/fd/<dirfd>/<name>` resolves
 * the directory through the descriptor, not through a path that could be swapped for a symlink, and
 * the last component is opened with O_NOFOLLOW (or is an lstat/unlink/rename/mkdir, which never
 * follow). Nothing is opened without O_NONBLOCK, so a FIFO planted where a file is expected never
 * blocks. Synchronous on purpose: on tmpfs a direct syscall is several times cheaper than a trip
 * through libuv's thread pool (see bench/HISTORY.md).
 */
import fs from 'node:fs';
import type { DirIdentity, DirRead, FileRead } from '../model.js';
import { quoted } from '../escape.js';

/** Open flags, shared with safe-fs/write.ts and remove.ts. */
export const C = fs.constants;
const PROC_FD = fs.existsSync('/proc/self/fd') ? '/proc/self/fd/' : undefined;

/**
 * An open directory: its descriptor and the path to show humans. A directory inside a private
 * tree of ours (root-owned 0700, which nobody else can change) may instead be addressed by `rel`,
 * a path that starts at our descriptor of that tree's root (`/proc/self/fd/N/s0/log`), with no
 * descriptor of its own (`fd` is -1): one lookup through the tree instead of an open and a close.
 */
export interface Dir {
  readonly fd: number;
  readonly path: string;
  readonly rel?: string;
  /**
   * Only with `rel`: the permission bits an entry made in this private tree keeps of the mode it is
   * made with (the umask and any default ACL take the others), probed once per tree (probeGrants
   * in write.ts). An entry made with a mode within them has that mode exactly and needs no chmod.
   */
  readonly grants?: number;
}

/** A file-system failure with the path it concerns and the errno code. */
export class FsError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(action: string, path: string, cause: unknown) {
    const code = errnoCode(cause);
    super(`${action} ${path}: ${describeErrno(cause)}`, { cause });
    this.name = 'FsError';
    this.code = code;
    this.path = path;
  }
}

/** The errno code of a Node error (`ENOENT`…), or `EUNKNOWN`. */
export function errnoCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return 'EUNKNOWN';
}

/** Whether a failure means this user may not do it (EACCES, EPERM), not that the thing is absent or broken. */
export function isDenied(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'EACCES' || code === 'EPERM';
}

/** `ENOSPC: no space left on device`, without Node's internal /proc path. */
export function describeErrno(err: unknown): string {
  if (err instanceof FsError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  const comma = message.indexOf(', ');
  return comma > 0 && /^E[A-Z]+:/.test(message) ? message.slice(0, comma) : message;
}

/** Path of `name` inside `dir`, resolved through the descriptor. `name` must be one component. */
export function pathAt(dir: Dir, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`refusing unsafe path component ${quoted(name)}`);
  }
  if (dir.rel !== undefined) return `${dir.rel}/${name}`;
  return PROC_FD === undefined ? `${dir.path}/${name}` : `${PROC_FD}${dir.fd}/${name}`;
}

/**
 * pathAt for a name as the raw bytes getdents gave (listDirRaw): a name that is not valid UTF-8
 * reaches the same entry, where its decoded string (with U+FFFD) would name none.
 */
export function rawPathAt(dir: Dir, name: Buffer): Buffer {
  if (name.length === 0 || name.includes(0x2f) || name.includes(0) || name.equals(DOT) || name.equals(DOT_DOT)) {
    throw new Error(`refusing unsafe path component ${quoted(name.toString())}`);
  }
  return Buffer.concat([Buffer.from(`${selfPath(dir)}/`), name]);
}
const DOT = Buffer.from('.');
const DOT_DOT = Buffer.from('..');

/** Path of the directory itself, resolved through its descriptor (or its private-tree path). */
export function selfPath(dir: Dir): string {
  if (dir.rel !== undefined) return dir.rel;
  return PROC_FD === undefined ? dir.path : `${PROC_FD}${dir.fd}`;
}

/** The rest of readFilePath for a file whose size fstat gives as 0: read to its end, up to `cap`. */
function readToEnd(fd: number, cap: number, st: fs.Stats): FileRead {
  // Most such files are empty: a small first read, then whatever more there is, up to the cap.
  const chunks: Buffer[] = [];
  let got = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(4096, cap + 1 - got));
    const n = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    got += n;
    if (got > cap) return { kind: 'refused', reason: `is larger than ${cap} bytes`, code: 'EFBIG' };
  }
  const file = { kind: 'file' as const, bytes: Buffer.concat(chunks, got), mode: st.mode, uid: st.uid, mtimeMs: st.mtimeMs };
  return st.nlink > 1 ? { ...file, links: st.nlink } : file;
}

/** Opens a trusted root (HERMES_HOME or the scandir as the operator named it). */
export function openRoot(path: string): Dir {
  try {
    return { fd: fs.openSync(path, C.O_RDONLY | C.O_DIRECTORY), path };
  } catch (err) {
    throw new FsError('open', path, err);
  }
}

/** Opens a subdirectory without following a symlink; throws FsError (ELOOP, ENOTDIR, ENOENT). */
export function openDirAt(parent: Dir, name: string): Dir {
  const display = `${parent.path}/${name}`;
  if (parent.rel !== undefined)
    return { fd: -1, path: display, rel: pathAt(parent, name), ...(parent.grants === undefined ? {} : { grants: parent.grants }) };
  try {
    return { fd: fs.openSync(pathAt(parent, name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW), path: display };
  } catch (err) {
    // O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR, which reads as "a file": say what it is.
    if (errnoCode(err) === 'ENOTDIR' && lstatAt(parent, name)?.isSymbolicLink() === true)
      throw new FsError('open', display, Object.assign(new Error('is a symlink (not followed)'), { code: 'ENOTDIR' }));
    throw new FsError('open', display, err);
  }
}

/** Like openDirAt, but a missing entry is `undefined` instead of an error. */
export function openDirIfExists(parent: Dir, name: string): Dir | undefined {
  // lstat first: a missing entry is the common case, and a thrown ENOENT costs several syscalls' time.
  if (lstatAt(parent, name) === undefined) return undefined;
  try {
    return openDirAt(parent, name);
  } catch (err) {
    if (err instanceof FsError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * A subdirectory this user may search but not read (s6's 0710 `supervise/` to a member of its
 * group): no descriptor, reached by path for opening named files in it, which are still opened
 * without following a symlink. It was a directory, not a symlink, at the lstat; a swap after that
 * can only point the caller at what it may read or write as this user anyway (never root). undefined when it is no directory.
 */
function searchOnlyDirAt(parent: Dir, name: string): Dir | undefined {
  // Never for root, who reads every directory through its descriptor (no path is followed).
  if (process.geteuid?.() === 0 || lstatAt(parent, name)?.isDirectory() !== true) return undefined;
  return { fd: -1, path: `${parent.path}/${name}`, rel: pathAt(parent, name) };
}

/**
 * openDirIfExists, or searchOnlyDirAt for a directory this user may search but not read (s6's
 * 0710 `supervise/` to a member of its group, who reads and writes its files by name, as
 * s6-svstat and s6-svc run as that user do). Anything else that goes wrong is thrown.
 */
export function openSearchableDirAt(parent: Dir, name: string): Dir | undefined {
  try {
    return openDirIfExists(parent, name);
  } catch (err) {
    if (!isDenied(err)) throw err;
    return searchOnlyDirAt(parent, name);
  }
}

/** Closes a directory descriptor; never throws. */
export function closeDir(dir: Dir | undefined): void {
  if (dir === undefined || dir.fd < 0) return;
  try {
    fs.closeSync(dir.fd);
  } catch {
    // Already closed: nothing to release.
  }
}

/** lstat of an entry, or undefined when it does not exist. */
export function lstatAt(dir: Dir, name: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(pathAt(dir, name), { throwIfNoEntry: false });
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') return undefined;
    throw new FsError('lstat', `${dir.path}/${name}`, err);
  }
}

/** Describes a non-regular file type for messages. */
export function describeType(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  // Where a directory is expected, a regular file is named as one (not "not a regular file").
  return st.isFile() ? 'a regular file' : 'not a regular file';
}

/**
 * Reads a small regular file without following a symlink or blocking on a FIFO. Anything that is
 * not a regular file of at most `cap` bytes is `refused` with a reason; nothing throws.
 */
export function readFileAt(dir: Dir, name: string, cap: number): FileRead {
  let path: string;
  try {
    path = pathAt(dir, name);
  } catch (err) {
    return { kind: 'refused', reason: describeErrno(err), code: errnoCode(err) };
  }
  return readFilePath(path, cap);
}

/**
 * {@link readFileAt} for a path: the last component is never followed if it is a symlink (unless
 * `follow`: an operator's own file, a config mounted from a ConfigMap say), and a FIFO or device
 * there is refused, never waited on (for files outside a walked tree, such as the watcher's status
 * file).
 */
export function readFilePath(path: string, cap: number, follow = false): FileRead {
  let fd: number;
  try {
    fd = fs.openSync(path, C.O_RDONLY | (follow ? 0 : C.O_NOFOLLOW) | C.O_NONBLOCK | C.O_NOCTTY);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP' && !follow) return { kind: 'refused', reason: 'is a symlink', code };
    if (code === 'ENXIO') return { kind: 'refused', reason: 'is a socket or device', code };
    return { kind: 'refused', reason: describeErrno(err), code };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { kind: 'refused', reason: `is ${describeType(st)}`, code: st.isDirectory() ? 'EISDIR' : 'EFTYPE' };
    if (st.size > cap) return { kind: 'refused', reason: `is larger than ${cap} bytes (${st.size})`, code: 'EFBIG' };
    // Read exactly the size fstat reported: no extra read for EOF. A file that grows meanwhile is
    // seen truncated, which only makes it differ — the next pass sees it whole. One that reports
    // no size (procfs, some FUSE file systems) is read to its end, up to the cap.
    if (st.size === 0) return readToEnd(fd, cap, st);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    const file = { kind: 'file' as const, bytes: buf.subarray(0, got), mode: st.mode, uid: st.uid, mtimeMs: st.mtimeMs };
    return st.nlink > 1 ? { ...file, links: st.nlink } : file;
  } catch (err) {
    return { kind: 'refused', reason: describeErrno(err), code: errnoCode(err) };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Mode and owner of a subdirectory, without following a symlink, with its stamp (stampOf: any entry
 * added, removed or renamed in it changes it) and its ctime; '' and 0 when it is no directory.
 */
export function readDirAt(dir: Dir, name: string): { readonly meta: DirRead; readonly stamp: string; readonly ctimeMs: number } {
  try {
    const st = lstatAt(dir, name);
    if (st === undefined) return { meta: { kind: 'missing' }, stamp: '', ctimeMs: 0 };
    if (!st.isDirectory()) return { meta: { kind: 'refused', reason: `is ${describeType(st)}`, code: 'EFTYPE' }, stamp: '', ctimeMs: 0 };
    return { meta: { kind: 'dir', mode: st.mode, uid: st.uid }, stamp: stampOf(st), ctimeMs: st.ctimeMs };
  } catch (err) {
    return { meta: { kind: 'refused', reason: describeErrno(err) }, stamp: '', ctimeMs: 0 };
  }
}

/**
 * What an entry looks like from its inode: device, inode, size, mode, owner, group, mtime and ctime.
 * Any write, chmod, chown, rename over it, or entry added to or removed from a directory changes it
 * (the kernel sets ctime; no user can set it back).
 */
export function stampOf(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mode}:${st.uid}:${st.gid}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** Device, inode and owner of an open directory: which directory it is (issue 16 #9, #10). */
export function identityOf(dir: Dir): DirIdentity {
  const st = fs.fstatSync(dir.fd);
  return { dev: st.dev, ino: st.ino, uid: st.uid };
}

/**
 * Mode and owner, identity (as identityOf), stamp and ctime of an open directory, from one fstat
 * (observe needs all of them for every slot); throws like identityOf.
 */
export function describeDir(dir: Dir): {
  readonly meta: DirRead;
  readonly identity: DirIdentity;
  readonly stamp: string;
  readonly ctimeMs: number;
} {
  const st = fs.fstatSync(dir.fd);
  return {
    meta: { kind: 'dir', mode: st.mode, uid: st.uid },
    identity: { dev: st.dev, ino: st.ino, uid: st.uid },
    stamp: stampOf(st),
    ctimeMs: st.ctimeMs,
  };
}

/** The path another process (a child we spawn) can use to reach an open directory of ours. */
export function pathForChild(dir: Dir): string {
  return PROC_FD === undefined ? dir.path : `/proc/${process.pid}/fd/${dir.fd}`;
}
