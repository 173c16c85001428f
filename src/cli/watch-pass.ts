/**
 * One `watch` pass: settings reloaded, HERMES_HOME and the scandir opened, the lock taken for
 * this pass only (so an operator's `sync --wait` gets its turn), the pass run, everything closed.
 * Errors become reports: a config whose contents are invalid is terminal (retried at the interval
 * or on SIGHUP, never in a tight loop); anything else backs off, a config that could not be read too.
 */
import { FatalError, LockHeldError, UsageError } from '../errors.js';
import type { HeldLock } from '../lock.js';
import { type Dir, closeDir, openRoot } from '../safe-fs/index.js';
import { type ConfigCache, type ReadCache, observeStateFiles } from '../observe/index.js';
import { unchangedIntents } from '../desired/index.js';
import { isRefused } from '../diff/index.js';
import { awaitingSupervisor, rememberPickups } from '../desired/drift.js';
import { type PassOptions, type PassResult, SVSCAN_DEFAULT_MAX, applyPass, planPass, unapplied } from '../reconcile.js';
import type { PassReport, PassRequest } from '../watch/controller.js';
import type { Args } from './args.js';
import type { Logger } from './logger.js';
import { ConfigReadError, configReadFix } from './config.js';
import {
  EXIT,
  type Io,
  type Prepared,
  type RoleFacts,
  exitCodeOf,
  logPassResult,
  openScandir,
  type PassInputs,
  passOptions,
  passWarnings,
  prepare,
} from './pass.js';
import { replaceForeignStateDir, waitForLock } from './run-lock.js';

/** What every watch pass shares: the arguments and the role resolved once at start. */
export interface WatchContext {
  readonly args: Args;
  readonly facts: RoleFacts;
  readonly io: Io;
  readonly logger: Logger;
  /** The resolved intent of each profile as the last pass that saw it decided it. */
  readonly intents: Map<string, string | null>;
  /** A profile's directory as the event source watches it, open (see EventSource.watchedDir). */
  readonly watchedDir?: (profile: string) => Dir | undefined;
  /** config.yaml as last read, kept across passes so an unchanged file is parsed once (issue 16 #2). */
  readonly configCache?: ConfigCache;
  /** Slot and state files as earlier passes read them: an unchanged one is not read again. */
  readonly readCache?: ReadCache;
  /**
   * The error the last pass failed with, if it failed as a whole: a failure that persists is
   * logged once, not on every retry (each retry still prints its pass line).
   */
  readonly failure?: { message: string | undefined };
  /** The slots earlier passes' pickups had s6-svscan rescan for (rememberPickups): not picked up again. */
  readonly rescans?: { sent: ReadonlySet<string> };
}

/**
 * Drops the profiles named only because their state file changed whose resolved intent is still
 * what the last pass acted on: a gateway rewriting its runtime fields every second then costs one
 * small read, not a pass. Returns the profiles still worth a pass.
 */
export function filterUnchangedIntents(ctx: WatchContext, request: PassRequest): ReadonlySet<string> | undefined {
  if (request.profiles === undefined || request.intentOnly === undefined || request.intentOnly.size === 0) return request.profiles;
  let home: Dir | undefined;
  try {
    home = openRoot(ctx.args.hermesHome);
    const left = new Set(request.profiles);
    const known = [...request.intentOnly].filter((p) => ctx.intents.has(p));
    for (const profile of unchangedIntents(observeStateFiles(home, known, ctx.watchedDir), ctx.intents)) left.delete(profile);
    return left;
  } catch {
    return request.profiles;
  } finally {
    closeDir(home);
  }
}

/**
 * Remembers the intents a completed pass acted on. Skipped ones are forgotten, and pending ones
 * whose intent could not be read (a rewrite of the state file may be what fixes them); so is every
 * profile the pass read and no longer found (`scope`: the profiles a targeted pass read; undefined
 * for a full pass), so churned profiles never accumulate (issue 16 #3). A profile pending for its
 * slot (one not adopted) keeps its intent: its gateway's heartbeats change nothing there.
 */
export function rememberIntents(ctx: WatchContext, result: PassResult, scope: ReadonlySet<string> | undefined): void {
  const decided = new Set(result.desired.decisions.map((d) => d.profile));
  for (const profile of [...ctx.intents.keys()]) {
    if ((scope === undefined || scope.has(profile)) && !decided.has(profile)) ctx.intents.delete(profile);
  }
  // Pending for its slot: an update refused (not adopted), whatever its intent reads.
  const refusedSlot = new Set(result.plan.operations.filter((op) => op.kind === 'update' && isRefused(op)).map((op) => op.profile));
  for (const d of result.desired.decisions) {
    if (d.action === 'skipped' || (d.action === 'pending' && !refusedSlot.has(d.profile))) ctx.intents.delete(d.profile);
    else ctx.intents.set(d.profile, d.priorState);
  }
}

/** Passes that may serve unchanged slots from the read cache without looking into them. */
const SHALLOW_TRIGGERS: ReadonlySet<PassRequest['trigger']> = new Set(['interval', 'event']);

/** Runs one pass for the controller. */
export async function runWatchPass(ctx: WatchContext, request: PassRequest, signal: AbortSignal): Promise<PassReport> {
  const { args, logger } = ctx;
  const profiles = filterUnchangedIntents(ctx, request);
  if (profiles !== undefined && profiles.size === 0) return { kind: 'unchanged' };
  request = profiles === undefined ? request : { ...request, profiles };
  let prep: Prepared | undefined;
  let scandir: Dir | undefined;
  let lock: HeldLock | undefined;
  try {
    // SIGHUP is the operator's "read everything again" (after a hand edit): nothing cached is kept.
    if (request.trigger === 'signal') forgetCaches(ctx);
    prep = await prepare(args, ctx.facts, ctx.configCache);
    scandir = openScandir(args.scandir, 'refuse');
    const narrow = { hold: request.hold, ...(request.profiles === undefined ? {} : { profiles: request.profiles }) };
    const inputs: PassInputs = { args, prep, scandir, env: ctx.io.env, narrow };
    const options = watchPassOptions(ctx, inputs);
    // Interval and event passes may skip slots whose directories are unchanged; a start, SIGHUP
    // or retry reads everything, and so does every tenth full pass (src/observe/read-cache.ts).
    ctx.readCache?.beginPass(!SHALLOW_TRIGGERS.has(request.trigger), request.profiles === undefined);
    // Plan first without the lock (nothing written): a quiet pass, by far the common case while
    // gateways rewrite their state files, ends here. Otherwise plan again under the lock and apply.
    let result: PassResult = unapplied(planPass(options));
    forgetSupervised(ctx, result);
    if (result.plan.operations.length > 0 || result.observed.scandir.pendingRestarts.size > 0) {
      // Said at warn level: until the holder lets go no pass completes, and status, /readyz and
      // readiness go stale with no other line saying why.
      lock = await waitForLock(
        args,
        scandir,
        (held) => logger.warn(`${held}; this pass waits for it to finish (no pass completes meanwhile)`),
        { signal, warn: (message) => logger.warn(message) },
      );
      replaceForeignStateDir(scandir, (m) => logger.warn(m)); // with --lock-file: said, before anything is applied
      ctx.readCache?.beginPass(true, false); // what is applied is planned from everything as it is now
      result = await applyPass(planPass(watchPassOptions(ctx, inputs)));
      rememberPicked(ctx, result);
    }
    return passDone(ctx, result, prep.settings.servicePrefix);
  } catch (err) {
    return passFailed(ctx, err, signal);
  } finally {
    lock?.release();
    closeDir(scandir);
    closeDir(prep?.home);
  }
}

/** Empties the read cache and the config cache: the pass reads every file again. */
function forgetCaches(ctx: WatchContext): void {
  ctx.readCache?.clear();
  if (ctx.configCache !== undefined) ctx.configCache.key = undefined;
}

/**
 * A watch pass's options as of now: those of its flags, plus the read cache and the slots earlier
 * pickups had rescanned (which a pass just before may have added to).
 */
function watchPassOptions(ctx: WatchContext, inputs: PassInputs): PassOptions {
  return {
    ...passOptions(inputs),
    ...(ctx.readCache === undefined ? {} : { readCache: ctx.readCache }),
    ...(ctx.rescans === undefined ? {} : { rescanned: ctx.rescans.sent }),
  };
}

/**
 * After a plan that read the whole scandir, forgets the rescans of slots no longer awaiting their
 * supervisor (rememberPickups), so a slot that comes back unsupervised is picked up again.
 */
function forgetSupervised(ctx: WatchContext, result: PassResult): void {
  if (ctx.rescans === undefined) return;
  const awaiting = awaitingSupervisor(result.observed, result.desired, SVSCAN_DEFAULT_MAX);
  ctx.rescans.sent = rememberPickups(ctx.rescans.sent, awaiting, result.options.scope === undefined, []);
}

/** Remembers the slots whose pickups the pass applied: s6-svscan was asked to rescan for them, so no later pass asks again. */
function rememberPicked(ctx: WatchContext, result: PassResult): void {
  const picked = result.results.filter((r) => r.op.kind === 'pickup' && r.status === 'applied').map((r) => r.op.service);
  if (ctx.rescans !== undefined) ctx.rescans.sent = rememberPickups(ctx.rescans.sent, [], false, picked);
}

/** The report of a pass that ran to the end, once the read cache's pass is ended, a recovery said, its outcome logged and its intents kept. */
function passDone(ctx: WatchContext, result: PassResult, servicePrefix: string): PassReport {
  const { args, logger } = ctx;
  ctx.readCache?.endPass(result.options.scope === undefined);
  if (ctx.failure?.message !== undefined) {
    logger.info(`passes complete again (they failed with: ${ctx.failure.message})`);
    ctx.failure.message = undefined;
  }
  logPassResult(result, logger);
  rememberIntents(ctx, result, result.options.scope?.profiles);
  const scoped = result.options.scope !== undefined;
  return {
    kind: 'done',
    result,
    scoped,
    exitCode: exitCodeOf(result, false),
    warnings: [...passWarnings(result), ...svscanWarning(result, args.scandir)],
    servicePrefix,
  };
}

/** A pass that failed as a whole (or was stopped): its report; the failure is logged once while it persists. */
function passFailed(ctx: WatchContext, err: unknown, signal: AbortSignal): PassReport {
  if (signal.aborted) return { kind: 'aborted' };
  const report = errorReport(err);
  if (ctx.failure?.message !== report.message) {
    const retry = report.terminal ? 'waiting for the interval or SIGHUP before retrying' : 'retrying with back-off';
    ctx.logger.error(`pass failed: ${report.message} (${retry}; logged once while it keeps failing)`);
    if (ctx.failure !== undefined) ctx.failure.message = report.message;
  }
  return report;
}

/**
 * The report of a pass that failed as a whole. Only a config whose contents are invalid is
 * terminal: it stays so until someone edits it. A config that could not be read is an I/O error
 * (config management replacing the file, too many open files, EIO) that may pass, so it backs off
 * like any other failure; its exit code stays that of `boot` and `sync` (100).
 */
export function errorReport(err: unknown): Extract<PassReport, { kind: 'error' }> {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ConfigReadError)
    return { kind: 'error', code: 'usage', message: configReadMessage(err), terminal: false, exitCode: EXIT.usage };
  if (err instanceof UsageError) return { kind: 'error', code: 'usage', message, terminal: true, exitCode: EXIT.usage };
  if (err instanceof LockHeldError) return { kind: 'error', code: 'locked', message, terminal: false, exitCode: EXIT.locked };
  if (err instanceof FatalError) return { kind: 'error', code: 'fatal', message, terminal: false, exitCode: EXIT.fatal };
  return { kind: 'error', code: 'internal', message, terminal: false, exitCode: EXIT.fatal };
}

/** A config read error as a watcher says it: the errno, that it retries, and what to do if it persists. */
function configReadMessage(err: ConfigReadError): string {
  const fix = configReadFix(err.errno, 'the watcher');
  return `cannot read config ${err.path}: ${err.reason} (a read error, not the file's contents); if it persists, ${fix}`;
}

/**
 * A watcher over a scandir no s6-svscan reads: its slots are written but nothing supervises them,
 * and live state and drift cannot be known (every gateway would read as absent, with no drift). One
 * that cannot tell whether s6-svscan runs (not root) reads what supervise/ shows it, but cannot
 * have new slots picked up.
 */
function svscanWarning(result: PassResult, scandir: string): string[] {
  const s = result.observed.scandir;
  if (!s.exists || s.svscanLive) return [];
  if (s.svscanUnknown !== undefined)
    return [
      `cannot tell whether s6-svscan runs on ${scandir} (${s.svscanUnknown}): new slots start at its next scan; to have them picked up at once, ` +
        'as root make .s6-svscan searchable (chmod 0711) and hand its control to this user (the cont-init example does the latter), or run every pass as root',
    ];
  return [`s6-svscan is not running on ${scandir}: slots are written but nothing supervises them, and live state and drift are unknown`];
}
