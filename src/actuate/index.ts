/**
 * Actuate: applies a plan, and does exactly what it says. Each operation is safe to run twice and
 * fails alone: its error is reported, the others still apply. Never branches on `reason`.
 */
import type { CreateOp, Operation, OperationResult, PickupOp, Plan, PurgeOp, RemoveOp, Settings } from '../model.js';
import { type Dir, type RemovalBudget, REMOVAL_BUDGET, describeErrno } from '../safe-fs/index.js';
import { svscanRescan } from './control.js';
import { applyCreates, clearStaging, skeletonOwnership } from './create.js';
import { applyHeal } from './heal.js';
import { applyMarker } from './marker.js';
import { applyRemoves } from './remove.js';
import { applyRestart, clearRestarts, persistRestarts } from './restarts.js';
import { applySeed } from './seed.js';
import { applyCleanup, applySweep } from './sweep.js';
import { applyUpdate } from './update.js';

export { appendBootLog, formatBootLogLines, formatBootTimestamp } from './boot-log.js';

/** What applying a plan needs to know about the host. */
export interface ApplyContext {
  readonly home: Dir;
  readonly scandir: Dir;
  readonly settings: Settings;
  readonly isRoot: boolean;
  /** Whether an s6-svscan listens on the scandir. */
  readonly live: boolean;
  /**
   * Ask a live s6-svscan to rescan after creates (after the markers). `boot` leaves that to
   * s6-overlay (as upstream: gateways start after cont-init), `sync` wants new slots supervised at
   * once. A plan's pickups always get their rescan: they are what it is for.
   */
  readonly rescan: boolean;
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
  /** Entries this pass deletes at most, cleanups and removes together (default REMOVAL_BUDGET; tests pass less). */
  readonly removalBudget?: number;
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

/** The order operations take effect in, whatever their order in the plan. */
type Phase = 'home' | 'create' | 'update' | 'restart' | 'marker' | 'heal' | 'pickup' | 'remove';

/** Which phase an operation belongs to; adding a kind without a phase fails to compile. */
function phaseOf(op: Operation): Phase {
  switch (op.kind) {
    case 'seed':
    case 'sweep':
    case 'cleanup':
      return 'home';
    case 'create':
      return 'create';
    case 'update':
      return 'update';
    case 'restart':
      return 'restart';
    case 'up':
    case 'down':
      return 'marker';
    case 'heal':
      return 'heal';
    case 'pickup':
      return 'pickup';
    case 'remove':
    case 'purge':
      return 'remove';
    default:
      return assertNever(op);
  }
}

/** Applies one operation that is not batched (creates, pickups, removes and purges are). */
function applyOne(
  op: Exclude<Operation, CreateOp | PickupOp | RemoveOp | PurgeOp>,
  ctx: ApplyContext,
  budget: RemovalBudget,
): OperationResult {
  switch (op.kind) {
    case 'seed':
      return applySeed(ctx.home, op, ctx.isRoot ? { uid: ctx.settings.uid, gid: ctx.settings.gid } : undefined);
    case 'sweep':
      return applySweep(ctx.home, op);
    case 'cleanup':
      return applyCleanup(ctx.scandir, op, budget);
    case 'update':
      return applyUpdate(ctx.scandir, op, ctx.isRoot ? { uid: 0, gid: 0 } : undefined);
    case 'restart':
      return applyRestart(ctx.scandir, op);
    case 'up':
    case 'down':
      return applyMarker(ctx.scandir, op);
    case 'heal':
      return applyHeal(ctx.scandir, op);
    default:
      return assertNever(op);
  }
}

function assertNever(op: never): never {
  throw new Error(`unknown operation kind: ${JSON.stringify(op)}`);
}

/** Applies every operation of a plan. */
export async function applyPlan(plan: Plan, ctx: ApplyContext): Promise<ApplyResult> {
  const run: PlanRun = {
    plan,
    ctx,
    results: new Map(),
    warnings: [],
    // One removal budget for the whole pass, cleanups and removes alike (issue 16 #6): a pass with
    // many huge leftovers deletes at most this many entries and leaves the rest to the next.
    budget: { left: ctx.removalBudget ?? REMOVAL_BUDGET },
  };
  const { results } = run;
  housekeeping(run, 'clear staging leftovers', () => clearStaging(ctx.scandir));

  applyEach(run, byPhase(plan, 'home'));
  const creates = byPhase(plan, 'create').filter((op): op is CreateOp => op.kind === 'create');
  const hooks = { beforePublish: ctx.beforeOperation };
  for (const r of await applyCreates(ctx.scandir, creates, skeletonOwnership(ctx.settings, ctx.isRoot), hooks)) results.set(r.op, r);
  // Restarts are journalled before the files they pick up change: a crash after a write and
  // before its restart leaves an entry the next pass can confirm (the process runs older files).
  const restarts = byPhase(plan, 'restart');
  const services = restarts.map((op) => op.service);
  if (services.length > 0)
    housekeeping(run, 'persist pending restarts', () => persistRestarts(ctx.scandir, [...ctx.journal.keep, ...services]));
  applyEach(run, byPhase(plan, 'update'));
  const onlyAdopted = unadoptedDropper(run);
  applyEach(run, onlyAdopted(restarts));
  if (services.length > 0 || ctx.journal.present) updateJournal(run, restarts);
  applyEach(run, onlyAdopted(byPhase(plan, 'marker')));
  applyEach(run, onlyAdopted(byPhase(plan, 'heal')));
  // One rescan for new slots and the pickups, after the markers: a supervisor reads `down` when
  // it starts, so it finds the intent this pass set.
  const pickups = onlyAdopted(byPhase(plan, 'pickup').filter((op): op is PickupOp => op.kind === 'pickup'));
  const picked = applyPickups(pickups, ctx, ctx.beforeOperation);
  for (const r of picked.results) results.set(r.op, r);
  const created = creates.some((op) => results.get(op)?.status === 'applied');
  if (ctx.live && ctx.rescan && created && !picked.rescanned) housekeeping(run, 's6-svscanctl -a', () => svscanRescan(ctx.scandir));
  applyRemovals(run);

  return {
    results: plan.operations.map((op) => results.get(op) ?? { op, status: 'failed', error: 'not applied' }),
    warnings: run.warnings,
  };
}

/** What the phases of one applyPlan share. */
interface PlanRun {
  readonly plan: Plan;
  readonly ctx: ApplyContext;
  /** Each operation's result so far, by operation. */
  readonly results: Map<object, OperationResult>;
  /** Housekeeping errors: they fail no operation. */
  readonly warnings: string[];
  /** The pass's removal budget, shared by its cleanups and removes. */
  readonly budget: RemovalBudget;
}

/** The operations of `plan` in one phase, in plan order. */
function byPhase(plan: Plan, phase: Phase): Operation[] {
  return plan.operations.filter((op) => phaseOf(op) === phase);
}

/** Runs a housekeeping step: what it throws becomes a warning, not a failed operation. */
function housekeeping(run: PlanRun, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    run.warnings.push(`${what}: ${describeErrno(err)}`);
  }
}

/** Applies each operation that is not batched, one by one, each failing alone. */
function applyEach(run: PlanRun, ops: readonly Operation[]): void {
  for (const op of ops) {
    if (op.kind !== 'create' && op.kind !== 'pickup' && op.kind !== 'remove' && op.kind !== 'purge')
      run.results.set(
        op,
        guarded(run.ctx.beforeOperation, op, () => applyOne(op, run.ctx, run.budget)),
      );
  }
}

/**
 * A slot whose adoption failed is not ours: nothing else of this pass touches it (no restart,
 * marker, heal or pickup), as for one diff refused to adopt. Returns a filter that drops the
 * operations on such slots, failing each; made once the updates are applied.
 */
function unadoptedDropper(run: PlanRun): <T extends Operation>(ops: readonly T[]) => T[] {
  const unadopted = new Map<string, string>();
  for (const op of byPhase(run.plan, 'update')) {
    const r = run.results.get(op);
    if (op.kind === 'update' && op.adopt === true && r?.status === 'failed') unadopted.set(op.service, r.error ?? 'failed');
  }
  return (ops) =>
    ops.filter((op) => {
      const why = unadopted.get(op.service);
      if (why === undefined) return true;
      run.results.set(op, { op, status: 'failed', error: `not applied: ${op.service} was not adopted (its update failed: ${why})` });
      return false;
    });
}

/** Rewrites the restart journal once the restarts ran: the entries kept, and this pass's restarts that did not apply. */
function updateJournal(run: PlanRun, restarts: readonly Operation[]): void {
  const { ctx, results } = run;
  const left = [...ctx.journal.keep, ...restarts.filter((op) => results.get(op)?.status !== 'applied').map((op) => op.service)];
  housekeeping(run, 'update pending restarts', () => (left.length === 0 ? clearRestarts(ctx.scandir) : persistRestarts(ctx.scandir, left)));
}

/**
 * The removes and purges, batched. One refused when planned (this user may not stop that
 * supervisor) touches nothing, the trash included: it fails with its reason, as a refused update does.
 */
function applyRemovals(run: PlanRun): void {
  const { ctx, results } = run;
  const removes: (RemoveOp | PurgeOp)[] = [];
  for (const op of byPhase(run.plan, 'remove')) {
    if (op.kind !== 'remove' && op.kind !== 'purge') continue;
    if (op.refused === true) results.set(op, { op, status: 'failed', error: op.reason });
    else removes.push(op);
  }
  const hook = ctx.beforeOperation;
  const removeOptions = {
    live: ctx.live,
    waitBudgetMs: ctx.removalWaitMs ?? REMOVAL_WAIT_BUDGET_MS,
    sleep: ctx.sleep,
    budget: run.budget,
    ...(hook === undefined ? {} : { beforeOperation: hook }),
    ...(ctx.afterTrash === undefined ? {} : { afterTrash: ctx.afterTrash }),
  };
  for (const r of applyRemoves(ctx.scandir, removes, removeOptions)) results.set(r.op, r);
}

/**
 * The pickups: one rescan for all of them (s6-svscan picks up every new slot at once). A pickup
 * the fault-injection hook fails is left out; if the rescan fails, every other one fails with it.
 */
function applyPickups(
  pickups: readonly PickupOp[],
  ctx: ApplyContext,
  hook: ApplyContext['beforeOperation'],
): { readonly results: readonly OperationResult[]; readonly rescanned: boolean } {
  const results = new Map<PickupOp, OperationResult>();
  for (const op of pickups) {
    const failed = guarded(hook, op, () => ({ op, status: 'applied' }));
    if (failed.status === 'failed') results.set(op, failed);
  }
  if (results.size === pickups.length) return { results: [...results.values()], rescanned: false };
  let error: string | undefined;
  if (!ctx.live) error = 's6-svscan is not running on the scandir';
  else
    try {
      svscanRescan(ctx.scandir);
    } catch (err) {
      error = `s6-svscanctl -a: ${describeErrno(err)}`;
    }
  const out = pickups.map(
    (op) => results.get(op) ?? (error === undefined ? { op, status: 'applied' as const } : { op, status: 'failed' as const, error }),
  );
  return { results: out, rescanned: error === undefined };
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
