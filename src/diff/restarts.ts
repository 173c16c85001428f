/**
 * Every restart decision in one place: when a running service needs a restart, when that restart
 * is done (`--restart-changed`, or a journal entry an interrupted pass left) or only reported as
 * pending, which journal entries a pass keeps, and which operations `watch` holds back. Pure.
 */
import { isRefused } from './refused.js';
import type { ObservedSlot, ObservedState, Operation, Plan } from '../model.js';
import { RUNTIME_FILES } from '../model/constants.js';

/** What the restart decision of one slot needs besides the slot. */
export interface RestartInput {
  /** A run-time file (`run`, `finish`) is rewritten by this plan. */
  readonly runtimeChanged: boolean;
  readonly restartChanged: boolean;
  /** The service has an entry in a journal this tool wrote. */
  readonly journalled: boolean;
  /** The pass's clock: an mtime after it says nothing about when a file changed. */
  readonly nowMs: number;
}

/** A restart to do (with its reason), or whether one is only pending. */
export type RestartDecision = { readonly restart: string } | { readonly restart?: undefined; readonly pending: boolean };

/**
 * A service runs old files when it is up and a run-time file changes now, or changed after it
 * started (an mtime in the future is ignored: it would keep a restart pending forever). A journal
 * entry is honoured only for such a service: the journal cannot restart anything this plan would not.
 */
export function decideRestart(slot: ObservedSlot, input: RestartInput): RestartDecision {
  const live = slot.live;
  if (live === undefined || !live.up) return { pending: false };
  const runningOld = input.runtimeChanged || runtimeFilesNewerThan(slot, live.updownSinceUnix, input.nowMs);
  if (!runningOld) return { pending: false };
  if (input.restartChanged) return { restart: 'run-time files changed since the service started (--restart-changed)' };
  // An unowned slot here is one this pass adopts (one it may not adopt gets no restart at all):
  // the interrupted pass that journalled its restart was adopting it too.
  if (input.journalled) return { restart: 'restart decided by an interrupted pass (journal)' };
  return { pending: true };
}

function runtimeFilesNewerThan(slot: ObservedSlot, sinceUnix: number, nowMs: number): boolean {
  for (const path of RUNTIME_FILES) {
    const f = slot.files.get(path);
    if (f !== undefined && f.kind === 'file' && f.mtimeMs / 1000 > sinceUnix && f.mtimeMs <= nowMs) return true;
  }
  return false;
}

/** Whether the journal's entries may be acted on: as root, only a journal root wrote. */
export function isJournalTrusted(observed: ObservedState, expectedUid: number | null): boolean {
  const uid = observed.scandir.journalUid;
  return expectedUid === null || uid === undefined || uid === expectedUid;
}

/**
 * Splits off the operations of held services (`watch` back-off); their restarts stay pending. A
 * refused operation is never held: it attempts nothing, so there is nothing to spare, and the
 * pass then sees at once whether it still is refused (a slot put right is adopted then).
 */
export function holdBack(plan: Plan, hold: ReadonlySet<string> | undefined): { plan: Plan; held: Operation[] } {
  if (hold === undefined || hold.size === 0) return { plan, held: [] };
  const holds = (op: Operation): boolean => hold.has(op.service) && !isRefused(op);
  const held = plan.operations.filter(holds);
  const operations = plan.operations.filter((op) => !holds(op));
  const heldRestarts = held.filter((op) => op.kind === 'restart').map((op) => op.service);
  const restartPending = [...new Set([...plan.restartPending, ...heldRestarts])].sort();
  return { plan: { operations, restartPending }, held };
}

/**
 * Journal entries a pass must keep besides its own restarts: those of services it did not read
 * (a targeted pass) or holds back; the others are done, or no longer needed, once it applied.
 */
export function journalKeep(observed: ObservedState, held: readonly Operation[], scope: ReadonlySet<string> | undefined): string[] {
  const heldServices = new Set(held.map((op) => op.service));
  return [...observed.scandir.pendingRestarts].filter((s) => heldServices.has(s) || (scope !== undefined && !scope.has(s)));
}
