/** FIFO probes: whether anyone listens on an s6 control FIFO, without ever blocking. */
import fs from 'node:fs';
import { type Dir, closeDir, isDenied, openDirIfExists, openSearchableDirAt, pathAt } from './core.js';

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
 * `withLogger` is false), still listens (a `supervise/control` FIFO has a reader). A control this
 * user may not open counts as listening (it cannot tell, and nothing may be deleted under a
 * supervisor that may run); anything else unreadable as not.
 */
export function isSupervised(parent: Dir, service: string, withLogger = true): boolean {
  return controlsOf(parent, service, withLogger).some((c) => c !== 'none');
}

/**
 * Whether this user may not open the `supervise/control` of service directory `service` in
 * `parent`, or of its logger: it could not tell their supervisors anything. Never for root.
 */
export function isControlDenied(parent: Dir, service: string): boolean {
  return supervisorsOf(parent, service).denied;
}

/** What a trashed or removed slot's supervisors are to this user: {@link isSupervised} and {@link isControlDenied} in one reading. */
export function supervisorsOf(parent: Dir, service: string): { readonly supervised: boolean; readonly denied: boolean } {
  const controls = controlsOf(parent, service, true);
  return { supervised: controls.some((c) => c !== 'none'), denied: controls.includes('denied') };
}

type Control = 'reader' | 'none' | 'denied';

/** fifoReader of the service's `supervise/control` and, with `withLogger`, its logger's; none when unreadable. */
function controlsOf(parent: Dir, service: string, withLogger: boolean): Control[] {
  let slot: Dir | undefined;
  let log: Dir | undefined;
  try {
    slot = openDirIfExists(parent, service);
    if (slot === undefined) return [];
    log = withLogger ? openDirIfExists(slot, 'log') : undefined;
    return log === undefined ? [controlOf(slot)] : [controlOf(slot), controlOf(log)];
  } catch {
    return [];
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}

function controlOf(service: Dir): Control {
  const supervise = openSearchableDirAt(service, 'supervise');
  try {
    return supervise === undefined ? 'none' : fifoReader(supervise, 'control');
  } finally {
    closeDir(supervise);
  }
}
