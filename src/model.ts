/**
 * The domain vocabulary of reconcile-gateways: what observe reads, what desired builds, what diff
 * plans and what actuate applies. Types only; no behaviour lives here.
 */

/** Which pass is running: the cont-init one-shot or a live re-sync. */
export type Mode = 'boot' | 'sync';

/** Tool settings, after defaults were merged with the config file (see schemas/config.schema.json). */
export interface Settings {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shebang: string;
  readonly gatewayCommand: string;
  readonly s6BinDir: string;
  readonly servicePrefix: string;
  readonly bootLogMaxBytes: number;
  /** Who owns a new slot's supervise skeleton: upstream's hermes user, or root with group access. */
  readonly superviseOwner: 'user' | 'root';
  readonly multiplexPolicy: 'gate' | 'fold';
}

// ---------------------------------------------------------------------------------------------
// Observed state
// ---------------------------------------------------------------------------------------------

/** What reading one small file without following links produced. Bytes are raw, not parsed. */
export type FileRead =
  | { readonly kind: 'missing' }
  | {
      readonly kind: 'file';
      readonly bytes: Uint8Array;
      readonly mode: number;
      readonly uid: number;
      readonly mtimeMs: number;
    }
  | { readonly kind: 'refused'; readonly reason: string; readonly code: string };

/**
 * A profile's state file, parsed: only the two fields the reconciler reads are kept, and only when
 * they are strings (anything else reads as absent, as upstream's "not a string" does), so a
 * hermes-written megabyte of nested JSON is never retained (issue 16 #1).
 */
export type StateFile =
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly reason: string }
  | { readonly kind: 'parsed'; readonly desiredState: string | undefined; readonly gatewayState: string | undefined };

/** The lifecycle ledger's phase, or why it is unknown. */
export type Lifecycle =
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly reason: string }
  | { readonly kind: 'parsed'; readonly phase: string | undefined };

/** One candidate profile as found on the volume (the root one included). */
export interface ObservedProfile {
  /** Directory entry name; `default` for the root. May be invalid (then it is skipped). */
  readonly name: string;
  readonly isRoot: boolean;
  /** Why the candidate cannot be used even though it looks like a profile, if so. */
  readonly unusable?: string;
  readonly state: StateFile;
  readonly lifecycle: Lifecycle;
  /** mtime of SOUL.md, for tombstone comparison (named profiles only). */
  readonly soulMtimeMs?: number;
  /** Which of STALE_RUNTIME_FILES exist in its directory (read for boot only; else empty). */
  readonly runtimeFiles?: readonly string[];
}

/** Why the set of named profiles could not be listed, when it could not. */
export type ProfilesRoot =
  { readonly kind: 'ok' } | { readonly kind: 'missing' } | { readonly kind: 'unreadable'; readonly reason: string };

/** Everything read from HERMES_HOME. */
export interface ObservedHome {
  readonly profilesRoot: ProfilesRoot;
  /** Root first, then named candidates in byte order of their names. */
  readonly profiles: readonly ObservedProfile[];
  /** Names with a `profiles/.deleted/<name>` tombstone, with its mtime. */
  readonly tombstones: ReadonlyMap<string, number>;
  /** Names of directories under `profiles/` that exist at all (with or without SOUL.md). */
  readonly presentDirs: ReadonlySet<string>;
  /** Whether `profiles/default/` holds a SOUL.md (it is ignored with a warning). */
  readonly shadowedDefault: boolean;
  /** What is at `HERMES_HOME/gateway_state.json`, for the seeds that write it only when absent. */
  readonly rootStateEntry?: RootStateEntry;
}

/** The root state file's entry: nothing, a regular file, or something that must not be written. */
export type RootStateEntry =
  { readonly kind: 'absent' } | { readonly kind: 'file' } | { readonly kind: 'blocked'; readonly reason: string };

/** Hermes' `config.yaml`, parsed (a document of any shape), or why it could not be. */
export type ConfigRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'parsed'; readonly doc: unknown }
  | { readonly kind: 'unreadable'; readonly problem: string };

/** The environment values the pure core decides from (upstream's names). */
export interface HostEnv {
  /** `GATEWAY_MULTIPLEX_PROFILES`. */
  readonly multiplex?: string;
  /** `HERMES_GATEWAY_NO_SUPERVISE`. */
  readonly noSupervise?: string;
  /** `HERMES_GATEWAY_BOOTSTRAP_STATE` (#37896). */
  readonly bootstrapState?: string;
}

/** Facts about the container that policy depends on: gathered by observe, the clock by the CLI. */
export interface HostFacts {
  /** The container's argv (empty when unknown or not needed). */
  readonly argv: readonly string[];
  readonly env: HostEnv;
  readonly config: ConfigRead;
  /** Wall-clock time of the pass, for seeds' timestamps and to distrust mtimes in the future. */
  readonly nowMs: number;
}

/** Metadata of a directory inside a slot. */
export type DirRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'dir'; readonly mode: number; readonly uid: number }
  | { readonly kind: 'refused'; readonly reason: string };

/** Live s6 view of a supervised service, decoded from `supervise/status`. */
export interface LiveStatus {
  readonly supervised: boolean;
  readonly up: boolean;
  readonly wantedUp: boolean;
  readonly pid: number;
  readonly exitcode: number;
  readonly signum: number;
  readonly updownSinceUnix: number;
  readonly ready: boolean;
  readonly finishing: boolean;
  /**
   * s6's own death records (`supervise/death_tally`, oldest first), when the file was readable.
   * s6-supervise truncates it at every start, so it never reaches back past the supervisor.
   */
  readonly deaths?: readonly DeathRecord[];
}

/** One record of `supervise/death_tally`: when `./run` died and how. */
export interface DeathRecord {
  readonly atUnix: number;
  /** Exit code, or -1 when the process was killed by a signal. */
  readonly exitcode: number;
  /** Signal number, or -1 when the process exited. */
  readonly signum: number;
}

/**
 * Which directory observe saw at a slot's path: device, inode and owner. Actuate acts only on the
 * directory it opens when that still matches, so a directory swapped in by name after observe is
 * never removed, adopted or rewritten (issue 16 #9, #10).
 */
export interface DirIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly uid: number;
}

/** A removed slot still in our trash (a previous removal was interrupted or is waiting). */
export interface TrashEntry {
  readonly service: string;
  readonly profile: string;
  /** Whether a supervisor (the slot's or its logger's) still listens on it. */
  readonly supervised: boolean;
}

/** One entry of the scandir that looks like ours (`<prefix><name>`) or is our own bookkeeping. */
export interface ObservedSlot {
  readonly service: string;
  /** Profile name derived from the entry name (prefix stripped). */
  readonly profile: string;
  readonly entry: 'dir' | 'symlink' | 'file' | 'other';
  readonly dir: DirRead;
  readonly logDir: DirRead;
  /** Managed files by slot-relative path (`type`, `run`, `finish`, `log/run`, the record). */
  readonly files: ReadonlyMap<string, FileRead>;
  readonly hasDownMarker: boolean;
  readonly owned: boolean;
  readonly live?: LiveStatus;
  /** The directory observe read (absent when it could not be opened). */
  readonly identity?: DirIdentity;
}

/** Everything read from the scandir. */
export interface ObservedScandir {
  readonly exists: boolean;
  /** Slots keyed by service name; only `<prefix><valid name>` entries are listed. */
  readonly slots: ReadonlyMap<string, ObservedSlot>;
  /** Whether an s6-svscan listens on `.s6-svscan/control`. */
  readonly svscanLive: boolean;
  /** Count of non-dot directories (services) in the scandir, for the 500-service warning. */
  readonly serviceCount: number;
  /** Services whose restart was decided but not yet done (persisted by a previous pass). */
  readonly pendingRestarts: ReadonlySet<string>;
  /** Owner of the restart journal, when it exists: a journal root did not write is not trusted. */
  readonly journalUid?: number;
  /** Upstream's staging leftovers (`.<prefix><name>.tmp`), which boot removes. */
  readonly upstreamLeftovers: readonly string[];
  /** Slots in our trash, waiting to be deleted (absent: none, or not read). */
  readonly trash?: readonly TrashEntry[];
}

/** The actual state of the world, as observe returns it. */
export interface ObservedState {
  readonly home: ObservedHome;
  readonly scandir: ObservedScandir;
}

// ---------------------------------------------------------------------------------------------
// Desired state
// ---------------------------------------------------------------------------------------------

/** One file of a rendered slot. `path` is slot-relative (`log/run`). */
export interface FileSpec {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** The rendered, wanted contents of one slot. */
export interface ServiceSpec {
  readonly service: string;
  readonly profile: string;
  readonly autostart: boolean;
  readonly files: readonly FileSpec[];
}

/** What the pass decided for one candidate profile (the `profiles` entries of the JSON plan). */
export interface ProfileDecision {
  readonly profile: string;
  readonly service: string;
  readonly priorState: string | null;
  readonly autostart: boolean;
  readonly action: 'started' | 'registered' | 'skipped' | 'pending';
  readonly reason?: string;
  readonly priorExit: 'clean' | 'unclean' | 'unknown';
  readonly foldedIntoRoot?: boolean;
}

/** A warning the pure core wants reported (the shell logs it). */
export interface Notice {
  readonly level: 'warn' | 'info';
  readonly message: string;
  readonly profile?: string;
}

/** The wanted set of slots plus the per-profile decisions that explain it. */
export interface DesiredState {
  /** Services by name; a profile skipped or pending has no entry. */
  readonly services: ReadonlyMap<string, ServiceSpec>;
  /** Services that must be left exactly as they are (pending: unreadable intent in sync). */
  readonly keep: ReadonlySet<string>;
  /** Services whose profiles are positively gone (may be pruned if owned). */
  readonly gone: ReadonlySet<string>;
  readonly decisions: readonly ProfileDecision[];
  readonly notices: readonly Notice[];
  readonly foldedProfiles: readonly string[];
  /** Why removing slots is blocked in this pass (the empty-set guard), if it is. */
  readonly pruneBlocked?: string;
  /** The root state file this pass writes (legacy `gateway run` or bootstrap seed), if any. */
  readonly seed?: SeedSpec;
  /** Stale runtime files boot deletes, per profile (boot only; live gateways excluded). */
  readonly sweep: readonly SweepSpec[];
  /** Upstream's staging leftovers boot deletes (boot only). */
  readonly cleanup: readonly CleanupSpec[];
}

/** A profile's stale runtime files to delete. */
export interface SweepSpec {
  readonly service: string;
  readonly profile: string;
  /** The profile's directory relative to HERMES_HOME (`''` for the root profile). */
  readonly dir: string;
  readonly files: readonly string[];
}

/** An upstream staging leftover (`.<prefix><name>.tmp`) in the scandir. */
export interface CleanupSpec {
  readonly service: string;
  readonly profile: string;
  readonly entry: string;
}

/** The root state file a seed writes, and why. */
export interface SeedSpec {
  /** The root profile's service, which the seed starts. */
  readonly service: string;
  /** Absolute path, for messages. */
  readonly path: string;
  readonly content: string;
  readonly reason: string;
}

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------

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
}

/** How a directory of an existing slot has to change (`''` is the slot itself). */
export interface DirChange {
  readonly path: '' | 'log';
  readonly fix: 'mkdir' | 'chmod' | 'chown';
  readonly mode: number;
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
}

/**
 * Finish a removal an earlier pass began: the slot is in our trash. If its supervisor still
 * listens, s6-svscan is told to stop it again (`-an`); once it is gone the entry is deleted.
 */
export interface PurgeOp extends OperationBase {
  readonly kind: 'purge';
  readonly supervised: boolean;
}

/**
 * Bring a supervised service up again (`s6-svc -u`) that s6 holds down although the intent is
 * running (`watch --heal`, `sync --heal`); the `down` marker is already absent.
 */
export interface HealOp extends OperationBase {
  readonly kind: 'heal';
}

/**
 * One step of a plan, discriminated on `kind`. To add a kind: its interface here, its order in
 * diff's KIND_ORDER, its case in actuate's dispatch, its paths in `pathsOf`, and the schema.
 */
export type Operation = CreateOp | UpdateOp | UpOp | DownOp | RemoveOp | PurgeOp | RestartOp | SweepOp | CleanupOp | SeedOp | HealOp;

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
