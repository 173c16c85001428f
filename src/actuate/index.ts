/**
 * Actuate: applies a plan, and does exactly what it says. Each operation is safe to run twice and
 * fails alone: its error is reported, the others still apply. Never branches on `reason`.
 */
import type { CreateOp, DownOp, HealOp, Operation, OperationResult, Plan, RemoveOp, Settings, UpOp, UpdateOp } from '../model.js';
import { type Dir, type Owner, describeErrno, removeTreeAt } from '../safe-fs.js';
import { svscanRescan } from './control.js';
import { applyCreates, clearStaging, skeletonOwnership } from './create.js';
import { applyHeal } from './heal.js';
import { applyMarker } from './marker.js';
import { applyRemoves, emptyTrash } from './remove.js';
import { clearRestarts, persistRestarts } from './restarts.js';
import { applyUpdate } from './update.js';

export { appendBootLog, formatBootTimestamp } from './boot-log.js';
export { sweepStaleFiles } from './sweep.js';
export { STAGING_DIR } from './create.js';
export { TRASH_DIR } from './remove.js';

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
}

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
  housekeeping('empty trash', () => emptyTrash(ctx.scandir));
  for (const name of ctx.upstreamLeftovers) housekeeping(`remove ${name}`, () => removeTreeAt(ctx.scandir, name));

  const owner: Owner | undefined = ctx.isRoot ? { uid: 0, gid: 0 } : undefined;
  const { creates, updates, removes, markers, heals } = partition(plan.operations);
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
  for (const op of heals) results.set(op, guarded(hook, op, () => applyHeal(ctx.scandir, op)));
  const removeOptions = { live: ctx.live, timeoutMs: 15000, sleep: ctx.sleep, ...(hook === undefined ? {} : { beforeOperation: hook }) };
  for (const r of applyRemoves(ctx.scandir, removes, removeOptions)) results.set(r.op, r);

  return {
    results: plan.operations.map((op) => results.get(op) ?? { op, status: 'failed', error: 'not applied' }),
    warnings,
  };
}

interface Partition {
  creates: CreateOp[];
  updates: UpdateOp[];
  removes: RemoveOp[];
  markers: (UpOp | DownOp)[];
  heals: HealOp[];
}

function partition(ops: readonly Operation[]): Partition {
  const p: Partition = { creates: [], updates: [], removes: [], markers: [], heals: [] };
  for (const op of ops) {
    switch (op.kind) {
      case 'create':
        p.creates.push(op);
        break;
      case 'update':
        p.updates.push(op);
        break;
      case 'remove':
        p.removes.push(op);
        break;
      case 'up':
      case 'down':
        p.markers.push(op);
        break;
      case 'heal':
        p.heals.push(op);
        break;
      default: {
        const never: never = op;
        throw new Error(`unknown operation ${JSON.stringify(never)}`);
      }
    }
  }
  return p;
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
