/**
 * Names shared by every layer: the root profile, the files a slot holds, the runtime files boot
 * sweeps. Values only; observe, desired, diff, actuate and watch all read them from here.
 */
import type { OperationKind } from './plan.js';

/** Name of the root profile, whose directory is HERMES_HOME itself. */
export const ROOT_PROFILE = 'default';

/** Slot-relative path of the ownership record that marks a slot as managed by this tool. */
export const OWNERSHIP_FILE = '.reconcile-gateways.json';

/** The files this tool manages in every slot, in the order they are written. */
export const MANAGED_FILES = ['type', 'run', 'finish', 'log/run', OWNERSHIP_FILE] as const;

/** Files whose change only takes effect at the next start of the service. */
export const RUNTIME_FILES: ReadonlySet<string> = new Set(['run', 'finish']);

/**
 * A gateway's runtime files in its profile directory: they belong to the previous container's
 * PID namespace, so boot sweeps them (S06, S33) unless the gateway is live right now.
 */
export const STALE_RUNTIME_FILES = ['gateway.pid', 'processes.json'] as const;

/** Where each gateway's s6-log writes, relative to HERMES_HOME: `<this>/<profile>/current` (log/run's log_dir). */
export const GATEWAY_LOGS_DIR = 'logs/gateways';

/** A profile's state file, relative to its directory (HERMES_HOME for the root profile). */
export const STATE_FILE = 'gateway_state.json';

/**
 * Why a slot whose supervisor this user may not tell to stop (not root) is not removed: the reason
 * of the refused `remove` diff plans, and the error when the run finds it so itself.
 */
export const REMOVE_REFUSED =
  'profile deleted, not removed: its supervise/control is not writable to this user, who cannot stop it (or tell whether it runs): left in place; remove it as root (move it out of the scandir, then s6-svscanctl -an)';

/**
 * Why a slot is not removed while an earlier removal of its name still runs in the trash: moving it
 * there would delete that one under its running supervisor. The reason of the refused `remove` diff
 * plans; the purge of the same pass stops the earlier one, and the pass after it removes this slot.
 */
export const REMOVE_WAITS =
  'profile deleted, not removed in this pass: an earlier removal of this slot is still pending in the trash with its supervisor running; its purge stops that one first, then the next pass removes this slot';

/**
 * The same while that earlier removal's supervisor is one this user cannot stop: its purge is
 * refused too (PURGE_REFUSED), so only root can let this slot go.
 */
export const REMOVE_WAITS_DENIED =
  'profile deleted, not removed: an earlier removal of this slot is still pending in the trash, with a supervisor this user cannot stop (its purge is refused): once root has stopped and deleted that one, the next pass removes this slot';

/** The same for such a slot already in the trash: the refused `purge`. */
export const PURGE_REFUSED =
  'removal pending: its supervise/control is not writable to this user, who cannot stop it (or tell whether it runs): not deleted; as root, s6-svc -dx it in the trash (.reconcile-gateways/trash in the scandir), then delete it there (rm -r)';

/** Which user runs the passes, for messages that say to run every pass as one user. */
export const PASS_USER = 'root in the Hermes image; hermes with RECONCILE_GATEWAYS_RUN_AS=hermes';

/**
 * Death records s6-supervise keeps without a `max-death-tally` file (our slots have none): s6-facts
 * §3. Observe keeps at most this many of a slot's newest records, whatever its file holds: a
 * forged tally of 4096 records in each of thousands of directories the hermes user made would
 * otherwise be decoded whole (it ran a pass out of memory).
 */
export const S6_DEATH_TALLY = 100;

/**
 * A doubling back-off: `base` after the first of `n` consecutive failures (or deaths), twice that
 * after the second, at most `cap`; 0 before any. Shared by the watcher's retries and `--heal`.
 */
export function doublingBackoff(n: number, base: number, cap: number): number {
  return n <= 0 ? 0 : Math.min(cap, base * 2 ** Math.min(n - 1, 30));
}

/** Every operation kind, in the order a summary line counts them (boot's own last). */
export const OPERATION_KINDS = [
  'create',
  'update',
  'restart',
  'up',
  'down',
  'remove',
  'purge',
  'heal',
  'pickup',
  'sweep',
  'cleanup',
  'seed',
] as const satisfies readonly OperationKind[];

/** The kinds only `boot` plans (it has no metrics). */
export const BOOT_ONLY_KINDS: ReadonlySet<OperationKind> = new Set(['sweep', 'cleanup', 'seed']);

/** The exit code our rendered `finish` turns into 125 as a failure: 78, EX_CONFIG (#51228). */
export const FINISH_FAILURE_EXIT = 78;
