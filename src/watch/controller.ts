/**
 * The watch loop: a pass at start, then passes driven by events (targeted, debounced, with a
 * minimum gap), per-service retries, the interval (full, jittered) and SIGHUP (full, back-off
 * cleared). Level-triggered: events only say "look soon"; every pass re-observes. The pass itself
 * is injected, so this file owns only the when and the bookkeeping.
 */
import type { OperationResult } from '../model.js';
import type { PassResult } from '../reconcile.js';
import { Alarm } from './alarm.js';
import { type ConditionTable, backoffDelayMs, clearBackoff, heldServices, nextRetry, recordOutcomes, shiftTimes } from './conditions.js';
import { type Hint, HintBatch } from './hints.js';
import { passOutcomes } from './outcomes.js';
import { type Step, type Timing, type Trigger, nextFullAt, nextStep } from './scheduler.js';
import {
  type PassCounts,
  type PassSummary,
  type StatusDocument,
  driftCounts,
  driftingServices,
  iso,
  serviceEntries,
} from './status-file.js';

/** What the controller asks the pass runner for. */
export interface PassRequest {
  readonly trigger: Trigger;
  /** Profiles to re-check, or undefined for a full pass. */
  readonly profiles: ReadonlySet<string> | undefined;
  /** Services still backing off: planned, not applied. */
  readonly hold: ReadonlySet<string>;
  /** Of `profiles`, those named only because their state file changed. */
  readonly intentOnly?: ReadonlySet<string>;
}

/** What a pass came back with. */
export type PassReport =
  | {
      readonly kind: 'done';
      readonly result: PassResult;
      readonly scoped: boolean;
      readonly exitCode: number;
      readonly warnings: readonly string[];
      /** The slot-name prefix of the settings this pass used (events in the scandir are named by it). */
      readonly servicePrefix: string;
    }
  | { readonly kind: 'error'; readonly code: string; readonly message: string; readonly terminal: boolean; readonly exitCode: number }
  | { readonly kind: 'aborted' }
  /** A targeted pass found every named intent unchanged and did not run. */
  | { readonly kind: 'unchanged' };

/** What `onPass` gets besides the document: the table behind it and the pass's results. */
export interface PassDetail {
  readonly table: ConditionTable;
  readonly results: readonly OperationResult[];
}

/** The controller's collaborators; clocks are injected so the loop is deterministic under test. */
export interface ControllerOptions {
  readonly timing: Timing;
  /** The wall clock (ms since the epoch): deadlines, and the times the status document shows. */
  readonly now: () => number;
  /**
   * A clock that never steps (performance.now): when the wall clock steps (NTP, a VM resumed),
   * every deadline moves with it, so none waits out the step (a step back of 10 minutes stopped
   * interval passes for 10 minutes). Without it, steps are not looked for.
   */
  readonly monotonic?: () => number;
  readonly random: () => number;
  readonly runPass: (request: PassRequest, signal: AbortSignal) => Promise<PassReport>;
  /** Re-aligns the inotify watches with the directories that exist now. */
  readonly refreshWatches: () => Promise<void>;
  readonly watchedDirectories: () => number;
  /**
   * Called after every pass with the new status document (write it, print it, signal readiness),
   * the condition table it was made from, and what the pass applied.
   */
  readonly onPass: (doc: StatusDocument, summary: PassSummary, firstCompleted: boolean, detail: PassDetail) => void;
  readonly meta: { readonly pid: number; readonly hermesHome: string; readonly scandir: string };
}

/** How far the wall clock may drift from the monotonic one between two readings before it counts as a step. */
const CLOCK_STEP_MS = 1000;

/** The watch loop's state and its entry points for events and signals. */
export class Controller {
  readonly #o: ControllerOptions;
  readonly #alarm = new Alarm();
  readonly #abort = new AbortController();
  #startedMs: number;
  /** When the pass in flight started (moved with the clock, as every deadline is). */
  #passStartMs = 0;
  readonly #hints = new HintBatch();
  #forced = false;
  #stopped = false;
  #table: ConditionTable = {};
  #nextFullAtMs: number;
  #lastPassEndMs: number | undefined;
  #lastFullMs: number | undefined;
  #erroring = false;
  #globalFailures = 0;
  #passes = 0;
  #ready = false;
  #lastPass: PassSummary | null = null;
  /** The last reading of both clocks, to tell a step of the wall clock from time passing. */
  #clocks: { readonly wall: number; readonly mono: number } | undefined;

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#startedMs = this.#now();
    this.#nextFullAtMs = this.#startedMs;
  }

  /**
   * The wall clock, with every time kept moved back by as much as it stepped back since the last
   * reading (beyond the time that passed, by the monotonic clock, and more than a second). A step
   * forward moves nothing: the loop sleeps by the time that passed, so nothing bunches, and the
   * monotonic clock stands still while a VM is suspended (a resume must not push deadlines back).
   */
  #now(): number {
    const wall = this.#o.now();
    const mono = this.#o.monotonic?.();
    if (mono === undefined) return wall;
    const last = this.#clocks;
    this.#clocks = { wall, mono };
    const step = last === undefined ? 0 : wall - last.wall - (mono - last.mono);
    if (step < -CLOCK_STEP_MS) this.#shift(step);
    return wall;
  }

  #shift(ms: number): void {
    this.#startedMs += ms;
    this.#passStartMs += ms;
    this.#nextFullAtMs += ms;
    if (this.#lastPassEndMs !== undefined) this.#lastPassEndMs += ms;
    if (this.#lastFullMs !== undefined) this.#lastFullMs += ms;
    this.#hints.shift(ms);
    this.#table = shiftTimes(this.#table, ms);
  }

  /** An event named something worth a look. */
  hint(hint: Hint): void {
    // Only the first hint of a batch can move the next pass earlier (debounce runs from it).
    if (this.#hints.add(hint, this.#now())) this.#alarm.ring();
  }

  /** SIGHUP: a full pass now, back-off cleared. */
  force(): void {
    this.#forced = true;
    this.#alarm.ring();
  }

  /** SIGTERM/SIGINT: stop waiting (the lock included) and return from run(). */
  stop(): void {
    this.#stopped = true;
    this.#abort.abort(new Error('watch is stopping'));
    this.#alarm.ring();
  }

  /** The status document as of now (before the first pass: no pass, not ready). */
  document(): StatusDocument {
    return this.#document();
  }

  /** Runs until stop(). */
  async run(): Promise<void> {
    while (!this.#stopped) {
      const now = this.#now();
      const step = nextStep(
        {
          nowMs: now,
          nextFullAtMs: this.#nextFullAtMs,
          forced: this.#forced,
          dirty: this.#hints.view(),
          lastPassEndMs: this.#lastPassEndMs,
          retry: nextRetry(this.#table, now),
          erroring: this.#erroring,
        },
        this.#o.timing,
      );
      if (step.kind === 'wait') await this.#alarm.sleep(step.ms);
      else await this.#runStep(step);
    }
  }

  async #runStep(step: Exclude<Step, { kind: 'wait' }>): Promise<void> {
    this.#passStartMs = this.#now();
    const startMs = this.#passStartMs;
    if (this.#forced) {
      this.#forced = false;
      this.#table = clearBackoff(this.#table);
    }
    const intentOnly = step.scope === 'targeted' && step.trigger === 'event' ? this.#hints.view().intentOnly : undefined;
    if (step.scope === 'full' || step.trigger === 'event') this.#hints.clear();
    const profiles = step.scope === 'full' ? undefined : step.profiles;
    // State-file hints come from directories already watched: no new directory to look for.
    const onlyIntents = profiles !== undefined && intentOnly !== undefined && [...profiles].every((p) => intentOnly.has(p));
    if (!onlyIntents) await this.#o.refreshWatches();
    const hold = heldServices(this.#table, startMs);
    const request = { trigger: step.trigger, profiles, hold, ...(intentOnly === undefined ? {} : { intentOnly }) };
    const report = await this.#o.runPass(request, this.#abort.signal);
    // A pass that ran to its end is recorded even when a stop came meanwhile: what it applied is
    // real, and the watcher's last status document must say so.
    if (report.kind === 'aborted') return;
    if (report.kind === 'unchanged') return;
    // The first pass may have created the scandir: watch it now rather than at the next pass.
    if (this.#passes === 0) await this.#o.refreshWatches();
    const endMs = this.#now();
    // Read again: a step back of the clock during the pass (a lock wait, a removal's wait) moved it.
    const passStartMs = this.#passStartMs;
    this.#lastPassEndMs = endMs;
    this.#passes += 1;
    const full = report.kind === 'done' && !report.scoped;
    this.#schedule(report, passStartMs, endMs, full);
    const summary = summarize(report, { trigger: step.trigger, profiles, full, startMs: passStartMs, endMs }, this.#table);
    this.#lastPass = summary;
    const firstCompleted = report.kind === 'done' && !this.#ready;
    if (firstCompleted) this.#ready = true;
    const results = report.kind === 'done' ? report.result.results : [];
    this.#o.onPass(this.#document(), summary, firstCompleted, { table: this.#table, results });
  }

  #schedule(report: PassReport, startMs: number, endMs: number, full: boolean): void {
    const { intervalMs } = this.#o.timing;
    if (report.kind === 'done') {
      this.#table = recordOutcomes(this.#table, passOutcomes(report.result), endMs, full);
      this.#erroring = false;
      this.#globalFailures = 0;
      if (full) {
        this.#lastFullMs = startMs;
        this.#nextFullAtMs = nextFullAt(startMs, intervalMs, this.#o.random);
      }
      return;
    }
    if (report.kind !== 'error') return;
    this.#erroring = true;
    this.#globalFailures += 1;
    // A terminal error (invalid config) waits for the interval or SIGHUP; others back off.
    const delay = report.terminal ? intervalMs : Math.min(backoffDelayMs(this.#globalFailures), intervalMs);
    this.#nextFullAtMs = nextFullAt(endMs, delay, this.#o.random);
  }

  #document(): StatusDocument {
    return {
      formatVersion: '2',
      ...this.#o.meta,
      startedAt: iso(this.#startedMs),
      intervalSeconds: this.#o.timing.intervalMs / 1000,
      ready: this.#ready,
      passes: this.#passes,
      lastPass: this.#lastPass,
      lastFullPassAt: this.#lastFullMs === undefined ? null : iso(this.#lastFullMs),
      nextFullPassAt: iso(this.#nextFullAtMs),
      watchedDirectories: this.#o.watchedDirectories(),
      services: serviceEntries(this.#table, this.#now()),
    };
  }
}

/** What a finished pass covered and when, as its summary states it. */
interface PassSpan {
  readonly trigger: Trigger;
  /** The profiles the pass was asked to re-check; undefined for a full pass. */
  readonly profiles: ReadonlySet<string> | undefined;
  /** Whether the pass read everything (a targeted request may come back as a full pass). */
  readonly full: boolean;
  readonly startMs: number;
  readonly endMs: number;
}

/** The status document's summary of a pass that ran to its end or failed. */
function summarize(report: Exclude<PassReport, { kind: 'aborted' | 'unchanged' }>, span: PassSpan, table: ConditionTable): PassSummary {
  const { trigger, profiles, full, startMs, endMs } = span;
  const base = {
    startedAt: iso(startMs),
    finishedAt: iso(endMs),
    durationMs: Math.max(0, Math.round(endMs - startMs)),
    scope: full || profiles === undefined ? ('full' as const) : ('targeted' as const),
    trigger,
    ...(full || profiles === undefined ? {} : { profiles: [...profiles].sort() }),
  };
  if (report.kind === 'error') {
    return {
      ...base,
      result: 'error',
      exitCode: report.exitCode,
      error: { code: report.code, message: report.message, terminal: report.terminal },
      warnings: [],
    };
  }
  return { ...base, ...summarizeDone(report, table) };
}

/** The part of a done pass's summary past its time and scope: its result, counts, drift and warnings. */
function summarizeDone(
  report: Extract<PassReport, { kind: 'done' }>,
  table: ConditionTable,
): Omit<PassSummary, 'startedAt' | 'finishedAt' | 'durationMs' | 'scope' | 'trigger' | 'profiles'> {
  const r = report.result;
  const counts = countOps(r);
  // As `sync` says it: a blocked prune first (an alarm), then failures.
  const result = r.desired.pruneBlocked !== undefined ? 'blocked' : counts.failed > 0 ? 'partial' : 'converged';
  const changed = [...new Set(r.results.map((x) => x.op.service))].sort();
  // Drift over every slot the watcher knows, as its metrics count it: a targeted pass reads only
  // its profiles, and counting those alone read as "the drift cleared" (running_but_down=0).
  const known = Object.values(table).flatMap((c) => c.drift ?? []);
  const drift = driftCounts(known);
  const drifting = driftingServices(known);
  return {
    result,
    exitCode: report.exitCode,
    counts,
    drift,
    ...(changed.length === 0 ? {} : { changed }),
    ...(drifting.length === 0 ? {} : { drifting }),
    warnings: [...report.warnings],
  };
}

function countOps(r: PassResult): PassCounts {
  const n = (k: string): number => r.plan.operations.filter((o) => o.kind === k).length;
  return {
    create: n('create'),
    update: n('update'),
    up: n('up'),
    down: n('down'),
    remove: n('remove'),
    restart: n('restart'),
    purge: n('purge'),
    heal: n('heal'),
    pickup: n('pickup'),
    failed: r.results.filter((x) => x.status === 'failed').length,
    held: r.held.length,
    restartPending: r.plan.restartPending.length,
  };
}
