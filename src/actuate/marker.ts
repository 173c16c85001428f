/**
 * up/down: the `down` marker is the persisted intent (read by s6-supervise only when it starts);
 * the command byte changes the running service too (`s6-svc -U`/`-D` semantics), sent whenever a
 * supervisor listens on the slot's control FIFO: also when this user cannot tell whether s6-svscan
 * runs (not root), and when s6-svscan died but the slot's supervisor lives on.
 */
import type { DownOp, OperationResult, UpOp } from '../model.js';
import { type Dir, closeDir, describeErrno, touchAt, unlinkAt } from '../safe-fs/index.js';
import { openObservedSlot } from './observed-slot.js';
import { sendIfListening } from './control.js';

/** Applies an up or down operation. */
export function applyMarker(scandir: Dir, op: UpOp | DownOp): OperationResult {
  let slot: Dir | undefined;
  try {
    slot = openObservedSlot(scandir, op.service, op.expect);
    if (op.kind === 'up') unlinkAt(slot, 'down');
    else touchAt(slot, 'down', 0o644);
  } catch (err) {
    closeDir(slot);
    return { op, status: 'failed', error: describeErrno(err) };
  }
  try {
    // A slot no supervisor runs (not yet picked up, or its supervisor is gone): the marker is enough.
    sendIfListening(slot, 'supervise', op.kind === 'up' ? 'u' : 'd');
    return { op, status: 'applied' };
  } catch (err) {
    const marker = op.kind === 'up' ? 'the down marker is removed' : 'the down marker is written';
    return {
      op,
      status: 'failed',
      error: `${marker}, but its supervisor was not told (${describeErrno(err)}): it takes effect when the supervisor next starts`,
    };
  } finally {
    closeDir(slot);
  }
}
