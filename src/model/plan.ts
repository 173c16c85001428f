/** What diff plans and actuate applies: operations, the plan, results and drift. Types only. */
import type { DirIdentity } from './observed.js';
import type { FileSpec, ServiceSpec } from './desired.js';

/** How one file of an existing slot has to change. */
export interface FileChange {
  readonly path: string;
  /** `write` replaces content (temp + rename); `chmod`/`chown` fix metadata in place. */
  readonly fix: 'write' | 'chmod' | 'chown';
  readonly spec: FileSpec;
  /** Previous content as text, when it was readable (for the unified diff). */
  readonly before?: string;
  /**
   * Set when the content already matches and only the owner is wrong: the file is rewritten (never
   * chowned: it could be a hard link) keeping this mtime, so a running service does not look stale.
   */
  readonly keepMtimeMs?: number;
  /** What changes besides the content, for a person (`mode 0600 → 0755`); actuate never reads it. */
  readonly detail?: string;
}

/** How a directory of an existing slot has to change (`''` is the slot itself). */
export interface DirChange {
  readonly path: '' | 'log';
  readonly fix: 'mkdir' | 'chmod' | 'chown';
  readonly mode: number;
  /** `mkdir` only: a non-directory holds the name (a symlink, a file) and is unlinked first. */
  readonly replace?: boolean;
  /** What changes, for a person (`owner uid 1000 → 0`, `a symlink → a directory`); actuate never reads it. */
  readonly detail?: string;
}

interface OperationBase {
  readonly service: string;
  readonly profile: string;
  /** For humans only: actuate never branches on it. */
  readonly reason: string;
}

/** Build a new slot and publish it with one rename. */
export interface CreateOp extends OperationBase {
  readonly kind: 'create';
  readonly spec: ServiceSpec;
}

/** Fix individual files of an existing slot in place. */
export interface UpdateOp extends OperationBase {
  readonly kind: 'update';
  readonly dirs: readonly DirChange[];
  readonly changes: readonly FileChange[];
  /** The slot directory observe saw; the update applies only to that directory. */
  readonly expect?: DirIdentity;
  /** A slot without our record that may not be adopted: the update changes nothing and fails with its reason. */
  readonly refused?: true;
  /**
   * A slot without our record, which this update adopts (writing the record last), whoever owns its
   * directories by now (an adoption that failed after its chown left the slot root's).
   */
  readonly adopt?: true;
}

/** Restart a running service so it picks up changed run-time files (`s6-svc -r`), journalled first. */
export interface RestartOp extends OperationBase {
  readonly kind: 'restart';
  /** The slot directory observe saw; only that directory's supervisor is signalled. */
  readonly expect?: DirIdentity;
}

/** Delete a profile's stale runtime files left by the previous container (boot). */
export interface SweepOp extends OperationBase {
  readonly kind: 'sweep';
  /** The profile's directory relative to HERMES_HOME (`''` for the root profile). */
  readonly dir: string;
  /** File names inside `dir`, from STALE_RUNTIME_FILES. */
  readonly files: readonly string[];
}

/** Delete an upstream staging leftover (`.<prefix><name>.tmp`) in the scandir (boot). */
export interface CleanupOp extends OperationBase {
  readonly kind: 'cleanup';
  /** The scandir entry's name. */
  readonly entry: string;
}

/** Write the root state file, only if nothing is there (legacy seed, bootstrap state). */
export interface SeedOp extends OperationBase {
  readonly kind: 'seed';
  /** Path relative to HERMES_HOME. */
  readonly path: string;
  readonly content: string;
}

/** Remove the `down` marker (and, with a live s6, bring the service up). */
export interface UpOp extends OperationBase {
  readonly kind: 'up';
  /** The slot directory observe saw; only that directory gets the change. */
  readonly expect?: DirIdentity;
}

/** Create the `down` marker (and, with a live s6, bring the service down). */
export interface DownOp extends OperationBase {
  readonly kind: 'down';
  /** The slot directory observe saw; only that directory gets the change. */
  readonly expect?: DirIdentity;
}

/** Take an owned slot of a deleted profile out of supervision and delete it. */
export interface RemoveOp extends OperationBase {
  readonly kind: 'remove';
  /** The slot directory observe saw; only that directory is removed. */
  readonly expect?: DirIdentity;
  /** This user may not stop its supervisor (ObservedSlot.controlDenied): nothing is touched, the remove fails with its reason. */
  readonly refused?: true;
}

/**
 * Finish a removal an earlier pass began: the slot is in our trash. If its supervisor still
 * listens, s6-svscan is told to stop it again (`-an`); once it is gone the entry is deleted.
 */
export interface PurgeOp extends OperationBase {
  readonly kind: 'purge';
  readonly supervised: boolean;
  /** Its gateway is stopping already (TrashEntry.stopping): waited for, not told again. */
  readonly stopping?: boolean;
  /** This user may not stop its supervisor (TrashEntry.controlDenied): nothing is touched, the purge fails with its reason. */
  readonly refused?: true;
}

/**
 * Bring a supervised service up again (`s6-svc -u`) that s6 holds down although the intent is
 * running (`watch --heal`, `sync --heal`); the `down` marker is already absent.
 */
export interface HealOp extends OperationBase {
  readonly kind: 'heal';
  /** The slot directory observe saw (as the plan's update leaves it); only its supervisor is told. */
  readonly expect?: DirIdentity;
}

/**
 * Have a running s6-svscan pick up a slot it never supervised (`s6-svscanctl -a`, one for every
 * pickup of a pass): a slot written while it ran, by a `boot` run by hand, say. Its supervisor
 * starts and keeps the service up or down as the slot's `down` marker says. `sync` and `watch`
 * plan it; `boot` leaves rescanning to s6-overlay, as upstream does.
 */
export interface PickupOp extends OperationBase {
  readonly kind: 'pickup';
}

/**
 * One step of a plan, discriminated on `kind`. To add a kind: its interface here and in
 * model/constants' OPERATION_KINDS, its order in diff's KIND_ORDER, its case in actuate's
 * dispatch, its paths in cli/output's `filesOf`, and the schema.
 */
export type Operation =
  CreateOp | UpdateOp | UpOp | DownOp | RemoveOp | PurgeOp | RestartOp | SweepOp | CleanupOp | SeedOp | HealOp | PickupOp;

/** Every operation kind. */
export type OperationKind = Operation['kind'];

/** The ordered list of changes that turns the observed state into the desired one. */
export interface Plan {
  readonly operations: readonly Operation[];
  /**
   * Running services whose run-time files changed and that this pass does not restart (no
   * `--restart-changed`): a report, not an effect.
   */
  readonly restartPending: readonly string[];
}

/** Outcome of one applied operation. */
export interface OperationResult {
  readonly op: Operation;
  readonly status: 'applied' | 'failed';
  readonly error?: string;
}
