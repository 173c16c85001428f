/**
 * When the watcher runs its next pass, and over what. Pure: every clock value is an argument.
 * Full passes come from the interval (±10% jitter), SIGHUP, or a hint that only a full pass can
 * answer; targeted passes re-check the profiles that events named or whose back-off expired.
 * Events are debounced and passes keep a minimum gap, so a gateway that rewrites its state file
 * every second costs one small targeted pass per gap, not a storm of full passes.
 */
import { type Dirty, isDirty } from './hints.js';

/** Timing knobs of the watcher. */
export interface Timing {
  readonly intervalMs: number;
  /** Quiet time after the first event of a batch before acting on it. */
  readonly debounceMs: number;
  /** Least time from the end of one pass to the start of an event- or retry-driven one. */
  readonly minGapMs: number;
}

/** Everything the next decision depends on. */
export interface SchedulerState {
  readonly nowMs: number;
  readonly nextFullAtMs: number;
  readonly forced: boolean;
  readonly dirty: Dirty;
  /** End of the last pass, or undefined before the first one. */
  readonly lastPassEndMs: number | undefined;
  /** The earliest per-service retry, if any service is backing off. */
  readonly retry: { readonly atMs: number; readonly profiles: readonly string[] } | undefined;
  /** After a failed pass only the (backed-off) full retry or SIGHUP may run one. */
  readonly erroring: boolean;
}

/** Why a pass runs. */
export type Trigger = 'start' | 'interval' | 'signal' | 'event' | 'retry';

/** Every trigger of a watcher's passes. */
export const TRIGGERS = ['start', 'interval', 'signal', 'event', 'retry'] as const satisfies readonly Trigger[];

/** The scheduler's answer: run a pass now, or sleep. */
export type Step =
  | { readonly kind: 'run'; readonly scope: 'full'; readonly trigger: Trigger }
  | { readonly kind: 'run'; readonly scope: 'targeted'; readonly trigger: Trigger; readonly profiles: ReadonlySet<string> }
  | { readonly kind: 'wait'; readonly ms: number };

/** Decides the next step. */
export function nextStep(s: SchedulerState, t: Timing): Step {
  if (s.forced) return { kind: 'run', scope: 'full', trigger: 'signal' };
  if (s.nowMs >= s.nextFullAtMs) return { kind: 'run', scope: 'full', trigger: fullTrigger(s) };
  if (s.erroring) return { kind: 'wait', ms: s.nextFullAtMs - s.nowMs };
  const gapEnd = s.lastPassEndMs === undefined ? s.nowMs : s.lastPassEndMs + Math.min(t.minGapMs, t.intervalMs);
  const eventDue = isDirty(s.dirty) ? Math.max((s.dirty.sinceMs ?? s.nowMs) + t.debounceMs, gapEnd) : Infinity;
  const retryDue = s.retry === undefined ? Infinity : Math.max(s.retry.atMs, gapEnd);
  const due = Math.min(eventDue, retryDue);
  if (s.nowMs < due) return { kind: 'wait', ms: Math.min(due, s.nextFullAtMs) - s.nowMs };
  if (s.dirty.full) return { kind: 'run', scope: 'full', trigger: 'event' };
  const profiles = new Set<string>(s.nowMs >= eventDue ? s.dirty.profiles : []);
  if (s.retry !== undefined && s.nowMs >= retryDue) for (const p of s.retry.profiles) profiles.add(p);
  return { kind: 'run', scope: 'targeted', trigger: s.nowMs >= eventDue ? 'event' : 'retry', profiles };
}

/** Why a full pass that is due runs: the first, the one after a failed pass (backed off), or the interval's. */
function fullTrigger(s: SchedulerState): Trigger {
  if (s.lastPassEndMs === undefined) return 'start';
  return s.erroring ? 'retry' : 'interval';
}

/** The next full pass after one that started at `startMs`: the interval with ±10% jitter. */
export function nextFullAt(startMs: number, intervalMs: number, random: () => number): number {
  return startMs + intervalMs * (0.9 + 0.2 * random());
}
