/**
 * update: fixes only the files of a live slot that differ, each replaced atomically (temp file in
 * the same directory + fsync + rename). A live slot is never removed or rebuilt (s6 would run old
 * and new side by side), and an existing supervise/ is never touched.
 */
import type { OperationResult, UpdateOp } from '../model.js';
import {
  type Dir,
  type Owner,
  chmodFileAt,
  closeDir,
  describeErrno,
  fixDir,
  mkdirAt,
  openDirAt,
  unlinkAt,
  writeFileAt,
} from '../safe-fs/index.js';
import { openObservedSlot } from './observed-slot.js';

/** Applies one update inside the scandir. `owner` is set when running as root. */
export function applyUpdate(scandir: Dir, op: UpdateOp, owner: Owner | undefined): OperationResult {
  if (op.refused === true) return { op, status: 'failed', error: op.reason };
  let slot: Dir | undefined;
  let log: Dir | undefined;
  try {
    // Everything below goes through `slot`, the directory observe read.
    slot = openObservedSlot(scandir, op.service, op.expect);
    for (const change of op.dirs) {
      if (change.path === '') {
        fixDir(slot, change.mode, change.fix === 'chown' ? owner : undefined);
      } else if (change.fix === 'mkdir') {
        // A symlink or file where log/ goes is unlinked, never followed; a directory that
        // appeared since observe is not (unlink fails on it, and the update with it).
        if (change.replace === true) unlinkAt(slot, 'log');
        log = mkdirAt(slot, 'log', change.mode, owner);
      } else {
        const dir = openDirAt(slot, 'log');
        try {
          fixDir(dir, change.mode, change.fix === 'chown' ? owner : undefined);
        } finally {
          closeDir(dir);
        }
      }
    }
    for (const change of op.changes) {
      const inLog = change.path.startsWith('log/');
      if (inLog && log === undefined) log = openDirAt(slot, 'log');
      const dir = inLog && log !== undefined ? log : slot;
      const name = inLog ? change.path.slice(4) : change.path;
      if (change.fix === 'chmod') chmodFileAt(dir, name, change.spec.mode);
      else {
        const keep = change.keepMtimeMs === undefined ? {} : { mtimeMs: change.keepMtimeMs };
        writeFileAt(dir, name, change.spec.content, {
          mode: change.spec.mode,
          fsync: true,
          ...keep,
          ...(owner === undefined ? {} : { owner }),
        });
      }
    }
    return { op, status: 'applied' };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}
