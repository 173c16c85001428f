/**
 * `watch`: the periodic re-sync timer, a long-running process suitable as an s6 longrun. Wires the
 * controller (src/watch/) to inotify events, signals, the status file and the readiness fd.
 */
import fs from 'node:fs';
import path from 'node:path';
import { escapeLine, fieldValue, quotedField } from '../../escape.js';
import { type Dir, FsError } from '../../safe-fs/index.js';
import type { HeldLock } from '../../lock.js';
import { ReadCache } from '../../observe/index.js';
import { Controller, type ControllerOptions, type PassDetail } from '../../watch/controller.js';
import { EventSource } from '../../watch/event-source.js';
import { type PassSummary, type StatusDocument, type WatcherStop, writeStatusFile } from '../../watch/status-file.js';
import type { Args } from '../args.js';
import type { Logger } from '../logger.js';
import type { RoleDecision } from '../../desired/index.js';
import { EXIT, type Io, type RoleFacts, checkOutputFiles, printSkip, resolveRole } from '../pass.js';
import { checkLockFileDir, checkStateDirUsable, lockPath } from '../run-lock.js';
import { driftCountFields, firstFew } from '../output.js';
import { checkReadyFd } from '../ready-fd.js';
import { statusFileWarning } from '../report.js';
import { type QuietLogger, quietRepeats } from '../quiet-warnings.js';
import { type WatchContext, runWatchPass } from '../watch-pass.js';
import { takeWatchLock, watchLockPath } from '../watch-lock.js';
import { type WatchMetrics, startWatchMetrics } from '../watch-metrics.js';

/** Debounce of file-system events. */
export const DEBOUNCE_MS = 250;
/** Least time between the end of a pass and an event- or retry-driven one. */
export const MIN_GAP_MS = 250;

/** Which signal stopped the watcher, and the loop to stop (once there is one). */
interface StopState {
  by?: WatcherStop['by'];
  controller?: Controller;
}

/** Runs `watch` until SIGTERM or SIGINT; returns the exit code. */
export async function runWatch(args: Args, io: Io, logger: Logger): Promise<number> {
  if (args.readyFd !== undefined) checkReadyFd(args.readyFd);
  const facts = resolveRole(args);
  if (facts.decision.kind === 'skip') return idleAsDashboard(args, io, logger, facts.decision);
  // From here on SIGTERM and SIGINT are a clean stop, also while the locks and the metrics are
  // being set up: the loop then ends before its first pass.
  const stop: StopState = {};
  const release = onSignals({
    stop: (signal) => {
      stop.by ??= signal;
      stop.controller?.stop();
    },
    force: () => stop.controller?.force(),
  });
  try {
    return await runWatcher({ args, io, logger, facts }, stop);
  } finally {
    release();
  }
}

/** What the watcher's steps share once its role is resolved. */
interface WatchRun {
  readonly args: Args;
  readonly io: Io;
  /** The log as given: the start and stop lines, and the event source's warnings, are never quietened. */
  readonly logger: Logger;
  readonly facts: RoleFacts;
}

/** The watcher once its signals are handled: its lock, metrics, loop and status file. */
async function runWatcher(run: WatchRun, stop: StopState): Promise<number> {
  const { args, logger } = run;
  checkWatcherFiles(args);
  const lock = await takeWatchLock(args.statusFile);
  const quiet = quietRepeats(logger, args.interval * 1000);
  const metrics = await startUnderLock(args, lock, quiet.logger);
  const { controller, events } = wireLoop(run, quiet, metrics);
  stop.controller = controller;
  if (stop.by !== undefined) controller.stop();
  // The service's log then says when this watcher ran, even when every pass was quiet.
  logger.info(`watch started: re-syncs on changes and every ${args.interval}s; status file ${args.statusFile}`, { pid: process.pid });
  // At once, not after the first pass (which may wait for the run lock, or take long): `status`
  // then names this watcher, not the last one that wrote the file.
  writeStatus(args, quiet.logger, controller.document());
  try {
    await controller.run();
    // Still under the lock: `status` then tells a clean stop from a watcher that died.
    if (stop.by !== undefined)
      writeStatus(args, quiet.logger, { ...controller.document(), stopped: { at: new Date().toISOString(), by: stop.by } });
  } finally {
    events.close();
    lock.release();
    await metrics?.close();
  }
  logger.info(`watch stopped by ${stop.by ?? 'a stop request'}`, { pid: process.pid });
  return EXIT.ok;
}

/**
 * checkOutputFiles for the watcher: the status file's directory is one it makes, and its two locks
 * are files the metrics file must not be.
 */
function checkWatcherFiles(args: Args): void {
  checkOutputFiles(
    { '--status-file': args.statusFile, '--metrics-file': args.metricsFile },
    {
      made: path.dirname(path.resolve(args.statusFile)),
      taken: [
        ["the watcher's lock", watchLockPath(args.statusFile)],
        ['the run lock', lockPath(args)],
      ],
    },
  );
}

/**
 * Under the watcher's lock, checks that this user can use the state directory and the lock file,
 * and starts the metrics; on a failure the lock is let go before it is thrown.
 */
async function startUnderLock(args: Args, lock: HeldLock, logger: Logger): Promise<WatchMetrics | undefined> {
  try {
    checkStateDirUsable(args);
    checkLockFileDir(args);
    // After the lock: a second watcher refused by it must not take the metrics port first.
    // A metrics file that cannot be written is warned about once while it keeps failing.
    return await startWatchMetrics(args, logger);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** The loop and its event source, wired together: events hint the loop, and its passes name the slots' prefix. */
function wireLoop(run: WatchRun, quiet: QuietLogger, metrics: WatchMetrics | undefined): { controller: Controller; events: EventSource } {
  const { args, io } = run;
  // The slot-name prefix of the settings the last completed pass used: events in the scandir are named by it.
  const seen = { servicePrefix: 'gateway-' };
  const runPass = passRunner(run, quiet, { seen, watchedDir: (p) => events.watchedDir(p) });
  const controller: Controller = new Controller({
    timing: { intervalMs: args.interval * 1000, debounceMs: DEBOUNCE_MS, minGapMs: MIN_GAP_MS },
    now: () => Date.now(),
    monotonic: () => performance.now(),
    random: Math.random,
    runPass,
    refreshWatches: () => events.refresh(),
    watchedDirectories: () => events.size,
    onPass: (doc, summary, first, detail) => afterPass(args, io, quiet.logger, { doc, summary, first, detail, metrics }),
    // Absolute, so `status` run from another directory can tell whether this watcher is over its trees.
    meta: { pid: process.pid, hermesHome: path.resolve(args.hermesHome), scandir: path.resolve(args.scandir) },
  });
  const events = new EventSource({
    hermesHome: args.hermesHome,
    scandir: args.scandir,
    onHint: (hint) => controller.hint(hint),
    servicePrefix: () => seen.servicePrefix,
    warn: (m) => run.logger.warn(m),
    ownFiles: [args.statusFile, watchLockPath(args.statusFile), ...(args.metricsFile === undefined ? [] : [args.metricsFile])],
  });
  return { controller, events };
}

/** What the watcher's passes tell the event source, and ask it. */
interface PassHooks {
  /** Set to the slot-name prefix of each completed pass's settings. */
  readonly seen: { servicePrefix: string };
  /** A profile's directory as the event source watches it, open (see EventSource.watchedDir). */
  readonly watchedDir: (profile: string) => Dir | undefined;
}

/** The controller's runPass: one watch pass at a time, over what earlier passes kept. */
function passRunner(run: WatchRun, quiet: QuietLogger, hooks: PassHooks): ControllerOptions['runPass'] {
  const ctx: WatchContext = {
    args: run.args,
    facts: run.facts,
    io: run.io,
    logger: quiet.logger,
    intents: new Map<string, string | null>(),
    configCache: {},
    readCache: new ReadCache(),
    // The error the last pass failed with: a persistent failure is logged once, not per retry.
    failure: { message: undefined },
    rescans: { sent: new Set() },
    watchedDir: hooks.watchedDir,
  };
  return async (request, signal) => {
    const report = await runWatchPass(ctx, request, signal);
    quiet.endPass(report.kind === 'done' && !report.scoped);
    if (report.kind === 'done') hooks.seen.servicePrefix = report.servicePrefix;
    return report;
  };
}

interface AfterPass {
  readonly doc: StatusDocument;
  readonly summary: PassSummary;
  readonly first: boolean;
  readonly detail: PassDetail;
  readonly metrics: WatchMetrics | undefined;
}

function afterPass(args: Args, io: Io, logger: Logger, p: AfterPass): void {
  writeStatus(args, logger, p.doc);
  p.metrics?.afterPass(p.summary, p.detail);
  if (!isQuiet(p.summary))
    io.stdout.write(`${args.output === 'json' ? JSON.stringify({ formatVersion: '2', pass: p.summary }) : summaryLine(p.summary)}\n`);
  else logger.debug(summaryLine(p.summary));
  if (p.first && args.readyFd !== undefined) signalReady(args.readyFd, logger);
}

/**
 * Writes the status file; a failure is a warning (repeats are quietened by the caller's logger),
 * never an exit code. `status` then shows what the file last said, so the warning says so.
 */
function writeStatus(args: Args, logger: Logger, doc: StatusDocument): void {
  try {
    writeStatusFile(args.statusFile, doc);
  } catch (err) {
    logger.warn(statusFileWarning(args.statusFile, path.dirname(path.resolve(args.statusFile)), err instanceof FsError ? err.cause : err));
  }
}

/** A pass that changed nothing, failed nothing and found no drift prints no line. */
function isQuiet(s: PassSummary): boolean {
  const c = s.counts;
  const drift = s.drift === undefined ? 0 : Object.values(s.drift).reduce((a, b) => a + b, 0);
  const changes =
    c === undefined
      ? 0
      : c.create + c.update + (c.restart ?? 0) + c.up + c.down + c.remove + (c.purge ?? 0) + c.heal + (c.pickup ?? 0) + c.failed + c.held;
  return s.result === 'converged' && c !== undefined && changes + drift === 0;
}

/** One line per pass that changed something or failed. */
export function summaryLine(s: PassSummary): string {
  const scope = s.scope === 'full' ? 'full' : fieldValue(`targeted(${firstFew(s.profiles ?? [])})`);
  const c = s.counts;
  const counts =
    c === undefined
      ? ` error=${quotedField(s.error?.message ?? '')}`
      : ` create=${c.create} update=${c.update} restart=${c.restart ?? 0} up=${c.up} down=${c.down} remove=${c.remove} purge=${c.purge ?? 0} heal=${c.heal}${(c.pickup ?? 0) > 0 ? ` pickup=${c.pickup}` : ''} failed=${c.failed} held=${c.held} restart_pending=${c.restartPending}`;
  const d = s.drift;
  const drift = d === undefined ? '' : ` ${driftCountFields(d)}`;
  return `reconcile: pass trigger=${s.trigger} scope=${scope} result=${s.result}${counts}${drift}${namesField('services', s.changed)}${namesField('drifting', s.drifting)} duration_ms=${s.durationMs}`;
}

/** Services by name (those a pass changed, those drifting): the first few, then how many more. */
function namesField(key: string, names: readonly string[] | undefined): string {
  return names === undefined || names.length === 0 ? '' : escapeLine(` ${key}=${firstFew(names)}`);
}

/** s6 readiness: a newline on the notification fd, then close it. */
function signalReady(fd: number, logger: Logger): void {
  try {
    fs.writeSync(fd, '\n');
    fs.closeSync(fd);
  } catch (err) {
    logger.warn(`cannot signal readiness on fd ${fd}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function onSignals(h: { stop: (signal: WatcherStop['by']) => void; force: () => void }): () => void {
  // Named here, not taken from the handler's argument, which an emitted event may leave out.
  const term = (): void => h.stop('SIGTERM');
  const int = (): void => h.stop('SIGINT');
  const force = (): void => h.force();
  process.on('SIGTERM', term);
  process.on('SIGINT', int);
  process.on('SIGHUP', force);
  return () => {
    process.off('SIGTERM', term);
    process.off('SIGINT', int);
    process.off('SIGHUP', force);
  };
}

/** A container of a skipped role needs no gateways: say so once, report ready, and idle until stopped. */
async function idleAsDashboard(args: Args, io: Io, logger: Logger, decision: Extract<RoleDecision, { kind: 'skip' }>): Promise<number> {
  // The stop handlers come first: a supervisor that stops us the moment we said ready gets a clean exit.
  let stop = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    const timer = setInterval(() => undefined, 2 ** 30);
    stop = (): void => {
      clearInterval(timer);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // s6-svc -h asks for a pass; there is none to run, and the default action would kill us.
  const ignoreHup = (): void => undefined;
  process.on('SIGHUP', ignoreHup);
  let metrics: WatchMetrics | undefined;
  try {
    // It writes no status file, so the metrics file's directory must be there already.
    checkOutputFiles({ '--metrics-file': args.metricsFile }, { taken: [['the run lock', lockPath(args)]] });
    // A probe on /healthz or /readyz, or a scrape, must find it up: it is doing what it should.
    metrics = await startWatchMetrics(args, logger);
    metrics?.skipped();
    printSkip(args, io, 'watch', decision);
    if (args.readyFd !== undefined) signalReady(args.readyFd, logger);
    await stopped;
    return EXIT.ok;
  } finally {
    // Also on an error (the address in use, an unwritable stdout): no server or timer outlives it.
    stop();
    process.off('SIGHUP', ignoreHup);
    await metrics?.close();
  }
}
