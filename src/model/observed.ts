/** What observe reads: the scandir, its slots and the profiles on the volume. Types only. */

/** What reading one small file without following links produced. Bytes are raw, not parsed. */
export type FileRead =
  | { readonly kind: 'missing' }
  | {
      readonly kind: 'file';
      readonly bytes: Uint8Array;
      readonly mode: number;
      readonly uid: number;
      readonly mtimeMs: number;
      /** The file's link count, when it has more than one name (a chmod would change them all). */
      readonly links?: number;
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
  | {
      readonly kind: 'parsed';
      readonly desiredState: string | undefined;
      readonly gatewayState: string | undefined;
      /** The JSON type of a `desired_state` that is present, not null and no string (so ignored). */
      readonly desiredStateIgnored?: string;
    };

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
  /**
   * Names with a `profiles/.deleted/<name>` tombstone, with its mtime; NaN (not read) for a name
   * with no directory under `profiles/`, whose profile is gone whatever its tombstone says.
   */
  readonly tombstones: ReadonlyMap<string, number>;
  /** Tombstones beyond the most one pass reads (observe's TOMBSTONES_MAX), which count for nothing. */
  readonly tombstonesSkipped?: number;
  /**
   * Why `profiles/.deleted` could not be read (a symlink, never followed; a file; no permission):
   * its tombstones count for nothing, as if there were none.
   */
  readonly tombstonesUnread?: string;
  /** Names of directories under `profiles/` that exist at all (with or without SOUL.md). */
  readonly presentDirs: ReadonlySet<string>;
  /** The directories this pass read and found without a SOUL.md: no profiles (a targeted pass reads only its own). */
  readonly notProfiles: ReadonlySet<string>;
  /**
   * A targeted pass: whether a directory outside its scope holds a profile (a valid name and a
   * SOUL.md that is a regular file; the search stops at the first). Looked for only when the
   * directory of a profile in scope vanished; false otherwise, and in a full pass.
   */
  readonly profileOutOfScope: boolean;
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
  /** `HERMES_HOME`, made absolute: what the gateways inherit (else the scripts use the config's `home`); unset when empty. */
  readonly hermesHome?: string;
}

/** Facts about the container that policy depends on: gathered by observe, the clock by the CLI. */
export interface HostFacts {
  /** The container's argv (empty when unknown or not needed). */
  readonly argv: readonly string[];
  readonly env: HostEnv;
  readonly config: ConfigRead;
  /** Wall-clock time of the pass, for seeds' timestamps and to distrust mtimes in the future. */
  readonly nowMs: number;
  /**
   * The `/etc/passwd` entry of the config's `user`, when it has one: `s6-setuidgid` in every
   * slot's `run` and `log/run` gives the gateway and its logger that account's uid.
   */
  readonly account?: { readonly uid: number };
  /** HERMES_HOME as this pass reads it, made absolute (`--hermes-home`, else `HERMES_HOME`, else /opt/data). */
  readonly volume?: string;
}

/** Metadata of a directory inside a slot. */
export type DirRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'dir'; readonly mode: number; readonly uid: number }
  /** `code` EFTYPE: the entry is no directory (a symlink, a file); otherwise it could not be read. */
  | { readonly kind: 'refused'; readonly reason: string; readonly code?: string };

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
  /**
   * Whether its gateway is on its way down: up, with s6 wanting it down (an earlier pass's `-an`
   * or `-dx` reached its supervisor, which exits once the gateway does). Telling it again would
   * only send the gateway another SIGTERM in the middle of its clean stop.
   */
  readonly stopping: boolean;
  /** This user may not open its or its logger's `supervise/control` (not root): it cannot stop it, so never deletes it. */
  readonly controlDenied?: true;
  /**
   * Not supervised, though a process holds its (or its logger's) `supervise/control` open for
   * reading: no process of root or of this user works in its directory, as an s6-supervise would,
   * so that reader is not waited for.
   */
  readonly heldOpen?: true;
  /**
   * A scandir entry that is a symlink to it (into our trash, or to its supervisor's
   * `/proc/<pid>/cwd`), by name: s6-svscan tells services apart by device and inode, so it keeps
   * that supervisor through the link after `-an`, and no purge can stop it.
   */
  readonly linkedFrom?: string;
  /** Its supervisor runs, and the scandir holds more symlinks than observe follows: one of the rest may lead to it. */
  readonly linksUnchecked?: true;
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
  /**
   * A slot without our record: its entries the Hermes CLI never writes (`data`, `log/finish`),
   * which keep it from being adopted: the first five, then `+N more`. Empty when it holds none
   * (and for our own slots, which are not listed).
   */
  readonly foreignEntries: readonly string[];
  readonly live?: LiveStatus;
  /**
   * Its logger's live state (`log/supervise/status`), read with `live`: absent when s6 never
   * supervised the logger or this user may not read it.
   */
  readonly loggerLive?: LiveStatus;
  /**
   * This user may not read the slot's `supervise/status` (a non-root pass outside its group): `live`
   * is absent, and whether its gateway runs is unknown, not "no".
   */
  readonly liveDenied?: true;
  /** The directory observe read (absent when it could not be opened). */
  readonly identity?: DirIdentity;
  /**
   * An owned slot whose or whose logger's `supervise/control` this user may not open (never root):
   * it could not stop the supervisor, so the slot is never moved out of the scandir.
   */
  readonly controlDenied?: true;
}

/** Everything read from the scandir. */
export interface ObservedScandir {
  readonly exists: boolean;
  /** Slots keyed by service name; only `<prefix><valid name>` entries are listed. */
  readonly slots: ReadonlyMap<string, ObservedSlot>;
  /** Whether an s6-svscan listens on `.s6-svscan/control`. */
  readonly svscanLive: boolean;
  /**
   * Why this user cannot tell whether an s6-svscan listens (`.s6-svscan` is s6-svscan's own 0700
   * directory: a non-root pass may not look). `svscanLive` is then false and nothing is sent to
   * s6-svscan; every pass reads each slot's live state where its `supervise/` lets this user read
   * it, and sends its supervisor what the plan says.
   */
  readonly svscanUnknown?: string;
  /**
   * Count of non-dot directories (services) in the scandir, for the 500-service warning. A
   * service's logger (`log/`) does not count: s6-svscan -c counts a service with its logger once.
   */
  readonly serviceCount: number;
  /** Services whose restart was decided but not yet done (persisted by a previous pass). */
  readonly pendingRestarts: ReadonlySet<string>;
  /** Owner of the restart journal, when it exists: a journal root did not write is not trusted. */
  readonly journalUid?: number;
  /** Upstream's staging leftovers (`.<prefix><name>.tmp`), which boot removes. */
  readonly upstreamLeftovers: readonly string[];
  /** Slots in our trash, waiting to be deleted (absent: none, or not read). */
  readonly trash?: readonly TrashEntry[];
  /**
   * Directories whose ownership record names this tool and themselves, but whose name is not the
   * service prefix and the profile it names: slots an earlier `servicePrefix` made, never touched
   * (absent: none, or the pass did not read the whole scandir).
   */
  readonly otherPrefix?: readonly { readonly service: string; readonly profile: string }[];
  /**
   * Slot-named entries of no profile and not ours beyond the first FOREIGN_LISTED_MAX (observe):
   * counted, not kept, since nothing is ever done to them and the hermes user can make millions.
   */
  readonly foreignUnlisted?: number;
}

/** The actual state of the world, as observe returns it. */
export interface ObservedState {
  readonly home: ObservedHome;
  readonly scandir: ObservedScandir;
}
