/** FIFO probes: whether anyone listens on an s6 control FIFO, without ever blocking. */
import fs from 'node:fs';
import { type Dir, closeDir, identityOf, isDenied, openDirIfExists, openSearchableDirAt, pathAt } from './core.js';
import type { ProcessTable } from './processes.js';

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
 * `withLogger` is false), still runs: its `supervise/control` FIFO has a reader and, given a
 * process table, a process of root or of this user works in the directory, as s6-supervise does
 * for its whole life; or, given a table, such a process works there whatever `supervise/` says
 * (its control renamed away by a user who may write there). A reader alone is anyone who may open the FIFO (the hermes user, on a slot
 * the Hermes CLI registered or in a trash it planted): waiting for it to go away could wait
 * forever. Without a table a reader counts as a supervisor. A control this user may not open, or
 * a directory whose workers cannot be told (not root), counts as running (it cannot tell, and
 * nothing may be deleted under a supervisor that may run); anything else unreadable as not.
 */
export function isSupervised(parent: Dir, service: string, withLogger = true, table?: ProcessTable): boolean {
  return controlsOf(parent, service, withLogger, table).some(isRunning);
}

/**
 * Whether this user may not open the `supervise/control` of service directory `service` in
 * `parent`, or of its logger: it could not tell their supervisors anything. Never for root.
 */
export function isControlDenied(parent: Dir, service: string): boolean {
  // Whether a reader is a supervisor does not matter here: no process is looked at.
  return controlsOf(parent, service, true, undefined).includes('denied');
}

/** What a trashed or removed slot's supervisors are to this user, in one reading. */
export interface Supervisors {
  /** {@link isSupervised}, with its logger's. */
  readonly supervised: boolean;
  /** {@link isControlDenied}. */
  readonly denied: boolean;
  /** A control FIFO has a reader that is no supervisor (nobody of root or ours works there): not waited for. Only with a table. */
  readonly heldOpen: boolean;
}

/** {@link Supervisors} of the service directory `service` in `parent`; `table` as for {@link isSupervised}. */
export function supervisorsOf(parent: Dir, service: string, table?: ProcessTable): Supervisors {
  const controls = controlsOf(parent, service, true, table);
  return { supervised: controls.some(isRunning), denied: controls.includes('denied'), heldOpen: controls.includes('held-open') };
}

/** A supervisor listens; none does; this user may not look; or only a reader that is no supervisor listens. */
type Control = 'supervisor' | 'none' | 'denied' | 'held-open';

const isRunning = (c: Control): boolean => c === 'supervisor' || c === 'denied';

/**
 * The Control of the service's `supervise/` and, with `withLogger`, its logger's; none when
 * unreadable. Without a table, a reader is not told from a supervisor.
 */
function controlsOf(parent: Dir, service: string, withLogger: boolean, table: ProcessTable | undefined): Control[] {
  let slot: Dir | undefined;
  let log: Dir | undefined;
  try {
    slot = openDirIfExists(parent, service);
    if (slot === undefined) return [];
    log = withLogger ? openDirIfExists(slot, 'log') : undefined;
    return log === undefined ? [controlOf(slot, table)] : [controlOf(slot, table), controlOf(log, table)];
  } catch {
    return [];
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}

function controlOf(service: Dir, table: ProcessTable | undefined): Control {
  const supervise = openSearchableDirAt(service, 'supervise');
  let reader: 'reader' | 'none' | 'denied';
  try {
    reader = supervise === undefined ? 'none' : fifoReader(supervise, 'control');
  } finally {
    closeDir(supervise);
  }
  if (reader === 'denied' || table === undefined) return reader === 'reader' ? 'supervisor' : reader;
  // s6-supervise works in its service directory for its whole life: one seen there runs, whatever
  // its supervise/ says (a user who may write there can rename its control away).
  const key = dirKey(service);
  const works = key === undefined ? undefined : table.isCwdOfTrusted(...key);
  if (works === true) return 'supervisor';
  if (reader === 'none') return 'none';
  return works === false ? 'held-open' : 'supervisor';
}

/** The (dev, ino) of an open directory; undefined when it cannot be read (then nothing is told by it). */
export function dirKey(dir: Dir): [number, number] | undefined {
  try {
    const { dev, ino } = identityOf(dir);
    return [dev, ino];
  } catch {
    return undefined;
  }
}
