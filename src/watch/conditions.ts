/**
 * The watcher's per-service condition table (Ready / Pending / Failed) and its back-off: a service
 * whose operation failed is retried after 1 s, 2 s, 4 s … at most 5 min, while the others keep
 * converging. A refused operation (it attempts nothing) gets no back-off: the passes that read its
 * slot anyway (events, the interval) look again. Immutable updates through immer; time is an
 * argument.
 */
import { castDraft, produce } from 'immer';
import type { DriftCondition } from '../desired/drift.js';
import type { LiveState, Outcome } from './outcomes.js';
import { doublingBackoff } from '../model/constants.js';

/** First retry delay after a failure. */
export const BACKOFF_BASE_MS = 1000;
/** Longest retry delay. */
export const BACKOFF_CAP_MS = 5 * 60 * 1000;

/** One service's condition as the status file reports it. */
export interface ServiceCondition {
  readonly service: string;
  readonly profile: string;
  readonly condition: 'Ready' | 'Pending' | 'Failed';
  readonly reason?: string;
  readonly consecutiveFailures: number;
  /** While failing: when the next attempt is allowed (ms since the epoch). */
  readonly nextAttemptAtMs?: number;
  /** Failing by refusals only (nothing attempted): a real failure after them backs off from 1 s. */
  readonly refused?: true;
  readonly restartPending: boolean;
  readonly autostart?: boolean;
  /** When the condition last changed (ms since the epoch). */
  readonly sinceMs: number;
  /** s6's view when a pass last read the slot. */
  readonly live?: LiveState;
  /** Drift conditions when a pass last read the slot. */
  readonly drift?: readonly DriftCondition[];
}

/** Conditions by service name. */
export type ConditionTable = Readonly<Record<string, ServiceCondition>>;

/** Delay before attempt n+1 after n consecutive failures (n ≥ 1). */
export function backoffDelayMs(failures: number): number {
  return doublingBackoff(failures, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
}

/**
 * Folds one pass into the table. `full` passes drop services they did not see; targeted ones
 * touch only the services they read.
 */
export function recordOutcomes(table: ConditionTable, outcomes: readonly Outcome[], nowMs: number, full: boolean): ConditionTable {
  return produce(table, (draft) => {
    const seen = new Set<string>();
    for (const o of outcomes) {
      const again = seen.has(o.service);
      seen.add(o.service);
      if (o.kind === 'gone') {
        delete draft[o.service];
        continue;
      }
      // Read the previous condition from the base table (a draft read would proxy it), unless this
      // pass already changed it, and leave an unchanged one as it is: a quiet full pass over 1000
      // services then changes nothing.
      const prev = again ? (draft[o.service] as ServiceCondition | undefined) : table[o.service];
      const next = nextCondition(prev, o, nowMs);
      if (prev === undefined || !sameCondition(prev, next)) draft[o.service] = castDraft(next);
    }
    if (full) for (const service of Object.keys(draft)) if (!seen.has(service)) delete draft[service];
  });
}

/** Whether two conditions read the same (they are small plain data). */
function sameCondition(a: ServiceCondition, b: ServiceCondition): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function nextCondition(prev: ServiceCondition | undefined, o: Outcome, nowMs: number): ServiceCondition {
  const base = {
    service: o.service,
    profile: o.profile,
    restartPending: o.restartPending,
    drift: o.drift ?? [],
    ...(o.autostart === undefined ? {} : { autostart: o.autostart }),
    ...(o.live === undefined ? {} : { live: o.live }),
  };
  if (o.kind === 'held' && prev !== undefined && prev.condition === 'Failed') {
    const { live: _stale, ...rest } = prev;
    return { ...rest, ...base };
  }
  const condition = o.kind === 'ready' ? 'Ready' : o.kind === 'pending' ? 'Pending' : 'Failed';
  // Refusals count as failures, but attempted nothing: the first real failure after them backs off
  // as a first failure does (1 s), not as the N+1st (up to 5 min).
  const earlier = o.kind === 'failed' && o.refused !== true && prev?.refused === true ? 0 : (prev?.consecutiveFailures ?? 0);
  const failures = o.kind === 'failed' ? earlier + 1 : o.kind === 'held' ? earlier : 0;
  const reason = o.reason === undefined ? {} : { reason: o.reason };
  // A refusal attempted nothing: no retry is scheduled for it, and nothing is held back.
  const refused = o.kind === 'failed' && o.refused === true;
  const retry = o.kind === 'failed' && !refused ? { nextAttemptAtMs: nowMs + backoffDelayMs(failures) } : {};
  const sinceMs = prev !== undefined && prev.condition === condition ? prev.sinceMs : nowMs;
  return { ...base, condition, ...reason, consecutiveFailures: failures, ...retry, ...(refused ? { refused } : {}), sinceMs };
}

/** Services whose back-off has not expired: their operations are held back. */
export function heldServices(table: ConditionTable, nowMs: number): Set<string> {
  return new Set(
    failingOf(table)
      .filter((c) => (c.nextAttemptAtMs ?? 0) > nowMs)
      .map((c) => c.service),
  );
}

const failingByTable = new WeakMap<ConditionTable, readonly ServiceCondition[]>();

/**
 * The conditions with a pending retry. The watcher asks at every wake-up (under a gateway
 * heartbeat load, many times a second) while the table, immutable, changes only after a pass:
 * remembered per table object rather than a scan of every service each time.
 */
function failingOf(table: ConditionTable): readonly ServiceCondition[] {
  let failing = failingByTable.get(table);
  if (failing === undefined) {
    failing = Object.values(table).filter((c) => c.nextAttemptAtMs !== undefined);
    failingByTable.set(table, failing);
  }
  return failing;
}

/** The earliest pending retry: when, and which profiles it concerns. */
export function nextRetry(
  table: ConditionTable,
  nowMs: number,
): { readonly atMs: number; readonly profiles: readonly string[] } | undefined {
  const failing = failingOf(table);
  if (failing.length === 0) return undefined;
  const atMs = failing.reduce((earliest, c) => Math.min(earliest, c.nextAttemptAtMs ?? Infinity), Infinity); // no spread: unbounded
  const due = Math.max(atMs, nowMs);
  return { atMs, profiles: failing.filter((c) => (c.nextAttemptAtMs ?? Infinity) <= due).map((c) => c.profile) };
}

/** Moves every time in the table by `ms` (the wall clock stepped: src/watch/controller.ts). */
export function shiftTimes(table: ConditionTable, ms: number): ConditionTable {
  return produce(table, (draft) => {
    for (const c of Object.values(draft)) {
      c.sinceMs += ms;
      if (c.nextAttemptAtMs !== undefined) c.nextAttemptAtMs += ms;
    }
  });
}

/** Clears every back-off (SIGHUP: the operator asks for a retry now). */
export function clearBackoff(table: ConditionTable): ConditionTable {
  return produce(table, (draft) => {
    for (const c of Object.values(draft)) delete c.nextAttemptAtMs;
  });
}
