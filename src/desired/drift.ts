/**
 * Drift: where the live s6 state disagrees with the persisted intent, and the heals `--heal`
 * plans for it. Pure and total: the time is an argument, every fact comes from observe (the
 * decoded `supervise/status` and s6's own death tally), the result is sorted.
 */
import type {
  DeathRecord,
  DesiredState,
  HealOp,
  LiveStatus,
  ObservedSlot,
  ObservedState,
  Operation,
  OperationResult,
  PickupOp,
  Plan,
} from '../model.js';
import { FINISH_FAILURE_EXIT, S6_DEATH_TALLY, doublingBackoff } from '../model/constants.js';

/** The drift conditions, by name (stable: alert rules and the JSON contracts use them). */
export type DriftType = 'IntentRunningButDown' | 'CrashLooping' | 'IntentStoppedButUp' | 'LoggerDown';

/** Every drift type, in report order. */
export const DRIFT_TYPES: readonly DriftType[] = ['IntentRunningButDown', 'CrashLooping', 'IntentStoppedButUp', 'LoggerDown'];

/** What the condition rests on, as s6 recorded it. */
export interface DriftEvidence {
  /** Exit code of the last death, when `./run` exited. */
  readonly exitcode?: number;
  /** Signal of the last death, when `./run` was killed. */
  readonly signal?: number;
  /** Deaths s6 recorded inside the crash-loop window. */
  readonly restarts?: number;
  /** The crash-loop window, in seconds. */
  readonly windowSeconds?: number;
  /**
   * s6's tally was full and its oldest record inside the window: earlier deaths were dropped, so
   * `restarts` and the condition's start are lower bounds (the loop is older and has died more).
   */
  readonly truncated?: boolean;
}

/** One drift condition of one service. */
export interface DriftCondition {
  readonly type: DriftType;
  readonly service: string;
  readonly profile: string;
  /** Since when it holds (unix seconds): the down/up transition, or the first death counted. */
  readonly sinceUnix: number;
  readonly evidence: DriftEvidence;
}

/** The thresholds of drift detection. */
export interface DriftPolicy {
  /** How long a running intent may be down before it is IntentRunningButDown. */
  readonly graceSeconds: number;
  /** More deaths than this inside the window is CrashLooping. */
  readonly crashRestarts: number;
  readonly crashWindowSeconds: number;
}

/** Defaults: 30 s of grace; more than 5 restarts in 10 minutes is a crash loop. */
export const DEFAULT_DRIFT_POLICY: DriftPolicy = { graceSeconds: 30, crashRestarts: 5, crashWindowSeconds: 600 };

/** First delay of the heal back-off (the watcher's retry back-off: 1 s doubling to 5 min). */
const HEAL_BACKOFF_BASE_SECONDS = 1;
/** Longest heal back-off step. */
const HEAL_BACKOFF_CAP_SECONDS = 300;

/** Why a pickup is planned: a person reads it in `--diff`, the op lines and `status`. */
export const PICKUP_REASON = 's6-svscan never picked the slot up; a rescan (s6-svscanctl -a) starts its supervisor';

/**
 * Our desired slots (owned, or `adopted` by this plan's update) no s6-supervise has ever run for
 * although an s6-svscan runs on the scandir:
 * slots written while it ran and never picked up (`boot` run by hand: boot leaves rescanning to
 * s6-overlay). Until a rescan starts their supervisors, an up or down reaches nobody. A slot kept
 * as it is (its intent is unreadable) is listed too: a rescan picks up every new slot at once,
 * and its supervisor keeps it up or down as its marker says. Not listed: a slot whose supervisor
 * died (s6-svscan restarts it by itself), and any while the services that are not waiting
 * already fill `maxServices` (s6-svscan's -c): a rescan could start none of them.
 */
export function awaitingSupervisor(
  observed: ObservedState,
  desired: DesiredState,
  maxServices: number,
  adopted: ReadonlySet<string> = new Set(),
): string[] {
  if (!observed.scandir.svscanLive) return [];
  const out: string[] = [];
  for (const spec of desired.services.values()) {
    const slot = observed.scandir.slots.get(spec.service);
    if (slot === undefined || !(slot.owned || adopted.has(spec.service))) continue;
    if (slot.entry === 'dir' && slot.dir.kind === 'dir' && slot.live === undefined) out.push(spec.service);
  }
  return observed.scandir.serviceCount - out.length >= maxServices ? [] : out;
}

/** What planPickups plans from. */
export interface PickupInput {
  readonly observed: ObservedState;
  readonly desired: DesiredState;
  /** The diff's plan: a slot its update adopts is ours by the rescan, one it refuses never is. */
  readonly plan: Plan;
  /** s6-svscan's -c: while the services not awaiting fill it, a rescan could start none. */
  readonly maxServices: number;
  /** Slots a watcher already had s6-svscan rescan for (rememberPickups): no pickup again. */
  readonly rescanned: ReadonlySet<string>;
}

/**
 * The pickups a `sync` or `watch` pass adds to the diff's `plan`: one per slot awaiting its supervisor, except those a
 * watcher already had s6-svscan rescan for (`rescanned`, see rememberPickups), so a slot s6-svscan
 * refuses is not rescanned on every pass.
 */
export function planPickups(pass: PickupInput): PickupOp[] {
  const { observed, desired, plan, maxServices, rescanned } = pass;
  // A slot the plan adopts (an update of one without its ownership record) is ours by the rescan;
  // one it may not adopt (a refused update) is another tool's, never picked up.
  const adopted = new Set(plan.operations.filter((op) => op.kind === 'update' && op.refused !== true).map((op) => op.service));
  const pickups: PickupOp[] = [];
  for (const service of awaitingSupervisor(observed, desired, maxServices, adopted)) {
    const profile = desired.services.get(service)?.profile;
    if (profile !== undefined && !rescanned.has(service)) pickups.push({ kind: 'pickup', service, profile, reason: PICKUP_REASON });
  }
  return pickups;
}

/**
 * What a watcher remembers of its rescans: the slots of the pickups it applied, plus those it
 * remembered before; a pass that read the whole scandir forgets the ones no longer awaiting
 * (supervised since, or gone), so a slot that comes back unsupervised is picked up again.
 */
export function rememberPickups(
  rescanned: ReadonlySet<string>,
  awaiting: readonly string[],
  full: boolean,
  applied: readonly string[],
): ReadonlySet<string> {
  const now = new Set(awaiting);
  return new Set([...[...rescanned].filter((s) => !full || now.has(s)), ...applied]);
}

/** Detects the drift conditions of every slot the desired state has a decided intent for. */
export function detectDrift(observed: ObservedState, desired: DesiredState, nowUnix: number, policy: DriftPolicy): DriftCondition[] {
  const out: DriftCondition[] = [];
  for (const spec of desired.services.values()) {
    if (desired.keep.has(spec.service)) continue;
    const slot = observed.scandir.slots.get(spec.service);
    const live = slot?.live;
    if (slot === undefined || slot.entry !== 'dir' || live === undefined || !live.supervised) continue;
    const base = { service: spec.service, profile: spec.profile };
    if (spec.autostart && isDownPastGrace(live, nowUnix, policy.graceSeconds)) {
      const evidence = neverDied(live) ? {} : lastExit(live);
      out.push({ ...base, type: 'IntentRunningButDown', sinceUnix: live.updownSinceUnix, evidence });
    }
    const deaths = live.deaths ?? [];
    const loop = recentDeaths(deaths, loopEnd(spec.autostart, live, nowUnix), policy.crashWindowSeconds);
    const first = loop[0];
    if (first !== undefined && loop.length > policy.crashRestarts) {
      const truncated = deaths.length >= S6_DEATH_TALLY && first === deaths[0] ? { truncated: true } : {};
      const evidence = {
        ...exitOf(loop[loop.length - 1] ?? first),
        restarts: loop.length,
        windowSeconds: policy.crashWindowSeconds,
        ...truncated,
      };
      out.push({ ...base, type: 'CrashLooping', sinceUnix: first.atUnix, evidence });
    }
    if (!spec.autostart && live.up) out.push({ ...base, type: 'IntentStoppedButUp', sinceUnix: live.updownSinceUnix, evidence: {} });
    const logger = slot.loggerLive === undefined ? undefined : loggerDown(slot.loggerLive, nowUnix, policy);
    if (logger !== undefined) out.push({ ...base, type: 'LoggerDown', ...logger });
  }
  return out.sort(compareDrift);
}

/**
 * LoggerDown: the slot's s6-log is down past the grace (held down, or s6 cannot spawn it), or dies
 * more than `crashRestarts` times in the window (it cannot make or write its log directory, say).
 * The gateway's output then goes nowhere: once the pipe's buffer fills, its writes block and a
 * gateway that reads as up hangs. Whatever the gateway's intent: s6 runs the logger regardless.
 */
function loggerDown(logger: LiveStatus, nowUnix: number, policy: DriftPolicy): Pick<DriftCondition, 'sinceUnix' | 'evidence'> | undefined {
  if (!logger.supervised) return undefined;
  const deaths = logger.deaths ?? [];
  const loop = recentDeaths(deaths, loopEnd(true, logger, nowUnix), policy.crashWindowSeconds);
  const first = loop[0];
  if (first !== undefined && loop.length > policy.crashRestarts) {
    const truncated = deaths.length >= S6_DEATH_TALLY && first === deaths[0] ? { truncated: true } : {};
    const last = exitOf(loop[loop.length - 1] ?? first);
    return {
      sinceUnix: first.atUnix,
      evidence: { ...last, restarts: loop.length, windowSeconds: policy.crashWindowSeconds, ...truncated },
    };
  }
  if (!isDownPastGrace(logger, nowUnix, policy.graceSeconds)) return undefined;
  return { sinceUnix: logger.updownSinceUnix, evidence: neverDied(logger) ? {} : lastExit(logger) };
}

/**
 * The operations that change what s6 runs. An `update` or boot's housekeeping only writes files,
 * and a `purge` acts on a trash entry, not on a live slot that may have come back under its name.
 */
const LIVE_KINDS: ReadonlySet<Operation['kind']> = new Set(['create', 'up', 'down', 'heal', 'restart', 'remove', 'pickup']);

/**
 * The drift to report once a pass applied `results`. Drift is read before the pass acts: a service
 * it just started, stopped, restarted, healed, created or removed is converging, so its drift
 * (IntentStoppedButUp right after the `down`, say) waits until a pass sees s6 again.
 */
export function driftAfter(drift: readonly DriftCondition[], results: readonly OperationResult[]): readonly DriftCondition[] {
  const acted = new Set(results.filter((r) => r.status === 'applied' && LIVE_KINDS.has(r.op.kind)).map((r) => r.op.service));
  return acted.size === 0 ? drift : drift.filter((d) => !acted.has(d.service));
}

/**
 * The shortest time a service s6 wants up must be down to count as not starting: s6-supervise
 * starts `./run` again at most 1 s after the last start, so a service it restarts is down for about
 * a second at a time, however short `--drift-grace` is; one it cannot spawn stays down (it retries
 * every 10 s and keeps the down time).
 */
export const WANTED_UP_DOWN_MIN_SECONDS = 3;

/**
 * Down for longer than the grace: held down (s6 will not start it again: finish exited 125, or
 * `s6-svc -d`), or wanted up yet not started for longer than s6's own restarts ever take, because
 * s6-supervise cannot spawn `./run` (a missing interpreter). A running `finish` is neither.
 */
export function isDownPastGrace(live: LiveStatus, nowUnix: number, graceSeconds: number): boolean {
  if (live.up || live.finishing) return false;
  const min = live.wantedUp ? Math.max(graceSeconds, WANTED_UP_DOWN_MIN_SECONDS) : graceSeconds;
  return nowUnix - live.updownSinceUnix > min;
}

/**
 * Whether the service never ran (or never ended) under its s6-supervise: s6 reports exit 0 then,
 * which is none of its own. That takes an empty death tally (truncated when s6-supervise starts)
 * and a status of exit 0: a tally emptied by `s6-svdt-clear`, or not kept (`max-death-tally` 0),
 * beside an exit 78 or a signal still has a death to show. Unknown (no tally read) counts as not.
 */
export function neverDied(live: LiveStatus): boolean {
  return live.deaths !== undefined && live.deaths.length === 0 && live.exitcode <= 0 && live.signum < 0;
}

/**
 * Where the crash-loop window ends: now, except for a gateway meant to run that has stayed down
 * since its last death: then at that death. A loop that ended with the gateway held down is not
 * over until it runs again, so its deaths ageing out of the window never make it healable again
 * (that restarted a gateway that always fails every few minutes, forever, and reset its alerts).
 */
function loopEnd(autostart: boolean, live: LiveStatus, nowUnix: number): number {
  if (!autostart || live.up) return nowUnix;
  const last = Math.max(...(live.deaths ?? []).map((d) => d.atUnix));
  return Number.isFinite(last) && last < nowUnix ? last : nowUnix;
}

function recentDeaths(deaths: readonly DeathRecord[], nowUnix: number, windowSeconds: number): DeathRecord[] {
  return deaths.filter((d) => d.atUnix > nowUnix - windowSeconds && d.atUnix <= nowUnix + 1);
}

function lastExit(live: LiveStatus): DriftEvidence {
  return live.signum >= 0 ? { signal: live.signum } : live.exitcode >= 0 ? { exitcode: live.exitcode } : {};
}

function exitOf(d: DeathRecord): DriftEvidence {
  return d.signum >= 0 ? { signal: d.signum } : d.exitcode >= 0 ? { exitcode: d.exitcode } : {};
}

function compareDrift(a: DriftCondition, b: DriftCondition): number {
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  return DRIFT_TYPES.indexOf(a.type) - DRIFT_TYPES.indexOf(b.type);
}

/** The heal back-off step after `deaths` recent deaths, in seconds: 1, 2, 4 … at most 300. */
export function healBackoffSeconds(deaths: number): number {
  return doublingBackoff(deaths, HEAL_BACKOFF_BASE_SECONDS, HEAL_BACKOFF_CAP_SECONDS);
}

/**
 * The heals `--heal` applies: each IntentRunningButDown service that is not CrashLooping, whose
 * `down` marker is absent (otherwise the plan's `up` already starts it), and that has stayed down
 * for a whole back-off step counted from s6's recent deaths — so every heal that fails again
 * (one more death) doubles the wait, and the crash-loop threshold ends the attempts.
 */
export function planHeals(observed: ObservedState, drift: readonly DriftCondition[], nowUnix: number, policy: DriftPolicy): HealOp[] {
  return splitHeals(observed, drift, nowUnix, policy).heals;
}

/** A heal `--heal` holds back for now: the service has not been down for a whole back-off step. */
export interface HealWait {
  readonly service: string;
  /** Seconds until the step has passed (at least 1). */
  readonly inSeconds: number;
  /** Deaths s6 recorded inside the crash-loop window, which set the step. */
  readonly deaths: number;
}

/** The heals planHeals holds back for their back-off step, so a `sync --heal` that heals nothing can say why. */
export function healsWaiting(observed: ObservedState, drift: readonly DriftCondition[], nowUnix: number, policy: DriftPolicy): HealWait[] {
  return splitHeals(observed, drift, nowUnix, policy).waiting;
}

/**
 * The IntentRunningButDown services `--heal` leaves alone because s6 already wants them up: it
 * cannot spawn `./run`, and an `s6-svc -u` would change nothing. So `sync --heal` can say why.
 */
export function healsPointless(observed: ObservedState, drift: readonly DriftCondition[], nowUnix: number, policy: DriftPolicy): string[] {
  return splitHeals(observed, drift, nowUnix, policy).pointless;
}

/**
 * The IntentRunningButDown services `--heal` leaves alone because their `./run` last exited 78, a
 * config error, which our `finish` (a slot of ours) turns into "do not restart" as upstream does: a
 * heal would only run it into the same error (and reset the condition's time, and its alert, each
 * time). `status` shows them `failed`.
 */
export function healsRefused(observed: ObservedState, drift: readonly DriftCondition[], nowUnix: number, policy: DriftPolicy): string[] {
  return splitHeals(observed, drift, nowUnix, policy).configErrors;
}

/**
 * The IntentRunningButDown services `--heal` may heal, split into those due now and those waiting
 * for their step, and the services it leaves alone: s6 already wants them up, or they exited 78.
 */
function splitHeals(
  observed: ObservedState,
  drift: readonly DriftCondition[],
  nowUnix: number,
  policy: DriftPolicy,
): { heals: HealOp[]; waiting: HealWait[]; pointless: string[]; configErrors: string[] } {
  const looping = new Set(drift.filter((d) => d.type === 'CrashLooping').map((d) => d.service));
  const heals: HealOp[] = [];
  const waiting: HealWait[] = [];
  const pointless: string[] = [];
  const configErrors: string[] = [];
  for (const d of drift) {
    if (d.type !== 'IntentRunningButDown' || looping.has(d.service)) continue;
    const slot: ObservedSlot | undefined = observed.scandir.slots.get(d.service);
    if (slot === undefined || slot.hasDownMarker || slot.live === undefined) continue;
    if (slot.live.wantedUp) {
      pointless.push(d.service);
      continue;
    }
    if (d.evidence.exitcode === FINISH_FAILURE_EXIT && slot.owned) {
      configErrors.push(d.service);
      continue;
    }
    const deaths = recentDeaths(slot.live.deaths ?? [], nowUnix, policy.crashWindowSeconds).length;
    const step = healBackoffSeconds(deaths);
    if (nowUnix - d.sinceUnix < step) {
      waiting.push({ service: d.service, inSeconds: Math.max(1, Math.ceil(step - (nowUnix - d.sinceUnix))), deaths });
      continue;
    }
    const reason = `intent is running; s6 has held it down for ${Math.floor(nowUnix - d.sinceUnix)} s${describeEvidence(d.evidence)}`;
    heals.push({
      kind: 'heal',
      service: d.service,
      profile: d.profile,
      reason,
      ...(slot.identity === undefined ? {} : { expect: slot.identity }),
    });
  }
  return { heals, waiting, pointless, configErrors };
}

/** ` (exit 0)`, ` (signal 9, 3 restarts in 600 s)` or ``: the evidence for a human. */
export function describeEvidence(e: DriftEvidence): string {
  const parts: string[] = [];
  if (e.exitcode !== undefined) parts.push(`exit ${e.exitcode}`);
  if (e.signal !== undefined) parts.push(`signal ${e.signal}`);
  if (e.restarts !== undefined) parts.push(`${e.restarts}${e.truncated === true ? '+' : ''} restarts in ${e.windowSeconds ?? 0} s`);
  if (e.truncated === true) parts.push(`s6 keeps only the last ${S6_DEATH_TALLY} deaths: the loop is older`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
