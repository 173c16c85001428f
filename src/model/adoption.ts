/** Which existing slots the tool may manage: the rule diff, drift and pickups share. */
import type { ObservedSlot } from './observed.js';

/**
 * A slot is ours (our record), or one without it that holds only what the Hermes CLI writes there,
 * which the next update adopts. Any other is left alone: no update, up, down, restart, heal,
 * pickup or drift of it.
 */
export function isManageable(slot: ObservedSlot): boolean {
  return slot.owned || slot.foreignEntries.length === 0;
}
