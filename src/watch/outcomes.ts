/**
 * What one pass meant for each service it looked at: converged, pending, failed, held back, or
 * gone. Pure: derived from a PassResult, it feeds the watcher's condition table.
 */
import type { PassResult } from '../reconcile.js';
import type { DriftCondition } from '../desired/drift.js';
import type { LiveStatus, Operation, ProfileDecision } from '../model.js';
import { isRefused } from '../diff/index.js';
import { REMOVE_WAITS } from '../model/constants.js';

/** s6's view of a slot, in one word (the metrics' and status file's `live`). */
export type LiveState = 'up' | 'down' | 'finishing' | 'unsupervised';

/** One service's result in a pass. */
export interface Outcome {
  readonly service: string;
  readonly profile: string;
  readonly kind: 'ready' | 'pending' | 'failed' | 'held' | 'gone';
  readonly reason?: string;
  /**
   * Failed only by refused operations (an adoption or removal refused when planned): nothing was
   * attempted, so there is no back-off; every pass that reads the slot looks again.
   */
  readonly refused?: true;
  readonly restartPending: boolean;
  /** The intent, when the pass decided one. */
  readonly autostart?: boolean;
  /** s6's view of the slot, when s6-svscan runs and the slot was ever supervised. */
  readonly live?: LiveState;
  /** Drift conditions of the slot (none when absent). */
  readonly drift?: readonly DriftCondition[];
}

/** One word for a decoded `supervise/status`. */
export function liveStateOf(live: LiveStatus): LiveState {
  return !live.supervised ? 'unsupervised' : live.up ? 'up' : live.finishing ? 'finishing' : 'down';
}

/** Outcomes of every service a pass read (its slots, decisions and operations). */
export function passOutcomes(result: PassResult): Outcome[] {
  const facts = passFacts(result);
  const profileOf = new Map<string, string>();
  for (const d of result.desired.decisions) profileOf.set(d.service, d.profile);
  for (const s of result.observed.scandir.slots.values()) profileOf.set(s.service, s.profile);
  for (const op of [...result.plan.operations, ...result.held]) profileOf.set(op.service, op.profile);

  const out: Outcome[] = [];
  for (const [service, profile] of profileOf) out.push(outcomeOf(result, facts, service, profile));
  return out.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

/** What a pass says of its services, by service name. */
interface PassFacts {
  /** Services whose restart is still pending. */
  readonly restart: ReadonlySet<string>;
  readonly decisions: ReadonlyMap<string, ProfileDecision>;
  /** The error of each service with a failed operation (a purge's only when its name is not in the scandir). */
  readonly failed: ReadonlyMap<string, string>;
  /** Of the failed services, those with a failure to retry with back-off (not one refused when planned). */
  readonly attempted: ReadonlySet<string>;
  /** Services whose slot this pass removed. */
  readonly removed: ReadonlySet<string>;
  /** The operation held back of each service still backing off. */
  readonly held: ReadonlyMap<string, Operation>;
  readonly drift: ReadonlyMap<string, DriftCondition[]>;
}

/** Indexes what `result` says of its services by name. */
function passFacts(result: PassResult): PassFacts {
  const restart = new Set(result.plan.restartPending);
  const decisions = new Map(result.desired.decisions.map((d) => [d.service, d]));
  // A purge is of a trashed slot: when a slot of the same name is in the scandir (its profile came
  // back), the purge's failure is the trash's, not that slot's (the trash shows in status warnings).
  const inScandir = (service: string): boolean =>
    result.observed.scandir.slots.has(service) || (decisions.get(service)?.action ?? 'skipped') !== 'skipped';
  const failures = result.results.filter((r) => r.status === 'failed' && !(r.op.kind === 'purge' && inScandir(r.op.service)));
  const failed = new Map(failures.map((r) => [r.op.service, r.error ?? 'failed']));
  // A remove refused while its trash twin is stopped (REMOVE_WAITS) succeeds once that is done, which
  // no file event announces: it is retried with back-off like a failure, not left to the interval.
  const attempted = new Set(failures.filter((r) => !isRefused(r.op) || r.op.reason === REMOVE_WAITS).map((r) => r.op.service));
  const removed = new Set(result.results.filter((r) => r.status === 'applied' && r.op.kind === 'remove').map((r) => r.op.service));
  const held = new Map(result.held.map((op) => [op.service, op]));
  const drift = new Map<string, DriftCondition[]>();
  for (const d of result.drift) drift.set(d.service, [...(drift.get(d.service) ?? []), d]);
  return { restart, decisions, failed, attempted, removed, held, drift };
}

/** One service's outcome in the pass. */
function outcomeOf(result: PassResult, facts: PassFacts, service: string, profile: string): Outcome {
  const live = result.observed.scandir.slots.get(service)?.live;
  const base = {
    service,
    profile,
    restartPending: facts.restart.has(service),
    drift: facts.drift.get(service) ?? [],
    ...(live === undefined ? {} : { live: liveStateOf(live) }),
  };
  const d = facts.decisions.get(service);
  // Pending for its slot (not adopted): the metrics' `intent` is what it would do once adopted
  // (only a state file missing or unreadable is `unknown`). Nothing starts or stops meanwhile.
  const intent =
    d === undefined || d.action === 'skipped' || (d.action === 'pending' && d.wouldStart === undefined)
      ? {}
      : { autostart: d.action === 'pending' ? d.wouldStart === true : d.autostart };
  const slot = result.observed.scandir.slots.get(service);
  const error = facts.failed.get(service);
  const heldOp = facts.held.get(service);
  if (error !== undefined)
    return { ...base, ...intent, kind: 'failed', reason: error, ...(facts.attempted.has(service) ? {} : { refused: true }) };
  if (heldOp !== undefined) return { ...base, ...intent, kind: 'held', reason: `${heldOp.kind} held back after failures` };
  if (facts.removed.has(service) || (slot === undefined && (d === undefined || d.action === 'skipped'))) return { ...base, kind: 'gone' };
  if (d?.action === 'pending') return { ...base, kind: 'pending', reason: d.reason ?? 'intent unknown' };
  if (d === undefined || d.action === 'skipped') return { ...base, kind: 'pending', reason: keptReason(result, service) };
  return { ...base, ...intent, kind: 'ready' };
}

function keptReason(result: PassResult, service: string): string {
  const slot = result.observed.scandir.slots.get(service);
  if (result.desired.gone.has(service)) {
    if (slot !== undefined && !slot.owned) return 'profile deleted; slot not created by this tool, left in place';
    return result.desired.pruneBlocked !== undefined
      ? 'profile deleted; removal blocked by the empty-set guard'
      : 'profile deleted; pruning is off';
  }
  return 'no usable profile for this slot; left as it is';
}
