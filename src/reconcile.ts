/**
 * One reconcile pass, the whole loop in a screenful: observe → buildDesired → diff → apply →
 * re-observe. The re-observed plan must be empty for every operation that applied; anything left
 * is a bug and reported as such.
 */
import type { DesiredState, HomeWrite, Mode, ObservedState, OperationResult, Plan, Settings } from './model.js';
import { buildDesired } from './desired/index.js';
import { diffStates } from './diff/index.js';
import { observe, observeScandir } from './observe/index.js';
import { type ApplyContext, appendBootLog, applyPlan, sweepStaleFiles } from './actuate/index.js';
import { formatBootLogLines } from './actuate/boot-log.js';
import { applyHomeWrites } from './actuate/home-writes.js';
import { type Dir, type Owner } from './safe-fs.js';

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
}

/** What a pass saw, planned and did. */
export interface PassResult {
  readonly observed: ObservedState;
  readonly desired: DesiredState;
  readonly plan: Plan;
  readonly results: readonly OperationResult[];
  /** The writes under HERMES_HOME this pass wanted (applied or, in a dry run, only planned). */
  readonly plannedHomeWrites: readonly HomeWrite[];
  readonly homeWriteResults: readonly { write: HomeWrite; error?: string }[];
  readonly warnings: readonly string[];
}

/** Runs one pass. Never throws for a per-profile or per-operation problem. */
export function runPass(o: PassOptions): PassResult {
  const observed = observe(o.home, o.scandir, o.settings);
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
  const plan = diffStates(observed, desired, diffOptions);
  if (o.dryRun || o.scandir === undefined) {
    return { observed, desired, plan, results: [], plannedHomeWrites: o.homeWrites, homeWriteResults: [], warnings: [] };
  }
  const owner: Owner | undefined = o.isRoot ? { uid: o.settings.uid, gid: o.settings.gid } : undefined;
  const warnings: string[] = [];
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
    journalPresent: observed.scandir.pendingRestarts.size > 0,
    sleep: o.sleep,
    ...(o.beforeOperation === undefined ? {} : { beforeOperation: o.beforeOperation }),
  });
  warnings.push(...applied.warnings);
  if (plan.operations.length > 0) warnings.push(...verifyConverged(o, observed, desired, applied.results, diffOptions));
  if (o.mode === 'boot') {
    const lines = formatBootLogLines(o.timestamp, desired.decisions);
    warnings.push(...appendBootLog(o.home, lines, o.settings.bootLogMaxBytes, owner));
  }
  return { observed, desired, plan, results: applied.results, plannedHomeWrites: o.homeWrites, homeWriteResults, warnings };
}

/** Re-observes the scandir and reports services whose applied operations did not converge. */
function verifyConverged(
  o: PassOptions,
  before: ObservedState,
  desired: DesiredState,
  results: readonly OperationResult[],
  diffOptions: Parameters<typeof diffStates>[2],
): string[] {
  const failed = new Set(results.filter((r) => r.status === 'failed').map((r) => r.op.service));
  const after: ObservedState = { home: before.home, scandir: observeScandir(o.scandir, o.settings) };
  const again = diffStates(after, desired, { ...diffOptions, restartChanged: false });
  return again.operations
    .filter((op) => !failed.has(op.service))
    .map((op) => `bug: ${op.service} did not converge after apply (still needs ${op.kind}: ${op.reason})`);
}
