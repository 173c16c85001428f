/**
 * heal: `s6-svc -u` on a service s6 holds down although its intent is running. Only the command
 * byte: the `down` marker is already absent (the plan says so), and a service already up or
 * wanted up ignores `u`, so applying it twice is harmless.
 */
import type { HealOp, OperationResult } from '../model.js';
import { type Dir, closeDir, describeErrno } from '../safe-fs/index.js';
import { svc } from './control.js';
import { openObservedSlot } from './observed-slot.js';

/** Applies a heal to the slot observe saw; it fails when no s6-supervise listens on it. */
export function applyHeal(scandir: Dir, op: HealOp): OperationResult {
  let slot: Dir | undefined;
  try {
    slot = openObservedSlot(scandir, op.service, op.expect);
    svc(slot, 'u');
    return { op, status: 'applied' };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  } finally {
    closeDir(slot);
  }
}
