/** Which existing slots the tool may manage: the rule diff, drift and pickups share. */
import { OWNERSHIP_FILE } from './constants.js';
import type { ObservedSlot } from './observed.js';

/**
 * What the Hermes CLI writes in a slot it registers (upstream §2.3), s6's own directories and our
 * record: a slot without our record that holds anything else (a service of another tool, a
 * `log/finish` s6 would run as root) is not adopted.
 */
export const SLOT_ENTRIES: ReadonlySet<string> = new Set(['type', 'run', 'finish', 'down', 'event', 'supervise', 'log', OWNERSHIP_FILE]);
/** The same for the slot's `log/`. */
export const LOG_ENTRIES: ReadonlySet<string> = new Set(['run', 'down', 'event', 'supervise']);

/** Whether an entry of a slot (or of its `log/`) is one of `known`, or the temp file of an interrupted write of ours to one. */
export function isKnownEntry(name: string, known: ReadonlySet<string>): boolean {
  return known.has(name) || (name.startsWith('.') && name.endsWith('.rg-tmp') && known.has(name.slice(1, -7)));
}

/**
 * A slot is ours (our record), or one without it that holds only what the Hermes CLI writes there,
 * which the next update adopts. Any other is left alone: no update, up, down, restart, heal,
 * pickup or drift of it.
 */
export function isManageable(slot: ObservedSlot): boolean {
  return slot.owned || slot.foreignEntries.length === 0;
}
