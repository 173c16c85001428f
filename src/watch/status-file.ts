/**
 * The watcher's status file (schemas/status-file.schema.json): the last pass, and each service's
 * condition. Written atomically (temp file + rename) after every pass; it is the only thing a quiet
 * pass writes, and it lives outside the scandir (default /run/reconcile-gateways/status.json).
 */
import path from 'node:path';
import { closeDir, openRoot, writeFileAt } from '../safe-fs/index.js';
import { DRIFT_TYPES, type DriftCondition, type DriftEvidence, type DriftType } from '../desired/drift.js';
import type { ConditionTable } from './conditions.js';
import type { Trigger } from './scheduler.js';

/** Operation counts of one pass. */
export interface PassCounts {
  readonly create: number;
  readonly update: number;
  readonly up: number;
  readonly down: number;
  readonly remove: number;
  readonly restart?: number;
  readonly purge?: number;
  readonly heal: number;
  /** Slots a rescan had s6-svscan pick up (absent before pickups were operations). */
  readonly pickup?: number;
  readonly failed: number;
  readonly held: number;
  readonly restartPending: number;
}

/** One pass as the status file reports it. */
export interface PassSummary {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly scope: 'full' | 'targeted';
  readonly trigger: Trigger;
  /** Profiles a targeted pass re-checked (the root profile is always read too). */
  readonly profiles?: readonly string[];
  readonly result: 'converged' | 'partial' | 'blocked' | 'error';
  /** What `sync` would have exited with for this pass. */
  readonly exitCode: number;
  readonly error?: { readonly code: string; readonly message: string; readonly terminal: boolean };
  readonly counts?: PassCounts;
  /** Services in each drift condition after this pass, over every slot the watcher knows (one a targeted pass did not read counts as the pass that last read it found it). */
  readonly drift?: Readonly<Record<DriftType, number>>;
  /** Services with an operation applied or failed in this pass, sorted. */
  readonly changed?: readonly string[];
  /** Services in a drift condition after this pass, sorted (what `drift` counts). */
  readonly drifting?: readonly string[];
  readonly warnings: readonly string[];
}

/** The whole status document. */
export interface StatusDocument {
  readonly formatVersion: '2';
  readonly pid: number;
  readonly startedAt: string;
  readonly hermesHome: string;
  readonly scandir: string;
  readonly intervalSeconds: number;
  /** Whether a first pass completed (readiness was signalled). */
  readonly ready: boolean;
  readonly passes: number;
  readonly lastPass: PassSummary | null;
  readonly lastFullPassAt: string | null;
  readonly nextFullPassAt: string;
  readonly watchedDirectories: number;
  readonly services: readonly Record<string, unknown>[];
  /** Only in the document a watcher writes as it stops cleanly: when, and on which signal. */
  readonly stopped?: WatcherStop;
}

/** A clean stop of the watcher, as its last status file records it. */
export interface WatcherStop {
  readonly at: string;
  readonly by: 'SIGTERM' | 'SIGINT';
}

/** ISO-8601 UTC text of a time in ms. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** One drift condition as `status` and the watcher's status file report it. */
export interface DriftReport {
  readonly type: DriftCondition['type'];
  readonly since: string;
  readonly forSeconds: number;
  readonly evidence: DriftEvidence;
}

/** The report form of a drift condition at `nowMs`. */
export function driftReport(d: DriftCondition, nowMs: number): DriftReport {
  return {
    type: d.type,
    since: new Date(d.sinceUnix * 1000).toISOString(),
    forSeconds: Math.max(0, Math.floor(nowMs / 1000 - d.sinceUnix)),
    evidence: d.evidence,
  };
}

/** How many of `drift` are in each condition. */
export function driftCounts(drift: readonly DriftCondition[]): Record<DriftType, number> {
  const counts = Object.fromEntries(DRIFT_TYPES.map((t) => [t, 0])) as Record<DriftType, number>;
  for (const d of drift) counts[d.type] += 1;
  return counts;
}

/** The services in some drift condition, each once, sorted (what a pass's `drifting` lists). */
export function driftingServices(drift: readonly DriftCondition[]): string[] {
  return [...new Set(drift.map((d) => d.service))].sort();
}

/** The `services` array: sorted by service name, times as ISO text. */
export function serviceEntries(table: ConditionTable, nowMs: number): Record<string, unknown>[] {
  return Object.values(table)
    .slice()
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0))
    .map((c) => ({
      service: c.service,
      profile: c.profile,
      condition: c.condition,
      ...(c.reason === undefined ? {} : { reason: c.reason }),
      consecutiveFailures: c.consecutiveFailures,
      ...(c.nextAttemptAtMs === undefined ? {} : { nextAttemptAt: iso(c.nextAttemptAtMs) }),
      restartPending: c.restartPending,
      ...(c.autostart === undefined ? {} : { autostart: c.autostart }),
      since: iso(c.sinceMs),
      ...(c.live === undefined ? {} : { live: c.live }),
      drift: (c.drift ?? []).map((d) => driftReport(d, nowMs)),
    }));
}

/**
 * Writes the document atomically. Its directory is never made here: the watcher made it when it
 * took its lock there (cli/watch-lock.ts), and one made again after someone removed it would hold
 * no lock, so a second watcher could start on the same file.
 */
export function writeStatusFile(file: string, doc: StatusDocument): void {
  const dir = openRoot(path.dirname(path.resolve(file)));
  try {
    writeFileAt(dir, path.basename(file), `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o644, fsync: false, overFileOnly: true });
  } finally {
    closeDir(dir);
  }
}
