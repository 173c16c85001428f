/**
 * Talks to a live s6 by writing single command bytes to its control FIFOs, exactly what
 * `s6-svscanctl`/`s6-svc` do (s6-facts §3.8), without spawning a process per command. Every open
 * is O_WRONLY|O_NONBLOCK|O_NOFOLLOW: a FIFO nobody reads fails with ENXIO instead of blocking.
 */
import fs from 'node:fs';
import { type Dir, FsError, closeDir, openSearchableDirAt, pathAt } from '../safe-fs/index.js';

/**
 * Sends one command to `<dir>/<sub>/control`; throws FsError when nobody listens (ENXIO, or ENOENT
 * with no such directory). A `supervise/` this user may only search (0710, its group) is reached by
 * name, as `s6-svc` run as that user reaches it.
 */
export function sendControl(dir: Dir, sub: 'supervise' | '.s6-svscan', command: string): void {
  const control = openSearchableDirAt(dir, sub);
  if (control === undefined) {
    throw new FsError(
      `send '${command}' to`,
      `${dir.path}/${sub}/control`,
      Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' }),
    );
  }
  try {
    let fd: number;
    try {
      fd = fs.openSync(pathAt(control, 'control'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
    } catch (err) {
      throw new FsError(`send '${command}' to`, `${control.path}/control`, err);
    }
    try {
      if (!fs.fstatSync(fd).isFIFO()) throw new FsError(`send '${command}' to`, `${control.path}/control`, new Error('not a FIFO'));
      fs.writeSync(fd, command);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    closeDir(control);
  }
}

/**
 * sendControl, where nobody listening is no failure (a slot not yet picked up, a supervisor that
 * exited, no `supervise/` at all): whether it was sent. What else goes wrong is thrown.
 */
export function sendIfListening(dir: Dir, sub: 'supervise' | '.s6-svscan', command: string): boolean {
  try {
    sendControl(dir, sub, command);
    return true;
  } catch (err) {
    if (err instanceof FsError && (err.code === 'ENXIO' || err.code === 'ENOENT')) return false;
    throw err;
  }
}

/** `s6-svscanctl -a`: rescan, picking up new slots. */
export function svscanRescan(scandir: Dir): void {
  sendControl(scandir, '.s6-svscan', 'a');
}

/** `s6-svc -u|-d|-r` on a supervised slot. */
export function svc(slot: Dir, command: 'u' | 'd' | 'r'): void {
  sendControl(slot, 'supervise', command);
}

/** Closes a slot handle opened for control; re-exported for callers' finally blocks. */
export { closeDir };
