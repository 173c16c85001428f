/** Refused operations: planned so that `--diff` shows them, applied as failures that touch nothing. Pure. */
import type { Operation } from '../model.js';

/**
 * Whether an operation was refused when planned (an adoption this tool may not make, a removal this
 * user may not make): it changes nothing, and the run fails it with its reason.
 */
export function isRefused(op: Operation): boolean {
  return (op.kind === 'update' || op.kind === 'remove' || op.kind === 'purge') && op.refused === true;
}
