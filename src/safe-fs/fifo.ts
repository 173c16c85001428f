/** FIFO probes: whether anyone listens on an s6 control FIFO, without ever blocking. */
import fs from 'node:fs';
import { type Dir, closeDir, identityOf, isDenied, openDirIfExists, openSearchableDirAt, pathAt } from './core.js';
import { type LockTable, lockTable } from './locks.js';

/**
 * Whether a process reads the FIFO `name` in `dir` (s6-svscan's or s6-supervise's control):
 * an O_WRONLY|O_NONBLOCK open fails with ENXIO when nobody listens, and never blocks.
 */
export function hasFifoReader(dir: Dir, name: string): boolean {
  return fifoReader(dir, name) === 'reader';
}

/**
 * {@link hasFifoReader}, telling "nobody listens" (ENXIO, or no usable FIFO: ENOENT, ELOOP, not a
 * FIFO, any other error) from "this user may not look" (EACCES, EPERM): a user who cannot open
 * the FIFO cannot tell whether anyone listens.
 */
export function fifoReader(dir: Dir, name: string): 'reader' | 'none' | 'denied' {
  let fd: number;
  try {
    fd = fs.openSync(pathAt(dir, name), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (err) {
    return isDenied(err) ? 'denied' : 'none';
  }
  try {
    return fs.fstatSync(fd).isFIFO() ? 'reader' : 'none';
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether the supervisor of service directory `service` in `parent`, or of its logger (unless
 * `withLogger` is false), still runs: its `supervise/control` FIFO has a reader and, given `locks`
 * (where {@link supervisorLocks} showed that this system's s6 holds `supervise/lock` for a
 * supervisor's whole life), its `supervise/lock` is locked by a process of root or of this user.
 * A reader alone is anyone who may open the FIFO (the hermes user, on a slot the Hermes CLI
 * registered or in a trash it planted): waiting for it to go away could wait forever. Without
 * `locks` a reader counts as a supervisor, as an s6 that locks only while it starts needs. A
 * control this user may not open, or a lock whose holder cannot be told, counts as running (it
 * cannot tell, and nothing may be deleted under a supervisor that may run); anything else
 * unreadable as not.
 */
export function isSupervised(parent: Dir, service: string, withLogger = true, locks?: LockTable): boolean {
  return controlsOf(parent, service, withLogger, locks).some(isRunning);
}

/**
 * Whether this user may not open the `supervise/control` of service directory `service` in
 * `parent`, or of its logger: it could not tell their supervisors anything. Never for root.
 */
export function isControlDenied(parent: Dir, service: string): boolean {
  // Whether a reader is a supervisor does not matter here: the lock table is not read.
  return controlsOf(parent, service, true, undefined).includes('denied');
}

/** What a trashed or removed slot's supervisors are to this user, in one reading. */
export interface Supervisors {
  /** {@link isSupervised}, with its logger's. */
  readonly supervised: boolean;
  /** {@link isControlDenied}. */
  readonly denied: boolean;
  /** A control FIFO has a reader that is no supervisor (nothing holds its lock): not waited for. Only with `locks`. */
  readonly heldOpen: boolean;
}

/** {@link Supervisors} of the service directory `service` in `parent`; `locks` as for {@link isSupervised}. */
export function supervisorsOf(parent: Dir, service: string, locks?: LockTable): Supervisors {
  const controls = controlsOf(parent, service, true, locks);
  return { supervised: controls.some(isRunning), denied: controls.includes('denied'), heldOpen: controls.includes('held-open') };
}

/**
 * The lock table to tell a supervisor from a mere reader by, for one look at the slots and the trash
 * of `scandir`: `table` when this system's s6 is shown to hold its locks for life, undefined (a
 * reader counts as a supervisor) when it is not. Shown means: the scandir's s6-svscan listens on
 * `.s6-svscan/control` and `.s6-svscan/lock`, a regular file (whoever owns it: the cont-init example
 * hands it to hermes for s6-svscanctl), is POSIX write-locked by a process of root or of this user. s6-svscan and s6-supervise take those locks
 * alike: from s6 2.10 on, each for its whole life (skalibs `fd_lock`; s6-svok and s6-svscanctl test
 * them); before, each locked only while it started and let go, so a live supervisor holds nothing.
 * No s6-svscan listening, a lock not held, of another user or of a holder that cannot be told, or
 * an unreadable `/proc/locks`: not shown, never guessed.
 */
export function supervisorLocks(scandir: Dir, table: LockTable = lockTable()): LockTable | undefined {
  let svscan: Dir | undefined;
  try {
    svscan = openSearchableDirAt(scandir, '.s6-svscan');
    if (svscan === undefined || fifoReader(svscan, 'control') !== 'reader') return undefined;
    return isLockHeld(svscan, table) === true ? table : undefined;
  } catch {
    return undefined;
  } finally {
    closeDir(svscan);
  }
}

/** A supervisor listens; none does; this user may not look; or only a reader that is no supervisor listens. */
type Control = 'supervisor' | 'none' | 'denied' | 'held-open';

const isRunning = (c: Control): boolean => c === 'supervisor' || c === 'denied';

/**
 * The Control of the service's `supervise/` and, with `withLogger`, its logger's; none when
 * unreadable. Without `locks`, a reader is not told from a supervisor.
 */
function controlsOf(parent: Dir, service: string, withLogger: boolean, locks: LockTable | undefined): Control[] {
  let slot: Dir | undefined;
  let log: Dir | undefined;
  try {
    slot = openDirIfExists(parent, service);
    if (slot === undefined) return [];
    log = withLogger ? openDirIfExists(slot, 'log') : undefined;
    return log === undefined ? [controlOf(slot, locks)] : [controlOf(slot, locks), controlOf(log, locks)];
  } catch {
    return [];
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}

function controlOf(service: Dir, locks: LockTable | undefined): Control {
  const supervise = openSearchableDirAt(service, 'supervise');
  try {
    if (supervise === undefined) return 'none';
    const reader = fifoReader(supervise, 'control');
    if (reader !== 'reader') return reader;
    if (locks === undefined || isLockHeld(supervise, locks) !== false) return 'supervisor';
    // /proc/locks is read a page at a time, not at once: a held lock's line can be missed while
    // other locks come and go. So "not held" is confirmed: s6-supervise lives in its service
    // directory for its whole life, and a supervisor only counts as gone when no process of root
    // (or of this user) is there.
    const key = dirKey(service);
    return key !== undefined && locks.isCwdOfTrusted(...key) === false ? 'held-open' : 'supervisor';
  } finally {
    closeDir(supervise);
  }
}

/**
 * Whether `lock` in `dir` is a file a process of root or of this user holds locked; undefined when
 * that cannot be told. A lock that is missing, a symlink or no regular file is held by no s6
 * process (which opens and locks it before it reads its control). Who owns the file does not
 * matter: who holds the lock does.
 */
function isLockHeld(dir: Dir, locks: LockTable): boolean | undefined {
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.lstatSync(pathAt(dir, 'lock'), { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  // A second name is another file's lock (a hard link the hermes user made to one root holds).
  if (st === undefined || !st.isFile() || st.nlink !== 1n) return false;
  return locks.isLockedByTrusted(st.ino.toString());
}

/** The (dev, ino) of an open directory; undefined when it cannot be read (then nothing is told by it). */
function dirKey(dir: Dir): [number, number] | undefined {
  try {
    const { dev, ino } = identityOf(dir);
    return [dev, ino];
  } catch {
    return undefined;
  }
}

/**
 * Whether a process of root (or of this user) works in trashed slot `service` or its logger's
 * directory, as a live s6-supervise does: checked before a slot is deleted, whatever its
 * `supervise/` says (its control or lock renamed by a user who may write there). Only a process
 * seen there counts: one this user cannot see leaves the deletion to the FIFO and lock checks.
 */
export function supervisorWorksIn(parent: Dir, service: string, locks: LockTable): boolean {
  let slot: Dir | undefined;
  let log: Dir | undefined;
  try {
    slot = openDirIfExists(parent, service);
    if (slot === undefined) return false;
    log = openDirIfExists(slot, 'log');
    return [slot, log].some((dir) => {
      const key = dir === undefined ? undefined : dirKey(dir);
      return key !== undefined && locks.isCwdOfTrusted(...key) === true;
    });
  } catch {
    return false;
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}
