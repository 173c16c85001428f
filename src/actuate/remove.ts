/**
 * remove and purge: take owned slots of deleted profiles out of supervision without disturbing
 * any other service. s6-facts §3.5: `s6-svc -x` alone is undone by s6-svscan; the directory must
 * leave the scandir (into our private trash, src/state-dir/), then `s6-svscanctl -an` stops the
 * supervisors whose directory vanished. Where `-an` cannot be sent (s6-svscan died, or this user
 * may not write its control: not root), each trashed slot's supervisor is sent `-dx` instead, and
 * its logger's once the service is down. A slot is removed only when it is still the directory
 * observe saw, and only that directory is deleted (issue 16 #9). Waiting and deleting are bounded
 * per pass: what is left stays in the trash, and the next pass plans a `purge` for it, which sends
 * `-an` again and resumes (issue 16 #5, #6, #7).
 */
import type { OperationResult, PurgeOp, RemoveOp } from '../model.js';
import {
  type Dir,
  type ProcessTable,
  type RemovalBudget,
  FsError,
  REMOVAL_BUDGET,
  closeDir,
  dirKey,
  describeErrno,
  identityOf,
  isControlDenied,
  isSupervised,
  processTable,
  openDirAt,
  openDirIfExists,
  removeTreeAt,
  renameAt,
} from '../safe-fs/index.js';
import { PURGE_REFUSED, REMOVE_REFUSED } from '../model/constants.js';
import { TRASH_DIR, openPrivateSubdir, openStateDir } from '../state-dir/index.js';
import { isSameIdentity } from './observed-slot.js';
import { sendIfListening } from './control.js';

/** Options of applyRemoves. */
export interface RemoveOptions {
  readonly live: boolean;
  /** How long one pass waits, in all, for supervisors to exit (a liveness bound, not a timing). */
  readonly waitBudgetMs: number;
  readonly sleep: (ms: number) => void;
  /** Clock for the wait budget (tests may pass a fake one). */
  readonly now?: () => number;
  /** Fault-injection seam (see ApplyContext): called before each slot is moved out. */
  readonly beforeOperation?: (op: RemoveOp | PurgeOp) => void;
  /** Test seam: called after a slot was moved into the trash, before `-an` (the crash point). */
  readonly afterTrash?: (op: RemoveOp) => void;
  /** The pass's removal budget, shared with its cleanups (default: a budget of its own). */
  readonly budget?: RemovalBudget;
}

type TrashOp = RemoveOp | PurgeOp;

/** What every step of one applyRemoves works on. */
interface TrashPass {
  readonly scandir: Dir;
  /** Our trash in the private state directory (src/state-dir/). */
  readonly trash: Dir;
  /** The pass's removal budget, shared by every delete of the pass. */
  readonly budget: RemovalBudget;
  /** A new look at the processes (isSupervised: who works in a slot tells a supervisor from a mere reader). */
  readonly look: () => ProcessTable;
}

/** Applies every remove and purge of a plan: move out, one `-an`, a bounded wait, a bounded delete. */
export function applyRemoves(scandir: Dir, ops: readonly TrashOp[], options: RemoveOptions): OperationResult[] {
  if (ops.length === 0) return [];
  let trash: Dir;
  try {
    trash = openTrash(scandir);
  } catch (err) {
    return ops.map((op) => ({ op, status: 'failed', error: describeErrno(err) }));
  }
  try {
    const budget = options.budget ?? { left: REMOVAL_BUDGET };
    // Each look at the supervisors takes a new look at the processes.
    const svscanAt = dirKey(scandir);
    const pass: TrashPass = { scandir, trash, budget, look: () => processTable(svscanAt) };
    const results = new Map<TrashOp, OperationResult>();
    const inTrash: TrashOp[] = [];
    // One look for every move of the pass (taken when a name is still in the trash).
    const atMove = pass.look();
    for (const op of ops) {
      try {
        options.beforeOperation?.(op);
        // A supervisor this user may not tell anything (not root) cannot be stopped by it, nor seen
        // to exit: its slot stays put, and a trashed one is never deleted (never for root). Checked
        // again here: its supervise/ may have changed since the pass read it.
        if (isControlDenied(op.kind === 'remove' ? scandir : trash, op.service)) {
          results.set(op, { op, status: 'failed', error: op.kind === 'remove' ? REMOVE_REFUSED : PURGE_REFUSED });
          continue;
        }
        if (op.kind === 'remove') {
          moveToTrash(pass, op, atMove);
          options.afterTrash?.(op);
        }
        inTrash.push(op);
      } catch (err) {
        results.set(op, { op, status: 'failed', error: describeErrno(err) });
      }
    }
    const loggers = stopSupervisors(pass, inTrash, options.live, results);
    const waiting = inTrash.filter((op) => !results.has(op));
    for (const r of finishInTrash(pass, waiting, loggers, options)) results.set(r.op as TrashOp, r);
    return ops.map((op) => results.get(op) ?? { op, status: 'failed', error: 'not processed' });
  } finally {
    closeDir(trash);
  }
}

/**
 * Moves the slot into the trash when it is still the directory observe saw, and checks that what
 * arrived there is that directory; anything else is put back and the removal fails. An earlier
 * removal of the same name still in the trash is finished first, unless its supervisor still runs:
 * deleting that directory would orphan the supervisor (nothing could reach its control any more).
 */
function moveToTrash({ scandir, trash, budget }: TrashPass, op: RemoveOp, table: ProcessTable): void {
  const display = `${scandir.path}/${op.service}`;
  const slot = openDirAt(scandir, op.service);
  try {
    const seen = identityOf(slot);
    if (op.expect !== undefined && !isSameIdentity(seen, op.expect)) {
      throw new FsError('remove', display, new Error('the slot was replaced since this pass read it; left as it is'));
    }
    if (isSupervised(trash, op.service, true, table)) {
      throw new FsError(
        'remove',
        display,
        new Error(
          `an earlier removal of this slot is still pending: its supervisor still runs in ${trash.path}; the next pass stops it again and resumes`,
        ),
      );
    }
    if (removeTreeAt(trash, op.service, budget) === false) {
      throw new FsError('remove', display, new Error('an earlier removal of this slot is still pending in the trash'));
    }
    renameAt(scandir, op.service, trash, op.service);
    const arrived = openDirAt(trash, op.service);
    let same: boolean;
    try {
      same = isSameIdentity(identityOf(arrived), seen);
    } finally {
      closeDir(arrived);
    }
    if (!same) {
      renameAt(trash, op.service, scandir, op.service);
      throw new FsError('remove', display, new Error('the slot was swapped while it was moved out; put back and left as it is'));
    }
  } finally {
    closeDir(slot);
  }
}

/**
 * Stops the supervisors of the trashed slots that have one: one `-an` while s6-svscan listens.
 * Without it (s6-svscan died, or this user may not talk to it: not root), each supervisor is told
 * itself; the ones told are returned, whose loggers are told once the service is down (so that
 * the gateway's last lines are logged). A supervisor that cannot be told fails its operation.
 */
function stopSupervisors(
  { scandir, trash }: TrashPass,
  inTrash: readonly TrashOp[],
  live: boolean,
  results: Map<TrashOp, OperationResult>,
): Set<TrashOp> {
  // A purge whose gateway is stopping already is only waited for: telling it again would send the
  // gateway another SIGTERM in the middle of its clean stop. Its logger is told once it is down.
  // While one is, the others are told one by one: an -an would SIGTERM every vanished supervisor.
  const stopping = inTrash.filter((op) => op.kind === 'purge' && op.stopping === true);
  const toStop = inTrash.filter((op) => op.kind === 'remove' || (op.supervised && op.stopping !== true));
  const loggers = new Set<TrashOp>(stopping);
  if (toStop.length === 0) return loggers;
  try {
    if (live && stopping.length === 0 && sendIfListening(scandir, '.s6-svscan', 'an')) return loggers;
  } catch (err) {
    for (const op of toStop) results.set(op, { op, status: 'failed', error: describeErrno(err) });
    return loggers;
  }
  for (const op of toStop) {
    try {
      tellToExit(trash, op.service);
      loggers.add(op);
    } catch (err) {
      results.set(op, {
        op,
        status: 'failed',
        error: `pending removal: the supervisor of ${op.service} could not be told to stop (${describeErrno(err)}); stop it as root (s6-svc -dx on it in ${trash.path})`,
      });
    }
  }
  return loggers;
}

/**
 * `s6-svc -dx` to a trashed slot's supervisor: the service goes down and its supervisor exits; with
 * the directory gone from the scandir, s6-svscan does not start another (s6-facts §3.5: the same
 * as the SIGTERM `-an` sends).
 */
function tellToExit(trash: Dir, service: string): void {
  const slot = openDirAt(trash, service);
  try {
    sendIfListening(slot, 'supervise', 'dx');
  } finally {
    closeDir(slot);
  }
}

/** {@link tellToExit} for the slot's logger; a logger that cannot be told still runs, and its slot stays pending. */
function tellLoggerToExit(trash: Dir, service: string): void {
  let slot: Dir | undefined;
  let log: Dir | undefined;
  try {
    slot = openDirAt(trash, service);
    log = openDirIfExists(slot, 'log');
    if (log !== undefined) sendIfListening(log, 'supervise', 'dx');
  } catch {
    // Left running: finishInTrash reports the slot as pending removal.
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}

/** Our trash inside the private state directory. */
function openTrash(scandir: Dir): Dir {
  const state = openStateDir(scandir, true);
  if (state === undefined) throw new Error('no state directory');
  try {
    return openPrivateSubdir(state, TRASH_DIR);
  } finally {
    closeDir(state);
  }
}

/**
 * Waits, within one budget for the whole pass, for the supervisors of the trashed slots to exit,
 * then deletes each within the pass's removal budget. One still running, or too big to delete
 * now, is left for the next pass and reported as pending removal. The `loggers` of services told
 * to exit are told too, each once its service's supervisor is gone.
 */
function finishInTrash(pass: TrashPass, ops: readonly TrashOp[], loggers: Set<TrashOp>, options: RemoveOptions): OperationResult[] {
  const running = waitForSupervisors(pass, ops, loggers, options);
  return ops.map((op): OperationResult => {
    if (running.includes(op)) {
      return {
        op,
        status: 'failed',
        error: `pending removal: the supervisor of ${op.service} still runs (or a process of root works in its directory: see ls -l /proc/*/cwd); the next pass stops it again and resumes`,
      };
    }
    return deleteTrashed(pass, op);
  });
}

/**
 * Waits, within `options.waitBudgetMs`, for the supervisors of `ops` to exit, and returns those
 * still running. Each logger of `loggers` whose service's supervisor is gone is told to exit and
 * taken out of the set.
 */
function waitForSupervisors({ trash, look }: TrashPass, ops: readonly TrashOp[], loggers: Set<TrashOp>, options: RemoveOptions): TrashOp[] {
  const now = options.now ?? Date.now;
  const deadline = now() + options.waitBudgetMs;
  const tellLoggers = (table: ProcessTable): void => {
    for (const op of loggers) {
      if (isSupervised(trash, op.service, false, table)) continue;
      loggers.delete(op);
      tellLoggerToExit(trash, op.service);
    }
  };
  // A new look at the processes each time: they exit while we wait.
  let table = look();
  tellLoggers(table);
  let running = ops.filter((op) => isSupervised(trash, op.service, true, table));
  while (running.length > 0 && now() < deadline) {
    options.sleep(50);
    table = look();
    tellLoggers(table);
    running = running.filter((op) => isSupervised(trash, op.service, true, table));
  }
  return running;
}

/** Deletes a trashed slot whose supervisor is gone, within the pass's removal budget. */
function deleteTrashed({ trash, budget }: TrashPass, op: TrashOp): OperationResult {
  try {
    if (removeTreeAt(trash, op.service, budget)) return { op, status: 'applied' };
    return { op, status: 'failed', error: `pending removal: ${op.service} is too large to delete in one pass; the next pass continues` };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  }
}
