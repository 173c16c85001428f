/**
 * The `status` document (schemas/status-report.schema.json): per profile its intent, slot,
 * marker, live s6 state (decoded from supervise/status, no process per service), restart pending
 * and drift, plus the watcher's last pass from its status file. Built from a dry-run pass.
 */
import path from 'node:path';
import { shellWord } from '../escape.js';
import type { LiveStatus, ObservedProfile, ObservedSlot, Operation, ProfileDecision } from '../model.js';
import type { PassResult } from '../reconcile.js';
import { describeEvidence, neverDied } from '../desired/drift.js';
import { FINISH_FAILURE_EXIT, GATEWAY_LOGS_DIR } from '../model/constants.js';
import { type DriftReport, driftReport } from '../watch/status-file.js';

/** Live state of one service as `status` reports it. */
export interface LiveReport {
  readonly supervised: boolean;
  readonly up: boolean;
  readonly pid: number | null;
  /** Seconds since the last up/down transition. */
  readonly forSeconds: number;
  readonly since: string;
  readonly wantedUp: boolean;
  readonly ready: boolean;
  readonly finishing: boolean;
  readonly lastExit: { readonly code: number } | { readonly signal: number } | null;
  /** Down, not wanted up, marker up, after run exited 78 and our finish turned it into 125 (see liveReport). */
  readonly permanentFailure: boolean;
}

/** One row of the report. */
export interface StatusRow {
  readonly profile: string;
  readonly service: string;
  readonly intent: {
    readonly stateFile: 'parsed' | 'missing' | 'unreadable' | 'unknown';
    readonly desiredState: string | null;
    readonly gatewayState: string | null;
    readonly action: ProfileDecision['action'] | null;
    readonly autostart: boolean | null;
    readonly reason?: string;
  };
  readonly slot: {
    readonly present: boolean;
    readonly kind: ObservedSlot['entry'] | null;
    readonly owned: boolean;
    readonly marker: 'up' | 'down' | null;
  };
  readonly live: LiveReport | null;
  readonly restartPending: boolean;
  readonly drift: readonly string[];
  /** Where live state disagrees with intent (src/desired/drift.ts), with since-when and evidence. */
  readonly driftConditions: readonly DriftReport[];
  readonly watcher: { readonly condition: string; readonly consecutiveFailures: number; readonly reason?: string } | null;
}

/** Watcher conditions by service, as read from the status file. */
export type WatcherConditions = ReadonlyMap<string, { condition: string; consecutiveFailures: number; reason?: string }>;

/** Builds the rows: one per profile decision, plus one per slot without a profile. */
export function statusRows(result: PassResult, nowMs: number, watcher: WatcherConditions, scandir: string): StatusRow[] {
  const profiles = new Map(result.observed.home.profiles.map((p) => [p.name, p]));
  const ops = new Map<string, Operation[]>();
  for (const op of result.plan.operations) ops.set(op.service, [...(ops.get(op.service) ?? []), op]);
  const restart = new Set(result.plan.restartPending);
  const drifts = new Map<string, DriftReport[]>();
  for (const d of result.drift) drifts.set(d.service, [...(drifts.get(d.service) ?? []), driftReport(d, nowMs)]);
  const rows = new Map<string, StatusRow>();
  const add = (service: string, profile: string, d: ProfileDecision | undefined): void => {
    const slot = result.observed.scandir.slots.get(service);
    const finishOurs = slot !== undefined && slot.owned && !(ops.get(service) ?? []).some(rewritesFinish);
    const live = slot?.live === undefined ? null : liveReport(slot.live, { hasDownMarker: slot.hasDownMarker, finishOurs }, nowMs);
    rows.set(service, {
      profile,
      service,
      intent: intentOf(profiles.get(profile), d),
      slot: slotOf(slot),
      live,
      restartPending: restart.has(service),
      drift: driftOf({ ops: ops.get(service) ?? [], live, slot, decision: d, conditions: drifts.get(service) ?? [], scandir }),
      driftConditions: drifts.get(service) ?? [],
      watcher: watcher.get(service) ?? null,
    });
  };
  for (const d of result.desired.decisions) add(d.service, d.profile, d);
  for (const slot of result.observed.scandir.slots.values()) if (!rows.has(slot.service)) add(slot.service, slot.profile, undefined);
  return [...rows.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

function intentOf(p: ObservedProfile | undefined, d: ProfileDecision | undefined): StatusRow['intent'] {
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const state = p?.state;
  return {
    stateFile: state === undefined ? 'unknown' : state.kind,
    desiredState: state?.kind === 'parsed' ? text(state.desiredState) : null,
    gatewayState: state?.kind === 'parsed' ? text(state.gatewayState) : null,
    action: d?.action ?? null,
    autostart: d === undefined || d.action === 'pending' || d.action === 'skipped' ? null : d.autostart,
    ...(d?.reason === undefined ? {} : { reason: d.reason }),
  };
}

function slotOf(slot: ObservedSlot | undefined): StatusRow['slot'] {
  if (slot === undefined) return { present: false, kind: null, owned: false, marker: null };
  return { present: true, kind: slot.entry, owned: slot.owned, marker: slot.entry === 'dir' ? (slot.hasDownMarker ? 'down' : 'up') : null };
}

export { FINISH_FAILURE_EXIT } from '../model/constants.js';

function rewritesFinish(op: Operation): boolean {
  return op.kind === 'update' && op.changes.some((c) => c.path === 'finish');
}

/**
 * Decodes the derived fields the way s6-svstat shows them (s6-facts §5, §0 fact 10). s6 does not
 * record who cleared "want up": `finish` exiting 125 and an operator's `s6-svc -d` leave the same
 * flags. What it does record is how `run` ended, and our own `finish` (renderFinish) is a pure
 * function of that: it exits 125 for 78 (a failure) and 0 (a clean, intentional stop). So a slot
 * is a permanent failure only when its finish is ours and run exited 78; any other stop while
 * the marker says up is "stopped (s6 or operator)".
 */
export function liveReport(
  live: LiveStatus,
  slot: { readonly hasDownMarker: boolean; readonly finishOurs: boolean },
  nowMs: number,
): LiveReport {
  // A slot s6 never ran (held down by its marker, or one it cannot spawn) reports exit 0: no exit.
  const exited = !live.up && live.exitcode >= 0 && !neverDied(live);
  const stopped = live.supervised && !live.up && !live.finishing && !live.wantedUp && !slot.hasDownMarker;
  return {
    supervised: live.supervised,
    up: live.up,
    pid: live.up ? live.pid : null,
    forSeconds: Math.max(0, Math.floor(nowMs / 1000 - live.updownSinceUnix)),
    since: new Date(live.updownSinceUnix * 1000).toISOString(),
    wantedUp: live.wantedUp,
    ready: live.ready,
    finishing: live.finishing,
    lastExit: live.up ? null : live.signum >= 0 ? { signal: live.signum } : exited ? { code: live.exitcode } : null,
    permanentFailure: stopped && exited && slot.finishOurs && live.exitcode === FINISH_FAILURE_EXIT,
  };
}

/** What one row's `drift` lines are made from. */
interface RowFacts {
  /** The operations planned for the row's service. */
  readonly ops: readonly Operation[];
  readonly live: LiveReport | null;
  readonly slot: ObservedSlot | undefined;
  /** The profile's decision; undefined for a slot no profile stands behind. */
  readonly decision: ProfileDecision | undefined;
  /** The service's drift conditions (src/desired/drift.ts). */
  readonly conditions: readonly DriftReport[];
  /** The scandir's absolute path: the `s6-svc -u` a line prints names the slot by it. */
  readonly scandir: string;
}

/** What differs, for a person: planned operations, what s6 is doing, then the drift conditions. */
function driftOf(row: RowFacts): string[] {
  const { ops, live, slot, decision: d, conditions, scandir } = row;
  const drift = ops.map((op) => `${op.kind}: ${op.reason}`);
  const decided = d !== undefined && d.action !== 'pending' && d.action !== 'skipped';
  if (live !== null && slot !== undefined && slot.entry === 'dir' && decided) {
    if (!live.supervised) drift.push('live: not supervised (no s6-supervise holds the slot)');
    else if (d.autostart && !live.wantedUp) {
      // A down marker explains a slot s6 does not want up (the planned `up` is its note), so only
      // one whose marker says up was stopped by s6 or an operator. The command names the slot by
      // its path, so it runs as printed from anywhere.
      const service = shellWord(path.join(scandir, slot.service));
      if (live.permanentFailure)
        drift.push(`live: failed (exit 78, config error); s6 will not restart it: fix the cause, then s6-svc -u ${service}`);
      else if (!slot.hasDownMarker) drift.push(`live: stopped (s6 or operator); s6-svc -u ${service} starts it`);
    } else if (d.autostart && live.wantedUp && conditions.some((c) => c.type === 'IntentRunningButDown')) {
      // Wanted up and down past the grace (the condition's own test, isDownPastGrace): s6-supervise
      // cannot spawn ./run (a missing interpreter, say) and retries every 10 s, keeping the down time
      // (s6-facts §3). The time is since it went down: s6 records no time for `want up`.
      drift.push(
        `live: wanted up, yet down for ${live.forSeconds} s: s6-supervise has not started ./run (can it run? s6-svscan's output says why)`,
      );
    } else if (!d.autostart && live.up) {
      // Multiplexing keeps a named gateway down whatever its intent: say that, not "intent".
      drift.push(`live: running although ${d.reason === undefined ? 'intent is not running' : `it should be down (${d.reason})`}`);
    }
  }
  for (const c of conditions) drift.push(driftConditionLine(c));
  return drift;
}

/** A drift condition as a line of the `drift` strings: `IntentRunningButDown for 45 s (exit 0)`. */
export function driftConditionLine(c: DriftReport): string {
  return `${c.type} for ${c.forSeconds} s${describeEvidence(c.evidence)}`;
}

/**
 * A drift condition as the table's NOTE says it (`CrashLooping 2m (exit 1, 9 restarts in 600 s)`),
 * with where to look: a crash loop's output is in its s6-log directory, but its stderr (a traceback)
 * is where s6-svscan's output goes, as ./run (upstream's bytes) sends only stdout to the logger; a
 * dead logger's own error is there too.
 */
export function driftNote(
  c: DriftReport,
  row: Pick<StatusRow, 'profile' | 'service' | 'intent'>,
  where: { readonly scandir: string; readonly hermesHome?: string | undefined },
): string {
  const line = `${c.type} ${duration(c.forSeconds)}${describeEvidence(c.evidence)}`;
  const logs = where.hermesHome === undefined ? undefined : path.join(where.hermesHome, GATEWAY_LOGS_DIR, row.profile);
  if (c.type === 'LoggerDown') return `${line}: ${loggerDownNote(c, row, where.scandir, logs)}`;
  return c.type === 'CrashLooping' && logs !== undefined
    ? `${line}: its output is logged in ${path.join(logs, 'current')}, its stderr (a traceback) where s6-svscan's goes (the container log)`
    : line;
}

/**
 * What a LoggerDown means for the gateway, and what to do: a logger that keeps dying cannot use its
 * directory (s6-log exits 111 and says why on s6-svscan's output); one that stays down was stopped
 * (`s6-svc -d`, a `log/down`) or cannot be spawned at all.
 */
function loggerDownNote(c: DriftReport, row: Pick<StatusRow, 'service' | 'intent'>, scandir: string, logs: string | undefined): string {
  const log = path.join(path.resolve(scandir), row.service, 'log');
  const effect =
    row.intent.autostart === true
      ? "its logger is not running: the gateway's output goes nowhere, and it hangs once the pipe fills"
      : 'its logger is not running: the gateway will hang once it starts and fills the pipe';
  if (c.evidence.restarts !== undefined)
    return `${effect}; s6-log keeps dying, and says why where s6-svscan's output goes (the container log): check that its directory${logs === undefined ? '' : ` ${logs}`} is a directory its user can write`;
  return `${effect}; s6-svc -u ${shellWord(log)} starts it if it was stopped (a log/down file keeps it down); if s6 cannot start log/run, s6-svscan's output (the container log) says why`;
}

/** `3d4h`, `5m12s`, `42s`. */
export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 999) return '>999d'; // a stamp from far back (or garbage) must not widen the table
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
