/**
 * `status`: reads everything (a dry-run pass, live state decoded from supervise/status, the
 * watcher's status file) and prints a table or, with `--output json`, the document of
 * schemas/status-report.schema.json. Changes nothing and takes no lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SVSCAN_DEFAULT_MAX, capacityWarning, planPass, unapplied } from '../../reconcile.js';
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
import { serviceOrNull } from '../output.js';
import { type WatcherConditions, statusRows } from '../status-report.js';
import { DEFAULT_WIDTH, type WatcherReport, renderStatusTable } from '../status-table.js';
import { watchLockPath } from '../watch-lock.js';
import { isWatcherRunning, readStatusText } from '../watcher-file.js';
import { isLockHeld } from '../../lock.js';
import type { WatcherStop } from '../../watch/status-file.js';
import { quoted } from '../../escape.js';

/** What to do about a status file that is none: the path may name another file. */
const NOT_A_STATUS_FILE = '--status-file (or RECONCILE_GATEWAYS_STATUS_FILE) must name the file `watch` writes';

/** Runs `status`. */
export async function runStatus(args: Args, io: Io, logger: Logger): Promise<number> {
  let prep: Prepared | undefined;
  let scandir: Dir | undefined;
  try {
    prep = await prepare(args);
    scandir = openScandir(args.scandir, 'empty');
    const warnings: string[] = [];
    const collect: Logger = {
      ...logger,
      warn: (m) => warnings.push(m),
      log: (l, m, f) => (l === 'warn' ? warnings.push(m) : logger.log(l, m, f)),
    };
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
    logPassResult(result, collect);
    if (scandir === undefined) warnings.push(scandirMissingWarning(args.scandir));
    const multiplex = decideMultiplex(options.host.env, options.host.config, args.hermesHome).multiplex;
    const nowMs = Date.now();
    const { watcher, conditions } = await readWatcher(path.resolve(args.statusFile), {
      hermesHome: args.hermesHome,
      scandir: args.scandir,
    });
    const rows = statusRows(result, nowMs, conditions, path.resolve(args.scandir));
    const notProfiles = withoutSoul(result.observed.home);
    const count = result.observed.scandir.serviceCount;
    if (count > SVSCAN_DEFAULT_MAX && !warnings.some((w) => w.includes('supervises at most'))) {
      warnings.push(capacityWarning(count));
    }
    // Each slot left in the trash, as its planned purge says (one refused is finished by no pass
    // of this user's: its reason says who or what can let it go).
    for (const op of result.plan.operations) {
      if (op.kind !== 'purge') continue;
      warnings.push(`${op.service}: ${op.reason}${isRefused(op) ? '' : '; the next sync or watch pass finishes it'}`);
    }
    if (args.output === 'json') {
      const doc = {
        formatVersion: '2',
        generatedAt: new Date(nowMs).toISOString(),
        hermesHome: path.resolve(args.hermesHome),
        scandir: path.resolve(args.scandir),
        svscanLive: result.observed.scandir.svscanLive,
        ...(result.observed.scandir.svscanUnknown === undefined ? {} : { svscanUnknown: result.observed.scandir.svscanUnknown }),
        serviceCount: count,
        multiplex,
        // (the scandir's entries of invalid names are never read: no slot can stand behind one)
        profiles: rows.map((r) => ({ ...r, service: serviceOrNull(r.profile, r.service) })),
        ...(notProfiles.length === 0 ? {} : { notProfiles }),
        watcher,
        warnings,
      };
      io.stdout.write(`${JSON.stringify(doc)}\n`);
    } else {
      const width = terminalWidth(io);
      io.stdout.write(
        renderStatusTable(rows, {
          svscanLive: result.observed.scandir.svscanLive,
          ...(result.observed.scandir.svscanUnknown === undefined ? {} : { svscanUnknown: result.observed.scandir.svscanUnknown }),
          scandir: path.resolve(args.scandir),
          hermesHome: path.resolve(args.hermesHome),
          serviceCount: count,
          notProfiles,
          profilesUnread: result.observed.home.profilesRoot.kind === 'unreadable',
          warnings,
          watcher,
          nowMs,
          width,
          legend: args.legend,
        }),
      );
    }
    return EXIT.ok;
  } finally {
    closeDir(scandir);
    closeDir(prep?.home);
  }
}

/** `COLUMNS` when set, else the terminal's width, else the table's default. */
function terminalWidth(io: Io): number {
  const columns = Number(io.env['COLUMNS']);
  if (Number.isInteger(columns) && columns > 0) return columns;
  return io.stdout.isTTY === true ? process.stdout.columns || DEFAULT_WIDTH : DEFAULT_WIDTH;
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
  if (read.kind === 'unreadable')
    return { watcher: { state: 'unreadable', statusFile: file, reason: read.reason, ...lockHeld }, conditions: none };
  let doc: unknown;
  try {
    doc = JSON.parse(read.text);
  } catch (err) {
    return {
      watcher: {
        state: 'unreadable',
        statusFile: file,
        reason: `invalid JSON (${err instanceof Error ? err.message : String(err)}): ${NOT_A_STATUS_FILE}`,
        ...lockHeld,
      },
      conditions: none,
    };
  }
  const version = typeof doc === 'object' && doc !== null && 'formatVersion' in doc ? doc.formatVersion : undefined;
  if (typeof version === 'string' && version !== '2') {
    // A watcher started before an upgrade: one line that says so, not every schema difference.
    const reason = `written by a watcher of another version (formatVersion ${quoted(version)}; this version reads "2"): restart the watcher`;
    return { watcher: { state: 'unreadable', statusFile: file, reason, ...lockHeld }, conditions: none };
  }
  const validateStatusFile = await loadValidator('validateStatusFile');
  if (!validateStatusFile(doc)) {
    const reason = `not a status file this version reads (${firstValidationError(validateStatusFile)}): ${NOT_A_STATUS_FILE}`;
    return {
      watcher: { state: 'unreadable', statusFile: file, reason, ...lockHeld },
      conditions: none,
    };
  }
  const d = doc as {
    hermesHome: string;
    scandir: string;
    pid: number;
    startedAt: string;
    lastPass: Record<string, unknown> | null;
    nextFullPassAt: string;
    stopped?: WatcherStop;
    services: { service: string; condition: string; consecutiveFailures: number; reason?: string }[];
  };
  if (!sameDir(d.scandir, ours.scandir) || !sameDir(d.hermesHome, ours.hermesHome)) {
    return { watcher: { state: 'elsewhere', statusFile: file, hermesHome: d.hermesHome, scandir: d.scandir }, conditions: none };
  }
  const conditions = new Map(
    d.services.map((s) => [
      s.service,
      { condition: s.condition, consecutiveFailures: s.consecutiveFailures, ...(s.reason === undefined ? {} : { reason: s.reason }) },
    ]),
  );
  // A watcher that recorded its clean stop is not running, whatever now has its pid; nor is one
  // whose lock nobody holds. One that is not running has no next pass to promise.
  const running = d.stopped === undefined && held !== false && isWatcherRunning(d.pid, d.startedAt);
  return {
    watcher: {
      state: 'present',
      statusFile: file,
      pid: d.pid,
      running,
      ...lockHeld,
      lastPass: d.lastPass,
      nextFullPassAt: running ? d.nextFullPassAt : null,
      ...(d.stopped === undefined ? {} : { stopped: d.stopped }),
    },
    conditions,
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
