/**
 * Writes under HERMES_HOME that a pass performs besides slots: the legacy `gateway run` seed of
 * the root state file (#34829). Atomic, owned by uid:gid, never through a symlink, never over an
 * existing file.
 */
import type { HomeWrite } from '../model.js';
import { type Dir, type Owner, describeErrno, lstatAt, writeFileAt } from '../safe-fs/index.js';

/** Applies each write; a failure is reported with the write, never thrown. */
export function applyHomeWrites(home: Dir, writes: readonly HomeWrite[], owner: Owner | undefined): { write: HomeWrite; error?: string }[] {
  return writes.map((write) => {
    try {
      if (lstatAt(home, 'gateway_state.json') !== undefined) return { write, error: 'gateway_state.json appeared meanwhile; left as it is' };
      writeFileAt(home, 'gateway_state.json', write.content, { mode: 0o644, fsync: true, ...(owner === undefined ? {} : { owner }) });
      return { write };
    } catch (err) {
      return { write, error: describeErrno(err) };
    }
  });
}
