/** FIFO probes: whether anyone listens on an s6 control FIFO, without ever blocking. */
import fs from 'node:fs';
import { type Dir, pathAt } from './core.js';

/**
 * Whether a process reads the FIFO `name` in `dir` (s6-svscan's or s6-supervise's control):
 * an O_WRONLY|O_NONBLOCK open fails with ENXIO when nobody listens, and never blocks.
 */
export function hasFifoReader(dir: Dir, name: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(pathAt(dir, name), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch {
    // ENXIO: nobody listens; ENOENT, ELOOP, EACCES: no usable FIFO. Any other error: no reader either.
    return false;
  }
  try {
    return fs.fstatSync(fd).isFIFO();
  } finally {
    fs.closeSync(fd);
  }
}
