/** What desired builds: the wanted services, the decisions per profile, notices. Types only. */

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
  /**
   * Pending for its slot (one not adopted): whether it would start once adopted, multiplexing
   * included (the watcher's and the metrics' intent); nothing starts or stops meanwhile.
   */
  readonly wouldStart?: boolean;
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
