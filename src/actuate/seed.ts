/**
 * seed: writes the root state file (legacy `gateway run` migration #34829, bootstrap state
 * #37896). Atomic, owned by hermes, never through a symlink, never over an existing entry.
 */
import type { OperationResult, SeedOp } from '../model.js';
import { type Dir, type Owner, describeErrno, lstatAt, writeFileAt } from '../safe-fs/index.js';

/** Applies a seed; `owner` is hermes' uid/gid when running as root. */
export function applySeed(home: Dir, op: SeedOp, owner: Owner | undefined): OperationResult {
  try {
    if (lstatAt(home, op.path) !== undefined) return { op, status: 'failed', error: `${op.path} appeared meanwhile; left as it is` };
    writeFileAt(home, op.path, op.content, { mode: 0o644, fsync: true, ...(owner === undefined ? {} : { owner }) });
    return { op, status: 'applied' };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  }
}
