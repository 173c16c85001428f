/**
 * Actuate: applies a plan, and does exactly what it says. Each operation is safe to run twice and
 * fails alone: its error is reported, the others still apply. Never branches on `reason`.
 */
import type { CreateOp, DownOp, Operation, OperationResult, Plan, PurgeOp, RemoveOp, Settings, UpOp, UpdateOp } from '../model.js';
import { type Dir, type Owner, describeErrno, removeTreeAt } from '../safe-fs.js';
import { svscanRescan } from './control.js';
import { applyCreates, clearStaging, skeletonOwnership } from './create.js';
import { applyMarker } from './marker.js';
import { applyRemoves } from './remove.js';
import { clearRestarts, persistRestarts } from './restarts.js';
import { applyUpdate } from './update.js';

export { appendBootLog, formatBootTimestamp } from './boot-log.js';
export { sweepStaleFiles } from './sweep.js';

/** What applying a plan needs to know about the host. */
export interface ApplyContext {
  readonly scandir: Dir;
  readonly settings: Settings;
  readonly isRoot: boolean;
  /** Whether an s6-svscan listens on the scandir. */
  readonly live: boolean;
  /**
   * Ask a live s6-svscan to rescan after creates. `boot` leaves that to s6-overlay (as upstream:
   * gateways start after cont-init), `sync` wants new slots supervised at once.
   */
  readonly rescan: boolean;
  /** Upstream staging leftovers to delete first (boot only). */
  readonly upstreamLeftovers: readonly string[];
  /**
   * The restart journal from earlier passes: whether it exists, and the entries this pass must keep
   * (services it did not read or holds back); the others are done or no longer needed once applied.
   */
  readonly journal: { readonly present: boolean; readonly keep: readonly string[] };
  readonly sleep: (ms: number) => void;
  /**
   * Fault-injection seam for tests: called just before each operation takes effect (for a create,
   * before its publishing rename). Whatever it throws fails that operation alone.
   */
  readonly beforeOperation?: (op: Operation) => void;
  /** Total wait for removed slots' supervisors in this pass (default REMOVAL_WAIT_BUDGET_MS). */
  readonly removalWaitMs?: number;
  /** Test seam: called after a removed slot reached the trash, before `-an` (the crash-trial point). */
  readonly afterTrash?: (op: RemoveOp) => void;
}

/**
 * How long one pass waits by default, in all, for removed slots' supervisors to exit while it
 * holds the lock (issue 16 #5): s6-supervise exits within milliseconds of `-an` once its service
 * stopped; one still there after this is left for the next pass (a `purge`). `watch` passes a
 * shorter budget so it stays responsive to SIGTERM.
 */
export const REMOVAL_WAIT_BUDGET_MS = 10_000;

/** Result of applying a plan: one entry per operation, in plan order, plus housekeeping errors. */
export interface ApplyResult {
  readonly results: readonly OperationResult[];
  readonly warnings: readonly string[];
}

/** Applies every operation of a plan. */
export function applyPlan(plan: Plan, ctx: ApplyContext): ApplyResult {
  const warnings: string[] = [];
  const housekeeping = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      warnings.push(`${what}: ${describeErrno(err)}`);
    }
  };
  housekeeping('clear staging leftovers', () => clearStaging(ctx.scandir));
  for (const name of ctx.upstreamLeftovers) housekeeping(`remove ${name}`, () => removeTreeAt(ctx.scandir, name));

  const owner: Owner | undefined = ctx.isRoot ? { uid: 0, gid: 0 } : undefined;
  const { creates, updates, removes, markers } = partition(plan.operations);
  const results = new Map<object, OperationResult>();
  const hook = ctx.beforeOperation;

  for (const r of applyCreates(ctx.scandir, creates, skeletonOwnership(ctx.settings, ctx.isRoot), hook)) results.set(r.op, r);
  if (ctx.live && ctx.rescan && creates.some((op) => results.get(op)?.status === 'applied')) {
    housekeeping('s6-svscanctl -a', () => svscanRescan(ctx.scandir));
  }
  const restarts = updates.filter((u) => u.restart).map((u) => u.service);
  if (restarts.length > 0) housekeeping('persist pending restarts', () => persistRestarts(ctx.scandir, [...ctx.journal.keep, ...restarts]));
  for (const op of updates) results.set(op, guarded(hook, op, () => applyUpdate(ctx.scandir, op, owner)));
  if (restarts.length > 0 || ctx.journal.present) {
    const left = [...ctx.journal.keep, ...updates.filter((u) => u.restart && results.get(u)?.status !== 'applied').map((u) => u.service)];
    housekeeping('update pending restarts', () => (left.length === 0 ? clearRestarts(ctx.scandir) : persistRestarts(ctx.scandir, left)));
  }
  for (const op of markers) results.set(op, guarded(hook, op, () => applyMarker(ctx.scandir, op, ctx.live)));
  const removeOptions = {
    live: ctx.live,
    waitBudgetMs: ctx.removalWaitMs ?? REMOVAL_WAIT_BUDGET_MS,
    sleep: ctx.sleep,
    ...(hook === undefined ? {} : { beforeOperation: hook }),
    ...(ctx.afterTrash === undefined ? {} : { afterTrash: ctx.afterTrash }),
  };
  for (const r of applyRemoves(ctx.scandir, removes, removeOptions)) results.set(r.op, r);

  return {
    results: plan.operations.map((op) => results.get(op) ?? { op, status: 'failed', error: 'not applied' }),
    warnings,
  };
}

function partition(ops: readonly Operation[]): { creates: CreateOp[]; updates: UpdateOp[]; removes: (RemoveOp | PurgeOp)[]; markers: (UpOp | DownOp)[] } {
  return {
    creates: ops.filter((o): o is CreateOp => o.kind === 'create'),
    updates: ops.filter((o): o is UpdateOp => o.kind === 'update'),
    removes: ops.filter((o): o is RemoveOp | PurgeOp => o.kind === 'remove' || o.kind === 'purge'),
    markers: ops.filter((o): o is UpOp | DownOp => o.kind === 'up' || o.kind === 'down'),
  };
}

/** Runs one operation so that anything it throws, expected or not, fails it alone. */
function guarded(hook: ApplyContext['beforeOperation'], op: Operation, apply: () => OperationResult): OperationResult {
  try {
    hook?.(op);
    return apply();
  } catch (err) {
    return { op, status: 'failed', error: `unexpected error: ${describeErrno(err)}` };
  }
}
