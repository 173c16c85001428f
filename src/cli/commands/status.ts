/**
 * `status`: reads everything (a dry-run pass, live state decoded from supervise/status, the
 * watcher's status file) and prints a table or, with `--output json`, the document of
 * schemas/status-report.schema.json. Changes nothing and takes no lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type PassResult, SVSCAN_DEFAULT_MAX, capacityWarning, planPass, unapplied } from '../../reconcile.js';
import { decideMultiplex } from '../../desired/index.js';
import { isRefused } from '../../diff/index.js';
import { closeDir, type Dir } from '../../safe-fs/index.js';
import { firstValidationError, loadValidator } from '../validate.js';
import type { Args } from '../args.js';
import type { Logger } from '../logger.js';
import {
  EXIT,
  type Io,
  type Prepared,
  logPassResult,
  openScandir,
  passOptions,
  prepare,
  scandirMissingWarning,
  withoutSoul,
} from '../pass.js';
import { serviceOrNull, useColour } from '../output.js';
import { type StatusRow, type WatcherConditions, statusRows } from '../status-report.js';
import { DEFAULT_WIDTH, type WatcherReport, renderStatusTable } from '../status-table.js';
import { watchLockPath } from '../watch-lock.js';
import { isWatcherRunning, readStatusText } from '../watcher-file.js';
import { isLockHeld } from '../../lock.js';
import type { WatcherStop } from '../../watch/status-file.js';
import { quoted } from '../../escape.js';

/** What to do about a status file that is none: the path may name another file. */
const NOT_A_STATUS_FILE = '--status-file (or RECONCILE_GATEWAYS_STATUS_FILE) must name the file `watch` writes';

/** What `status` prints, as a table or as its JSON document. */
interface StatusReport {
  readonly result: PassResult;
  readonly rows: readonly StatusRow[];
  readonly watcher: WatcherReport;
  /** Every warning, in the order found: a skipped role's, the pass's, a missing scandir's, then the scandir's own. */
  readonly warnings: readonly string[];
  /** When the report was made (after the pass, before the watcher's file is read): the rows' ages count to it, and generatedAt says it. */
  readonly nowMs: number;
  readonly multiplex: boolean;
}

/** Runs `status`. */
export async function runStatus(args: Args, io: Io, logger: Logger): Promise<number> {
  let prep: Prepared | undefined;
  let scandir: Dir | undefined;
  try {
    prep = await prepare(args);
    scandir = openScandir(args.scandir, 'empty');
    const warnings: string[] = [];
    const options = passOptions({ args: { ...args, command: 'sync' }, prep, scandir, env: io.env });
    const startMs = Date.now();
    const result = unapplied(planPass(options));
    logger.debug(
      `read ${result.observed.home.profiles.length} profiles and ${result.observed.scandir.slots.size} slots (live state included) in ${Date.now() - startMs} ms`,
    );
    // status reads as for a gateway container; in another one nothing acts on its notes.
    if (prep.decision.kind === 'skip')
      warnings.push(
        `role ${prep.decision.role}: boot, sync and watch change nothing in this container; the notes say what they would do in a gateway container`,
      );
    logPassResult(result, collectingWarnings(logger, warnings));
    if (scandir === undefined) warnings.push(scandirMissingWarning(args.scandir));
    const multiplex = decideMultiplex(options.host.env, options.host.config, args.hermesHome).multiplex;
    const nowMs = Date.now();
    const { watcher, conditions } = await readWatcher(path.resolve(args.statusFile), {
      hermesHome: args.hermesHome,
      scandir: args.scandir,
    });
    const rows = statusRows(result, nowMs, conditions, path.resolve(args.scandir));
    warnings.push(...scandirWarnings(result, warnings));
    const report: StatusReport = { result, rows, watcher, warnings, nowMs, multiplex };
    io.stdout.write(args.output === 'json' ? `${JSON.stringify(statusDocument(args, report))}\n` : statusTable(args, io, report));
    return EXIT.ok;
  } finally {
    closeDir(scandir);
    closeDir(prep?.home);
  }
}

/** `logger`, but its warnings go to `warnings`: status prints them with its report, not in its log. */
function collectingWarnings(logger: Logger, warnings: string[]): Logger {
  return {
    ...logger,
    warn: (m) => warnings.push(m),
    log: (l, m, f) => (l === 'warn' ? warnings.push(m) : logger.log(l, m, f)),
  };
}

/**
 * What status says of the scandir beyond the pass's warnings (`said`): that it holds more services
 * than s6-svscan supervises by default, unless the pass said so, and each slot left in the trash.
 */
function scandirWarnings(result: PassResult, said: readonly string[]): string[] {
  const warnings: string[] = [];
  const count = result.observed.scandir.serviceCount;
  if (count > SVSCAN_DEFAULT_MAX && !said.some((w) => w.includes('supervises at most'))) {
    warnings.push(capacityWarning(count));
  }
  // Each slot left in the trash, as its planned purge says (one refused is finished by no pass
  // of this user's: its reason says who or what can let it go).
  for (const op of result.plan.operations) {
    if (op.kind !== 'purge') continue;
    warnings.push(`${op.service}: ${op.reason}${isRefused(op) ? '' : '; the next sync or watch pass finishes it'}`);
  }
  return warnings;
}

/** The document of schemas/status-report.schema.json. */
function statusDocument(args: Args, report: StatusReport): Record<string, unknown> {
  const { result, rows, watcher, warnings, nowMs, multiplex } = report;
  const notProfiles = withoutSoul(result.observed.home);
  return {
    formatVersion: '2',
    generatedAt: new Date(nowMs).toISOString(),
    hermesHome: path.resolve(args.hermesHome),
    scandir: path.resolve(args.scandir),
    svscanLive: result.observed.scandir.svscanLive,
    ...(result.observed.scandir.svscanUnknown === undefined ? {} : { svscanUnknown: result.observed.scandir.svscanUnknown }),
    serviceCount: result.observed.scandir.serviceCount,
    multiplex,
    // (the scandir's entries of invalid names are never read: no slot can stand behind one)
    profiles: rows.map((r) => ({ ...r, service: serviceOrNull(r.profile, r.service) })),
    ...(notProfiles.length === 0 ? {} : { notProfiles }),
    watcher,
    warnings,
  };
}

/** The table `status` prints on a terminal (or through a pipe, without `--output json`). */
function statusTable(args: Args, io: Io, report: StatusReport): string {
  const { result, rows, watcher, warnings, nowMs } = report;
  const width = terminalWidth(io);
  return renderStatusTable(rows, {
    svscanLive: result.observed.scandir.svscanLive,
    ...(result.observed.scandir.svscanUnknown === undefined ? {} : { svscanUnknown: result.observed.scandir.svscanUnknown }),
    scandir: path.resolve(args.scandir),
    hermesHome: path.resolve(args.hermesHome),
    serviceCount: result.observed.scandir.serviceCount,
    notProfiles: withoutSoul(result.observed.home),
    profilesUnread: result.observed.home.profilesRoot.kind === 'unreadable',
    warnings,
    watcher,
    nowMs,
    width,
    legend: args.legend,
    colour: useColour(io.stdout.isTTY === true, io.env),
  });
}

/** `COLUMNS` when set, else the terminal's width, else the table's default. */
function terminalWidth(io: Io): number {
  const columns = Number(io.env['COLUMNS']);
  if (Number.isInteger(columns) && columns > 0) return columns;
  return io.stdout.isTTY === true ? process.stdout.columns || DEFAULT_WIDTH : DEFAULT_WIDTH;
}

/** The status file as this version reads it (schemas/status-file.schema.json). */
interface StatusFileDoc {
  readonly hermesHome: string;
  readonly scandir: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly lastPass: Record<string, unknown> | null;
  readonly nextFullPassAt: string;
  readonly stopped?: WatcherStop;
  readonly services: { service: string; condition: string; consecutiveFailures: number; reason?: string }[];
}

/**
 * Reads and validates the watcher's status file; any problem is reported, never fatal. A status
 * file of a watcher over other trees (another scandir or HERMES_HOME, e.g. the default file while
 * `status` was pointed elsewhere) is named as such, and its per-service conditions are not shown:
 * services of the same name there are other slots.
 */
async function readWatcher(
  file: string,
  ours: { readonly hermesHome: string; readonly scandir: string },
): Promise<{ watcher: WatcherReport; conditions: WatcherConditions }> {
  const none = new Map();
  // A watcher holds `<status file>.lock` for its life, whether or not it could write the file.
  const held = isLockHeld(watchLockPath(file));
  const lockHeld = held === undefined ? {} : { lockHeld: held };
  const read = readStatusText(file);
  if (read.kind === 'missing') return { watcher: { state: 'absent', statusFile: file, ...lockHeld }, conditions: none };
  const parsed = read.kind === 'unreadable' ? read : await parseStatusFile(read.text);
  if (parsed.kind === 'unreadable')
    return { watcher: { state: 'unreadable', statusFile: file, reason: parsed.reason, ...lockHeld }, conditions: none };
  const d = parsed.doc;
  if (!sameDir(d.scandir, ours.scandir) || !sameDir(d.hermesHome, ours.hermesHome)) {
    return { watcher: { state: 'elsewhere', statusFile: file, hermesHome: d.hermesHome, scandir: d.scandir }, conditions: none };
  }
  const conditions = new Map(
    d.services.map((s) => [
      s.service,
      { condition: s.condition, consecutiveFailures: s.consecutiveFailures, ...(s.reason === undefined ? {} : { reason: s.reason }) },
    ]),
  );
  return { watcher: presentWatcher(file, d, held), conditions };
}

/** A status file's text as its document, or why it is none this version reads. */
async function parseStatusFile(
  text: string,
): Promise<{ readonly kind: 'parsed'; readonly doc: StatusFileDoc } | { readonly kind: 'unreadable'; readonly reason: string }> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { kind: 'unreadable', reason: `invalid JSON (${err instanceof Error ? err.message : String(err)}): ${NOT_A_STATUS_FILE}` };
  }
  const version = typeof doc === 'object' && doc !== null && 'formatVersion' in doc ? doc.formatVersion : undefined;
  if (typeof version === 'string' && version !== '2') {
    // A watcher started before an upgrade: one line that says so, not every schema difference.
    const reason = `written by a watcher of another version (formatVersion ${quoted(version)}; this version reads "2"): restart the watcher`;
    return { kind: 'unreadable', reason };
  }
  const validateStatusFile = await loadValidator('validateStatusFile');
  if (!validateStatusFile(doc)) {
    const reason = `not a status file this version reads (${firstValidationError(validateStatusFile)}): ${NOT_A_STATUS_FILE}`;
    return { kind: 'unreadable', reason };
  }
  return { kind: 'parsed', doc: doc as StatusFileDoc };
}

/** The report of a watcher over our trees (`held`: whether its lock is held, unknown without /proc). */
function presentWatcher(file: string, d: StatusFileDoc, held: boolean | undefined): WatcherReport {
  // A watcher that recorded its clean stop is not running, whatever now has its pid; nor is one
  // whose lock nobody holds. One that is not running has no next pass to promise.
  const running = d.stopped === undefined && held !== false && isWatcherRunning(d.pid, d.startedAt);
  return {
    state: 'present',
    statusFile: file,
    pid: d.pid,
    running,
    ...(held === undefined ? {} : { lockHeld: held }),
    lastPass: d.lastPass,
    nextFullPassAt: running ? d.nextFullPassAt : null,
    ...(d.stopped === undefined ? {} : { stopped: d.stopped }),
  };
}

/** Whether two paths name one directory (same device and inode), else whether they resolve alike. */
function sameDir(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}
