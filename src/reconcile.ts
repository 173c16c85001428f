/**
 * One reconcile pass, the whole loop in a screenful: observe → buildDesired → diff → apply →
 * re-observe. The re-observed plan must be empty for every operation that applied; anything left
 * is a bug and reported as such.
 */
import type { DesiredState, HomeWrite, Mode, ObservedState, Operation, OperationResult, Plan, Settings } from './model.js';
import { buildDesired } from './desired/index.js';
import { DEFAULT_DRIFT_POLICY, type DriftCondition, type DriftPolicy, detectDrift, planHeals } from './desired/drift.js';
import { compareOps, diffStates } from './diff/index.js';
import { type Scope, observe, observeScandir } from './observe/index.js';
import { type ApplyContext, appendBootLog, applyPlan, sweepStaleFiles } from './actuate/index.js';
import { formatBootLogLines } from './actuate/boot-log.js';
import { applyHomeWrites } from './actuate/home-writes.js';
import { type Dir, type Owner, lstatAt } from './safe-fs.js';

/** Everything one pass needs; host facts are resolved by the caller. */
export interface PassOptions {
  readonly mode: Mode;
  readonly dryRun: boolean;
  readonly home: Dir;
  /** Open scandir, or undefined when it does not exist (only possible with dryRun). */
  readonly scandir: Dir | undefined;
  readonly hermesHome: string;
  readonly settings: Settings;
  readonly prune: boolean;
  readonly allowEmpty: boolean;
  readonly restartChanged: boolean;
  readonly role: 'gateway' | 'none';
  readonly multiplex: boolean;
  /** Writes under HERMES_HOME this pass wants (the legacy seed), decided by the caller. */
  readonly homeWrites: readonly HomeWrite[];
  readonly isRoot: boolean;
  /** Boot-log timestamp (the clock is read by the caller). */
  readonly timestamp: string;
  readonly sleep: (ms: number) => void;
  /** Fault-injection seam for tests (ApplyContext.beforeOperation); never set by the CLI. */
  readonly beforeOperation?: ApplyContext['beforeOperation'];
  /** A targeted pass: only these profiles and their slots are read, planned and applied. */
  readonly scope?: Scope;
  /** Services whose operations are planned but not applied in this pass (`watch` back-off). */
  readonly hold?: ReadonlySet<string>;
  /** The clock (ms since the epoch), read by the caller; drift is measured against it. */
  readonly nowMs?: number;
  /** Drift thresholds (default: 30 s grace, more than 5 restarts in 10 min is a crash loop). */
  readonly drift?: DriftPolicy;
  /** Plan a `heal` for each IntentRunningButDown service (`--heal`); off: drift is reported only. */
  readonly heal?: boolean;
}

/** What a pass saw, planned and did. */
export interface PassResult {
  readonly observed: ObservedState;
  readonly desired: DesiredState;
  /** The operations this pass applied (or, in a dry run, would apply). */
  readonly plan: Plan;
  /** Operations planned for held services and not applied. */
  readonly held: readonly Operation[];
  readonly results: readonly OperationResult[];
  /** The writes under HERMES_HOME this pass wanted (applied or, in a dry run, only planned). */
  readonly plannedHomeWrites: readonly HomeWrite[];
  readonly homeWriteResults: readonly { write: HomeWrite; error?: string }[];
  readonly warnings: readonly string[];
  /** Drift conditions of the services this pass read, as observed before applying. */
  readonly drift: readonly DriftCondition[];
}

/** s6-svscan's default `-c`: more services than this are not supervised (s6-facts §3.8). */
export const SVSCAN_DEFAULT_MAX = 500;

/** Runs one pass. Never throws for a per-profile or per-operation problem. */
export function runPass(o: PassOptions): PassResult {
  const observed = observe(o.home, o.scandir, o.settings, o.scope);
  const desired = buildDesired({
    observed,
    settings: o.settings,
    mode: o.mode,
    hermesHome: o.hermesHome,
    role: o.role,
    multiplex: o.multiplex,
    allowEmpty: o.allowEmpty,
    legacySeeded: o.homeWrites.some((w) => w.kind === 'seed-root-state'),
  });
  const diffOptions = { prune: o.prune, restartChanged: o.restartChanged, expectedUid: o.isRoot ? 0 : null };
  const nowUnix = (o.nowMs ?? Date.now()) / 1000;
  const policy = o.drift ?? DEFAULT_DRIFT_POLICY;
  const drift = observed.scandir.svscanLive ? detectDrift(observed, desired, nowUnix, policy) : [];
  const heals = o.heal === true ? planHeals(observed, drift, nowUnix, policy) : [];
  const { plan, held } = holdBack(withHeals(diffStates(observed, desired, diffOptions), heals), o.hold);
  const warnings = capacityWarnings(o, observed, plan);
  const base = { observed, desired, plan, held, plannedHomeWrites: o.homeWrites, drift };
  if (o.dryRun || o.scandir === undefined) return { ...base, results: [], homeWriteResults: [], warnings };
  const owner: Owner | undefined = o.isRoot ? { uid: o.settings.uid, gid: o.settings.gid } : undefined;
  const homeWriteResults = applyHomeWrites(o.home, o.homeWrites, owner);
  if (o.mode === 'boot') {
    const valid = desired.decisions.filter((d) => d.action !== 'skipped' && d.profile !== 'default').map((d) => d.profile);
    warnings.push(...sweepStaleFiles(o.home, valid));
  }
  const applied = applyPlan(plan, {
    scandir: o.scandir,
    settings: o.settings,
    isRoot: o.isRoot,
    live: observed.scandir.svscanLive,
    rescan: o.mode === 'sync',
    upstreamLeftovers: o.mode === 'boot' ? observed.scandir.upstreamLeftovers : [],
    journal: journalOf(observed, o, held),
    sleep: o.sleep,
    ...(o.beforeOperation === undefined ? {} : { beforeOperation: o.beforeOperation }),
  });
  warnings.push(...applied.warnings);
  if (plan.operations.length > 0) warnings.push(...verifyConverged(o, observed, desired, applied.results, diffOptions));
  if (o.mode === 'boot') {
    const lines = formatBootLogLines(o.timestamp, desired.decisions);
    warnings.push(...appendBootLog(o.home, lines, o.settings.bootLogMaxBytes, owner));
  }
  return { ...base, results: applied.results, homeWriteResults, warnings };
}

/** The diff's plan with the heals added, in the plan's stable order. */
function withHeals(plan: Plan, heals: readonly Operation[]): Plan {
  return heals.length === 0 ? plan : { ...plan, operations: [...plan.operations, ...heals].sort(compareOps) };
}

/** Splits off the operations of held services; their restarts stay pending. */
function holdBack(plan: Plan, hold: ReadonlySet<string> | undefined): { plan: Plan; held: Operation[] } {
  if (hold === undefined || hold.size === 0) return { plan, held: [] };
  const held = plan.operations.filter((op) => hold.has(op.service));
  const operations = plan.operations.filter((op) => !hold.has(op.service));
  const restartPending = [...new Set([...plan.restartPending, ...held.filter((op) => op.kind === 'update' && op.restart).map((op) => op.service)])].sort();
  return { plan: { operations, restartPending }, held };
}

/**
 * The 500-service warning (s6-facts §3.8), for a sync pass that read the whole scandir: counted
 * as the scandir will be after the plan (each slot is two services, itself and its logger).
 */
function capacityWarnings(o: PassOptions, observed: ObservedState, plan: Plan): string[] {
  const count = (kind: Operation['kind']): number => plan.operations.filter((op) => op.kind === kind).length;
  const n = observed.scandir.serviceCount + 2 * (count('create') - count('remove'));
  if (o.mode !== 'sync' || o.scope !== undefined || n <= SVSCAN_DEFAULT_MAX) return [];
  return [
    `the scandir holds ${n} services (loggers included); s6-svscan supervises at most ${SVSCAN_DEFAULT_MAX} unless started with -c: ` +
      'the others are not started',
  ];
}

/** Journal entries this pass must keep: restarts of services it did not read or holds back. */
function journalOf(observed: ObservedState, o: PassOptions, held: readonly Operation[]): { present: boolean; keep: readonly string[] } {
  const pending = observed.scandir.pendingRestarts;
  const heldServices = new Set(held.map((op) => op.service));
  const keep = [...pending].filter((s) => heldServices.has(s) || (o.scope !== undefined && !o.scope.services.has(s)));
  return { present: pending.size > 0, keep };
}

/**
 * Re-observes what the pass changed and reports services whose applied operations did not
 * converge. Created slots are checked for presence only: they are renames of trees this pass just
 * wrote, and the render/observe symmetry behind them is what the property and idempotence tests
 * prove — re-reading every new slot would cost a quarter of a cold boot.
 */
function verifyConverged(
  o: PassOptions,
  before: ObservedState,
  desired: DesiredState,
  results: readonly OperationResult[],
  diffOptions: Parameters<typeof diffStates>[2],
): string[] {
  const failed = new Set(results.filter((r) => r.status === 'failed').map((r) => r.op.service));
  for (const service of o.hold ?? []) failed.add(service);
  const applied = results.filter((r) => r.status === 'applied' && !failed.has(r.op.service));
  const bugs: string[] = [];
  for (const r of applied) {
    if (r.op.kind !== 'create' || o.scandir === undefined) continue;
    if (lstatAt(o.scandir, r.op.service)?.isDirectory() !== true) bugs.push(`bug: ${r.op.service} is missing after its create was applied`);
  }
  const changed = new Set(applied.filter((r) => r.op.kind !== 'create').map((r) => r.op.service));
  if (changed.size === 0) return bugs;
  const after: ObservedState = { home: before.home, scandir: observeScandir(o.scandir, o.settings, changed) };
  const again = diffStates(after, desired, { ...diffOptions, restartChanged: false });
  return [
    ...bugs,
    ...again.operations
      .filter((op) => changed.has(op.service))
      .map((op) => `bug: ${op.service} did not converge after apply (still needs ${op.kind}: ${op.reason})`),
  ];
}
