/**
 * up/down: the `down` marker is the persisted intent (read by s6-supervise only when it starts);
 * with a live s6 the command byte changes the running service too (`s6-svc -U`/`-D` semantics).
 */
import type { DownOp, OperationResult, UpOp } from '../model.js';
import { type Dir, FsError, closeDir, describeErrno, openDirAt, touchAt, unlinkAt } from '../safe-fs/index.js';
import { svc } from './control.js';

/** Applies an up or down operation; `live` says whether s6-svscan runs on the scandir. */
export function applyMarker(scandir: Dir, op: UpOp | DownOp, live: boolean): OperationResult {
  let slot: Dir | undefined;
  try {
    slot = openDirAt(scandir, op.service);
    if (op.kind === 'up') unlinkAt(slot, 'down');
    else touchAt(slot, 'down', 0o644);
    if (live) sendIfSupervised(slot, op.kind === 'up' ? 'u' : 'd');
    return { op, status: 'applied' };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  } finally {
    closeDir(slot);
  }
}

/** A slot not yet picked up by s6-svscan has no listener: its marker alone is enough. */
function sendIfSupervised(slot: Dir, command: 'u' | 'd'): void {
  try {
    svc(slot, command);
  } catch (err) {
    if (err instanceof FsError && (err.code === 'ENXIO' || err.code === 'ENOENT')) return;
    throw err;
  }
}
