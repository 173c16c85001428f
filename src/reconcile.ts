/**
 * One reconcile pass, in two steps: `planPass` (observe → buildDesired → diff; no writes, no
 * lock) and `applyPass` (actuate → re-observe). The re-observed plan must be empty for every
 * operation that applied; anything left is a bug and reported as such.
 */
import type { DesiredState, HostFacts, Mode, ObservedState, Operation, OperationResult, Plan, Settings } from './model.js';
import { buildDesired } from './desired/index.js';
import { renderSlotFiles } from './desired/render.js';
import { MAX_PROFILE_NAME } from './model/names.js';
import {
  DEFAULT_DRIFT_POLICY,
  type DriftCondition,
  type DriftPolicy,
  detectDrift,
  driftAfter,
  planHeals,
  planPickups,
} from './desired/drift.js';
import { type DiffOptions, diffStates, holdBack, isRefused, journalKeep, prunableSlots, withLiveOps } from './diff/index.js';
import { type Scope, type ReadCache, observe, observeScandir, probeRemovals, FOREIGN_LISTED_MAX } from './observe/index.js';
import { type ApplyContext, appendBootLog, applyPlan, formatBootLogLines, formatBootTimestamp } from './actuate/index.js';
import { type Dir, type Owner, lstatAt } from './safe-fs/index.js';
import { STATE_DIR, foreignStateOf, stickyWarning } from './state-dir/index.js';
import { namesInProse } from './model/text.js';
import { PASS_USER } from './model/constants.js';
import { quoted } from './escape.js';

/** What a pass is asked to do: the production options, nothing for tests. */
export interface PassOptions {
  readonly mode: Mode;
  readonly home: Dir;
  /** Open scandir, or undefined when it does not exist (then the pass can only be planned). */
  readonly scandir: Dir | undefined;
  readonly hermesHome: string;
  readonly settings: Settings;
  /** Container facts and the pass's clock (drift is measured against it too). */
  readonly host: HostFacts;
  readonly prune: boolean;
  readonly allowEmpty: boolean;
  readonly restartChanged: boolean;
  readonly isRoot: boolean;
  /**
   * Total wait for removed slots' supervisors in this pass (ApplyContext.removalWaitMs; default
   * REMOVAL_WAIT_BUDGET_MS): `watch` passes a shorter one so it stays responsive to SIGTERM.
   */
  readonly removalWaitMs?: number;
  /** A targeted pass: only these profiles and their slots are read, planned and applied. */
  readonly scope?: Scope;
  /** Services whose operations are planned but not applied in this pass (`watch` back-off). */
  readonly hold?: ReadonlySet<string>;
  /** Drift thresholds (default: 30 s grace, more than 5 restarts in 10 min is a crash loop). */
  readonly drift?: DriftPolicy;
  /** Plan a `heal` for each IntentRunningButDown service (`--heal`); off: drift is reported only. */
  readonly heal?: boolean;
  /** `watch`: slot and state files its earlier passes read, re-read only when they changed. */
  readonly readCache?: ReadCache;
  /** `watch`: slots its earlier passes had s6-svscan rescan for (rememberPickups): no pickup again. */
  readonly rescanned?: ReadonlySet<string>;
}

/** What a pass saw and planned. */
export interface PassPlan {
  readonly options: PassOptions;
  readonly observed: ObservedState;
  readonly desired: DesiredState;
  /** The operations to apply (held services' operations excluded). */
  readonly plan: Plan;
  /** Operations planned for held services and not applied. */
  readonly held: readonly Operation[];
  /** Lines boot appends to the boot log (the one write outside the plan: a record, not a change). */
  readonly bootLogLines: number;
  readonly warnings: readonly string[];
  /** Drift conditions of the services this pass read, as observed before applying. */
  readonly drift: readonly DriftCondition[];
}

/** What a pass saw, planned and did. */
export interface PassResult extends PassPlan {
  /** One per applied operation; empty for a pass that was only planned. */
  readonly results: readonly OperationResult[];
}

/** Test seams of `applyPass`, never set by the CLI. */
export interface TestSeams {
  /** Called just before each operation takes effect; whatever it throws fails that operation. */
  readonly beforeOperation?: (op: Operation) => void;
  /** Called after a removed slot reached the trash, before `-an` (the crash-trial point). */
  readonly afterTrash?: ApplyContext['afterTrash'];
  readonly sleep?: (ms: number) => void;
}

/** s6-svscan's default `-c`: more services than this are not supervised (s6-facts §3.8). */
export const SVSCAN_DEFAULT_MAX = 500;

/**
 * The largest slot file a pass reads: twice the largest file this config renders (for a profile
 * name of the longest kind), at least 4 KiB. A bigger one cannot be ours and is rewritten unread,
 * so slots the hermes user made ahead of new profiles, with files hard-linked to a large one, cost
 * a pass little memory.
 */
function slotFileCap(settings: Settings): number {
  const name = 'a'.repeat(MAX_PROFILE_NAME);
  const sizes = renderSlotFiles(`${settings.servicePrefix}${name}`, name, settings).map((f) => Buffer.byteLength(f.content));
  return Math.max(4096, 2 * Math.max(0, ...sizes));
}

/** Observes, decides and plans. Writes nothing and takes no lock. */
export function planPass(o: PassOptions): PassPlan {
  const read = observe(o.home, o.scandir, o.settings, {
    ...(o.scope === undefined ? {} : { scope: o.scope }),
    ...(o.readCache === undefined ? {} : { readCache: o.readCache }),
    runtimeFiles: o.mode === 'boot',
    slotFileCap: slotFileCap(o.settings),
  });
  const desired = buildDesired({
    observed: read,
    settings: o.settings,
    mode: o.mode,
    hermesHome: o.hermesHome,
    allowEmpty: o.allowEmpty,
    host: o.host,
  });
  const observed = withRemovalProbes(o, read, desired);
  const nowUnix = o.host.nowMs / 1000;
  const policy = o.drift ?? DEFAULT_DRIFT_POLICY;
  // Drift from whatever live state observe read (none while no s6-svscan runs, or for an
  // applying pass that cannot tell whether one does).
  const drift = detectDrift(observed, desired, nowUnix, policy);
  const heals = o.heal === true ? planHeals(observed, drift, nowUnix, policy) : [];
  const diffed = diffStates(observed, desired, diffOptionsOf(o));
  // boot leaves rescanning to s6-overlay, as upstream does (gateways start after cont-init).
  const pickups =
    o.mode === 'sync'
      ? planPickups({ observed, desired, plan: diffed, maxServices: SVSCAN_DEFAULT_MAX, rescanned: o.rescanned ?? new Set() })
      : [];
  const { plan, held } = holdBack(withLiveOps(diffed, [...heals, ...pickups], diffOptionsOf(o).expectedUid), o.hold);
  const bootLogLines = o.mode === 'boot' ? desired.decisions.length : 0;
  const warnings = planWarnings(o, observed, desired, plan);
  return { options: o, observed, desired, plan, held, bootLogLines, warnings, drift };
}

/** The warnings of a planned pass: what it cannot do, or would do without a word, in print order. */
function planWarnings(o: PassOptions, observed: ObservedState, desired: DesiredState, plan: Plan): string[] {
  const warnings = capacityWarnings(o, observed, plan);
  const kept = keptWarning(o, observed, desired);
  if (kept !== undefined) warnings.push(kept);
  const unpicked = unpickedWarning(o, observed, plan);
  if (unpicked !== undefined) warnings.push(unpicked);
  const stray = otherPrefixWarning(observed, desired, o.settings.servicePrefix);
  if (stray !== undefined) warnings.push(stray);
  const unseen = liveDeniedWarning(observed);
  if (unseen !== undefined) warnings.push(unseen);
  const unlisted = observed.scandir.foreignUnlisted;
  if (unlisted !== undefined) warnings.push(foreignUnlistedWarning(unlisted));
  const sticky = o.scandir === undefined ? undefined : stickyWarning(o.scandir, o.settings);
  if (sticky !== undefined) warnings.push(sticky);
  const foreign = o.scandir === undefined ? undefined : foreignStateWarning(o.scandir, observed);
  if (foreign !== undefined) warnings.push(foreign);
  return warnings;
}

/**
 * What a non-root pass may not remove: the slots it would remove whose supervisors it cannot stop
 * (observe probes only those; root is never denied). Diff then plans their removal refused.
 */
function withRemovalProbes(o: PassOptions, observed: ObservedState, desired: DesiredState): ObservedState {
  if (o.isRoot || !o.prune || o.scandir === undefined) return observed;
  const removable = prunableSlots(observed, desired).map((slot) => slot.service);
  return removable.length === 0 ? observed : probeRemovals(o.scandir, observed, removable);
}

/** A planned pass as a result with nothing applied (`--diff`, `status`, a quiet watch look-ahead). */
export function unapplied(p: PassPlan): PassResult {
  return { ...p, results: [] };
}

/** Applies a plan, appends boot's log lines, and checks that what applied converged. */
export async function applyPass(p: PassPlan, seams: TestSeams = {}): Promise<PassResult> {
  const o = p.options;
  if (o.scandir === undefined) return unapplied(p);
  const warnings = [...p.warnings];
  const owner: Owner | undefined = o.isRoot ? { uid: o.settings.uid, gid: o.settings.gid } : undefined;
  const ctx: ApplyContext = {
    home: o.home,
    scandir: o.scandir,
    settings: o.settings,
    isRoot: o.isRoot,
    live: p.observed.scandir.svscanLive,
    rescan: o.mode === 'sync',
    journal: { present: p.observed.scandir.pendingRestarts.size > 0, keep: journalKeep(p.observed, p.held, o.scope?.services) },
    sleep: seams.sleep ?? ((ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)),
    ...(seams.beforeOperation === undefined ? {} : { beforeOperation: seams.beforeOperation }),
    ...(seams.afterTrash === undefined ? {} : { afterTrash: seams.afterTrash }),
    ...(o.removalWaitMs === undefined ? {} : { removalWaitMs: o.removalWaitMs }),
  };
  const applied = await applyPlan(p.plan, ctx);
  warnings.push(...applied.warnings);
  const denied = o.isRoot ? undefined : permissionWarning(applied.results);
  if (denied !== undefined) warnings.push(denied);
  if (p.plan.operations.length > 0) warnings.push(...verifyConverged(p, applied.results));
  if (o.mode === 'boot') {
    const failures = new Map<string, string[]>();
    for (const r of applied.results)
      if (r.status === 'failed')
        failures.set(r.op.profile, [...(failures.get(r.op.profile) ?? []), `${r.op.kind}: ${r.error ?? 'failed'}`]);
    const lines = formatBootLogLines(formatBootTimestamp(new Date(o.host.nowMs)), p.desired.decisions, failures);
    warnings.push(...appendBootLog(o.home, lines, o.settings.bootLogMaxBytes, owner));
  }
  return { ...p, results: applied.results, warnings, drift: driftAfter(p.drift, applied.results) };
}

/**
 * A non-root pass whose operations failed for want of permission: each error names its file, and
 * this says the fix once (mixed root and hermes runs leave slots the other may not change).
 */
function permissionWarning(results: readonly OperationResult[]): string | undefined {
  const denied = results.filter((r) => r.status === 'failed' && /\bE(?:ACCES|PERM)\b/.test(r.error ?? '')).length;
  if (denied === 0) return undefined;
  return (
    `${denied === 1 ? '1 operation' : `${denied} operations`} failed for want of permission (this pass runs as uid ${process.geteuid?.() ?? '?'}, not root): ` +
    `run boot, sync and watch over a scandir as one user, every time (${PASS_USER}), ` +
    'and as root give that user back what another run left it unable to change (chown -R the slots)'
  );
}

/**
 * What the pass's options ask of diff: whether it prunes and restarts changed gateways; a root
 * pass checks owners (uid 0); the pass's clock bounds trusted mtimes.
 */
function diffOptionsOf(o: PassOptions): DiffOptions {
  return { prune: o.prune, restartChanged: o.restartChanged, expectedUid: o.isRoot ? 0 : null, nowMs: o.host.nowMs };
}

/**
 * A state directory this user does not own privately (a pass run as another user made it) is
 * replaced by the next boot or sync (or watch pass that changes anything): said, with what that
 * pass takes over (the slots pending removal in its trash whose supervisors still run) and what it
 * drops.
 */
function foreignStateWarning(scandir: Dir, observed: ObservedState): string | undefined {
  const what = foreignStateOf(scandir);
  if (what === undefined) return undefined;
  const running = (observed.scandir.trash ?? []).map((e) => e.service);
  const takeOver =
    running.length === 0
      ? ''
      : `; ${namesInProse(running, 5)}, pending removal there with ${running.length === 1 ? 'its supervisor' : 'their supervisors'} still running, ${running.length === 1 ? 'moves' : 'move'} into the new trash, whose purge stops ${running.length === 1 ? 'it' : 'them'}`;
  return (
    `${scandir.path}/${STATE_DIR} is ${what}, not this user's private directory (did a pass run as another user make it?): ` +
    `the next boot or sync of this user (or watch pass that changes anything) replaces it, and its restart journal and the rest of its trash go with it${takeOver}; ` +
    `run every pass over a scandir as one user (${PASS_USER})`
  );
}

/**
 * The 500-service warning (s6-facts §3.8), for a sync pass that read the whole scandir: counted
 * as the scandir will be after the plan. A slot and its logger count once, as s6-svscan counts
 * them (checked: `-c 4` over six slots with loggers started four slots and their four loggers).
 */
function capacityWarnings(o: PassOptions, observed: ObservedState, plan: Plan): string[] {
  const count = (kind: Operation['kind']): number => plan.operations.filter((op) => op.kind === kind && !isRefused(op)).length;
  const n = observed.scandir.serviceCount + count('create') - count('remove');
  if (o.mode !== 'sync' || o.scope !== undefined || n <= SVSCAN_DEFAULT_MAX) return [];
  return [`${capacityWarning(n)}: the others are not started`];
}

/**
 * Slots of ours whose profile was deleted, kept because pruning is off (`--no-prune`): named, or
 * a gateway with no profile behind it would run on without a word.
 */
function keptWarning(o: PassOptions, observed: ObservedState, desired: DesiredState): string | undefined {
  if (o.mode !== 'sync' || o.prune) return undefined;
  const kept = prunableSlots(observed, desired).map((slot) => slot.service);
  if (kept.length === 0) return undefined;
  const which = namesInProse(kept.sort(), 5);
  const them = kept.length === 1 ? 'its slot is' : 'their slots are';
  const it = kept.length === 1 ? 'it' : 'them';
  // The empty-set guard would block that sync too: point at its warning, not at a removal it refuses.
  const then =
    desired.pruneBlocked === undefined
      ? `a sync without --no-prune removes ${it}`
      : `a sync without --no-prune would not remove ${it} either, as the empty-set guard's warning says`;
  return `${which}: profile deleted; ${them} kept because pruning is off (--no-prune); ${then}`;
}

/**
 * New slots a sync writes but cannot have picked up: this user may not tell s6-svscan to rescan
 * (not root). Said, or `(starts)` in the plan would promise a start nothing makes.
 */
function unpickedWarning(o: PassOptions, observed: ObservedState, plan: Plan): string | undefined {
  const unknown = observed.scandir.svscanUnknown;
  const created = plan.operations.filter((op) => op.kind === 'create').map((op) => op.service);
  if (o.mode !== 'sync' || unknown === undefined || created.length === 0) return undefined;
  const one = created.length === 1;
  return (
    `${namesInProse(created, 5)}: ${one ? 'a new slot' : 'new slots'}, but this user cannot tell s6-svscan to pick ${one ? 'it' : 'them'} up (${unknown}); ` +
    `${one ? 'it starts' : 'they start'} at its next scan: run s6-svscanctl -a on the scandir as root`
  );
}

/**
 * Slots whose live state this user may not read (a non-root pass outside their `supervise/` group):
 * the plan cannot know whether their gateways run, so it plans and reports as if they did not.
 */
function liveDeniedWarning(observed: ObservedState): string | undefined {
  const denied = [...observed.scandir.slots.values()].filter((slot) => slot.liveDenied === true).map((slot) => slot.service);
  if (denied.length === 0) return undefined;
  const one = denied.length === 1;
  return (
    `${namesInProse(denied.sort(), 5)}: this user may not read ${one ? 'its' : 'their'} live s6 state (supervise/status: permission denied), ` +
    `so whether ${one ? 'its gateway runs' : 'their gateways run'} is unknown: restarts pending and drift are not found for ${one ? 'it' : 'them'}; ` +
    `run as root, or as a member of the group of ${one ? 'its' : 'their'} supervise/, for all of it`
  );
}

/**
 * Slots of ours under another prefix (an earlier `servicePrefix`) for profiles this pass has a slot
 * for: their gateways may run beside the new slots' for the same profiles. Never touched, since
 * another reconcile-gateways with that prefix may own them (one for other profiles is not named).
 */
function otherPrefixWarning(observed: ObservedState, desired: DesiredState, prefix: string): string | undefined {
  const profiles = new Set([...desired.services.values()].map((spec) => spec.profile));
  const stray = (observed.scandir.otherPrefix ?? []).filter((s) => profiles.has(s.profile)).map((s) => s.service);
  if (stray.length === 0) return undefined;
  const it = stray.length === 1;
  return (
    `${namesInProse(stray, 5)}: ${it ? 'a slot' : 'slots'} of reconcile-gateways (${it ? 'its' : 'their'} ownership record says so) ` +
    `for ${it ? 'a profile' : 'profiles'} of this pass, not named with the service prefix ${quoted(prefix)}, left alone; ` +
    `if servicePrefix changed, ${it ? 'its gateway runs' : 'their gateways run'} beside the new slots: move ${it ? 'it' : 'them'} out of the scandir, then run s6-svscanctl -an on the scandir`
  );
}

/** Slot-named directories past observe's bound: neither listed nor touched. */
function foreignUnlistedWarning(n: number): string {
  return `${n} more directories in the scandir are named like slots but belong to no profile and were not made by this tool (only the first ${FOREIGN_LISTED_MAX} such are listed): left as they are; if nothing should be there, remove them`;
}

/** The scandir holds more services than s6-svscan supervises by default. */
export function capacityWarning(n: number): string {
  return `the scandir holds ${n} services (a logger counts with its service); s6-svscan supervises at most ${SVSCAN_DEFAULT_MAX} unless started with -c`;
}

/**
 * Re-observes what the pass changed and reports services whose applied operations did not
 * converge. Created slots are checked for presence only: they are renames of trees this pass just
 * wrote, and the render/observe symmetry behind them is what the property and idempotence tests
 * prove — re-reading every new slot would cost a quarter of a cold boot.
 */
function verifyConverged(p: PassPlan, results: readonly OperationResult[]): string[] {
  const o = p.options;
  const failed = new Set(results.filter((r) => r.status === 'failed').map((r) => r.op.service));
  for (const service of o.hold ?? []) failed.add(service);
  const applied = results.filter((r) => r.status === 'applied' && !failed.has(r.op.service));
  const bugs: string[] = [];
  for (const r of applied) {
    if (r.op.kind !== 'create' || o.scandir === undefined) continue;
    if (lstatAt(o.scandir, r.op.service)?.isDirectory() !== true) bugs.push(`bug: ${r.op.service} is missing after its create was applied`);
  }
  // Slot operations are re-read; home operations (seed, sweep) and restarts change no slot file.
  const slotKinds = new Set<Operation['kind']>(['update', 'up', 'down', 'remove']);
  const changed = new Set(applied.filter((r) => slotKinds.has(r.op.kind)).map((r) => r.op.service));
  if (changed.size === 0) return bugs;
  const after: ObservedState = {
    home: p.observed.home,
    scandir: observeScandir(o.scandir, o.settings, changed, { slotFileCap: slotFileCap(o.settings) }),
  };
  const again = diffStates(after, p.desired, { ...diffOptionsOf(o), restartChanged: false });
  return [
    ...bugs,
    ...again.operations
      .filter((op) => changed.has(op.service) && slotKinds.has(op.kind))
      .map((op) => `bug: ${op.service} did not converge after apply (still needs ${op.kind}: ${op.reason})`),
  ];
}
