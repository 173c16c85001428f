/**
 * What every command shares: exit codes, the role, opening HERMES_HOME and the scandir, the lock
 * path, the pass options built from flags and host facts, and logging a pass. Decides nothing
 * about gateways: the role, multiplexing and seeds are decided in src/desired from the facts here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HostFacts, Mode, ObservedHome, Operation, Settings } from '../model.js';
import { FatalError } from '../errors.js';
import { escapeLine } from '../escape.js';
import { type PassOptions, type PassResult } from '../reconcile.js';
import { type Dir, FsError, closeDir, describeErrno, errnoCode, notReplaced, openRoot } from '../safe-fs/index.js';
import { type ConfigCache, accountOf, detectContainerArgv, hermesIds, hostEnv, observeConfig, scopeOf } from '../observe/index.js';
import { type RoleDecision, decideMultiplex, decideRole } from '../desired/index.js';
import { isRefused } from '../diff/index.js';
import type { Args } from './args.js';
import { loadSettings } from './config.js';
import type { Logger } from './logger.js';
import { isCollection, parseDocument, visit } from 'yaml';

/** Where a command writes; injectable so tests and `watch` can reuse commands. */
export interface Io {
  readonly stdout: { write(chunk: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(chunk: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

import { EXIT } from './report.js';

export { EXIT };

/** The role decided before anything else is read (upstream's `main()` does it first). */
export interface RoleFacts {
  readonly decision: RoleDecision;
  /** The container argv (empty when `--role` made it unnecessary). */
  readonly argv: readonly string[];
}

/** Everything a pass needs that is resolved from the host before the lock. */
export interface Prepared extends RoleFacts {
  readonly settings: Settings;
  readonly home: Dir;
  /** The last config.yaml read; `watch` keeps one across passes so an unchanged file is parsed once. */
  readonly configCache: ConfigCache;
}

/**
 * The role: `--role`/`RECONCILE_GATEWAYS_ROLE`, else the container argv (`--container-argv`, else
 * /proc). An explicit `gateway` role still reads the argv, which the legacy seed needs.
 */
export function resolveRole(args: Args): RoleFacts {
  const forced = args.role === 'dashboard' || args.role === 'none';
  const argv = args.containerArgv ?? (forced ? [] : detectContainerArgv());
  return { decision: decideRole(args.role, argv), argv };
}

/** Resolves settings and HERMES_HOME; throws UsageError/FatalError. */
export async function prepare(args: Args, facts: RoleFacts = resolveRole(args), configCache: ConfigCache = {}): Promise<Prepared> {
  const settings = await loadSettings(args.config, hermesIds());
  const home = openHome(args.hermesHome, args.hermesHomeIsDefault);
  return { ...facts, settings, home, configCache };
}

/**
 * The tool's own output files (`--status-file`, `--metrics-file`) replace only a regular file:
 * a directory, device, FIFO, socket or symlink at the path is refused before anything runs (a
 * watcher given `--status-file /dev/null` replaced /dev/null, and made /dev/null.lock), and so is a
 * metrics file whose directory does not exist (a typo there passed with a warning and exit 0),
 * unless that is `made`, the directory the watcher makes for its status file. A metrics file that
 * is also one of the `taken` files (the status file, a lock) is refused too. What fails later (a
 * full disk, a directory removed meanwhile) is a warning, never a failed pass.
 */
export function checkOutputFiles(
  files: Readonly<Record<string, string | undefined>>,
  options: { readonly made?: string; readonly taken?: readonly (readonly [string, string])[] } = {},
): void {
  const { made, taken = [] } = options;
  // A metrics file written over the status file or a lock replaces it: the lock then guards nothing.
  const metrics = files['--metrics-file'];
  const status = files['--status-file'];
  const others: (readonly [string, string])[] = [...(status === undefined ? [] : [['the status file', status] as const]), ...taken];
  for (const [what, other] of others) {
    if (metrics !== undefined && samePath(metrics, other))
      throw new FatalError(`--metrics-file ${metrics} is ${what} too (${other}): one would overwrite the other; give it another path`);
  }
  for (const [flag, file] of Object.entries(files)) {
    if (file === undefined) continue;
    const what = flag === '--status-file' ? 'the status file cannot be turned off' : 'leave the flag out to write no metrics file';
    const refuse = (why: string, cause?: unknown): FatalError =>
      new FatalError(`${flag} ${file}: ${why}; point ${flag} at a file in an existing directory (${what})`, { cause });
    // The file is written under the path's last name: `dir/new/` would write a file `new`, and
    // `dir/.` or `dir/..` resolve to a directory.
    const last = path.basename(file);
    if (file.endsWith('/') || last === '.' || last === '..') throw refuse('a path ending in /, /. or /.. names a directory');
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(file, { throwIfNoEntry: false });
    } catch (err) {
      if (errnoCode(err) === 'ENOTDIR') throw refuse('a part of its path is not a directory', err);
      continue; // a directory this user may not search: the write says why
    }
    const why = st?.isDirectory() === true ? 'it is a directory' : notReplaced(st);
    if (why !== undefined) throw refuse(why);
    if (st !== undefined || flag !== '--metrics-file') continue;
    const dir = path.dirname(path.resolve(file));
    if (made !== undefined && samePath(dir, made)) continue; // the watcher makes its status file's directory
    let parent: fs.Stats | undefined;
    try {
      parent = fs.statSync(dir, { throwIfNoEntry: false });
    } catch {
      continue; // ENOTDIR was caught above; EACCES and the like: the write says why
    }
    if (parent === undefined) throw refuse(`its directory ${dir} does not exist (create it, or correct the path)`);
  }
}

/** Whether two paths name one file: alike once resolved, or in one directory (by its identity) under one name. */
export function samePath(a: string, b: string): boolean {
  const [ra, rb] = [path.resolve(a), path.resolve(b)];
  if (ra === rb) return true;
  if (path.basename(ra) !== path.basename(rb)) return false;
  try {
    const [da, db] = [fs.statSync(path.dirname(ra)), fs.statSync(path.dirname(rb))];
    return da.dev === db.dev && da.ino === db.ino;
  } catch {
    return false;
  }
}

const POINT_HOME = 'point --hermes-home or HERMES_HOME at the Hermes data volume';
const POINT_SCANDIR = 'point --scandir or S6_PROFILE_GATEWAY_SCANDIR at the s6 scan directory';

function openHome(hermesHome: string, isDefault: Args['hermesHomeIsDefault']): Dir {
  // The built-in default named as one: with HERMES_HOME unset (or empty) it read as if it were set.
  const why =
    isDefault === 'empty' ? 'HERMES_HOME is set but empty, and --hermes-home not given' : 'neither --hermes-home nor HERMES_HOME is set';
  const named = `HERMES_HOME ${hermesHome}${isDefault === undefined ? '' : ` (the default: ${why})`}`;
  let st: fs.Stats;
  try {
    st = fs.statSync(hermesHome);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new FatalError(`${named} is missing or unreadable (${why}); ${POINT_HOME}`, { cause: err });
  }
  if (!st.isDirectory()) throw new FatalError(`${named} is not a directory; ${POINT_HOME}`);
  let dir: Dir | undefined;
  try {
    dir = openRoot(hermesHome);
    // Readable and searchable, checked without listing it: a volume user's million files there
    // would cost every pass their names in memory.
    fs.accessSync(hermesHome, fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    closeDir(dir);
    const fix = errnoCode(err) === 'EACCES' ? `run as a user who can read it (root in the Hermes image), or ${POINT_HOME}` : POINT_HOME;
    throw new FatalError(`HERMES_HOME ${hermesHome} is unreadable (${describeErrno(err instanceof FsError ? err.cause : err)}); ${fix}`, {
      cause: err,
    });
  }
  const volume = profileDirVolume(hermesHome);
  if (volume !== undefined) {
    closeDir(dir);
    throw new FatalError(
      `${named} looks like a named profile's directory, not the data volume (it holds a SOUL.md, sits in a profiles/ directory and has no profiles/ of its own), so its state would be read as the root profile's; point --hermes-home or HERMES_HOME at the volume, ${volume}`,
    );
  }
  return dir;
}

/**
 * The volume a HERMES_HOME belongs to when it is one of its named profiles (`<volume>/profiles/<name>`
 * with a SOUL.md and no `profiles/` of its own, in a volume that has a root profile's files): read
 * as a volume, its state file would decide the root gateway and its missing `profiles/` would ask
 * for --allow-empty. Its real path counts (a symlink to a profile is one); a new volume that only
 * happens to sit in a directory called profiles/ has no such parent.
 */
function profileDirVolume(hermesHome: string): string | undefined {
  let real: string;
  try {
    real = fs.realpathSync(hermesHome);
  } catch {
    return undefined; // it was just opened: a race the pass itself reports
  }
  if (path.basename(path.dirname(real)) !== 'profiles') return undefined;
  const has = (dir: string, name: string): boolean => {
    try {
      return fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false; // unreadable: the pass says so
    }
  };
  const volume = path.dirname(path.dirname(real));
  const rootProfile = ['SOUL.md', 'gateway_state.json', 'config.yaml'].some((name) => has(volume, name));
  return rootProfile && has(real, 'SOUL.md') && !has(real, 'profiles') ? volume : undefined;
}

/**
 * Said by `status` and `--diff` over a scandir that does not exist (they never create it): every
 * slot then reads as missing, which a mistyped path would otherwise only show as "0 services".
 */
export function scandirMissingWarning(scandir: string): string {
  return `scandir ${scandir} does not exist, so no slot is there yet (boot creates it); if it should exist, ${POINT_SCANDIR}`;
}

/**
 * What a command does when the scandir is missing: `boot` creates it (0755, with parents), as
 * upstream did; `sync` and `watch` refuse, since on a running container a missing scandir is a
 * mistyped path, and filling a new directory with slots nobody supervises helps no one (and
 * `sync --diff` says so just as `sync` would); `status` and `boot --diff` read it as empty.
 */
export type MissingScandir = 'create' | 'refuse' | 'empty';

/** Opens the scandir (undefined: missing and `empty`). */
export function openScandir(scandir: string, missing: MissingScandir): Dir | undefined {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(scandir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw scandirUnusable(scandir, err);
  }
  if (st !== undefined && !st.isDirectory()) throw new FatalError(`scandir ${scandir} exists but is not a directory; ${POINT_SCANDIR}`);
  if (st === undefined) {
    if (missing === 'empty') return undefined;
    if (missing === 'refuse') {
      throw new FatalError(
        `scandir ${scandir} does not exist; boot creates it, sync and watch do not: ${POINT_SCANDIR}, or run boot first`,
      );
    }
    makeScandir(scandir);
  }
  try {
    return openRoot(scandir);
  } catch (err) {
    throw scandirUnusable(scandir, err);
  }
}

function scandirUnusable(scandir: string, err: unknown): FatalError {
  const code = errnoCode(err instanceof FsError ? err.cause : err);
  // The path is right when only permission is missing: pointing elsewhere would not help.
  const fix =
    code === 'EACCES' || code === 'EPERM' ? `run as a user who can read it (root in the Hermes image), or ${POINT_SCANDIR}` : POINT_SCANDIR;
  return new FatalError(`scandir ${scandir} is unusable: ${err instanceof Error ? err.message : String(err)}; ${fix}`, { cause: err });
}

function makeScandir(scandir: string): void {
  // Each missing directory is made in turn, from the top, so a failure names the directory that
  // could not be made and the real errno (a recursive mkdir under a read-only parent says ENOENT).
  const target = path.resolve(scandir);
  const missing: string[] = [];
  for (let dir = target; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(dir, { throwIfNoEntry: false });
    } catch {
      break; // mkdir below says what is wrong
    }
    if (st === undefined) {
      missing.unshift(dir);
      continue;
    }
    if (dir === target && st.isSymbolicLink()) {
      throw new FatalError(
        `scandir ${scandir} is a symlink to ${escapeLine(fs.readlinkSync(dir))}, which does not exist; ${POINT_SCANDIR}`,
      );
    }
    break;
  }
  for (const dir of missing) {
    try {
      fs.mkdirSync(dir, 0o755);
      fs.chmodSync(dir, 0o755); // mkdir's mode is masked by the umask
    } catch (err) {
      // Made meanwhile by someone else (another boot, s6-overlay): theirs, and good enough.
      if (errnoCode(err) === 'EEXIST' && fs.lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() === true) continue;
      const where = dir === target ? '' : ` (at ${dir})`;
      throw new FatalError(`cannot create scandir ${scandir}${where}: ${describeErrno(err)}; ${POINT_SCANDIR}`, { cause: err });
    }
  }
}

/**
 * How long a watch pass waits, in all, for removed slots' supervisors to exit: `watch` must stay
 * responsive to SIGTERM (issue 16 #5); what is left is the next pass's purge.
 */
const WATCH_REMOVAL_WAIT_MS = 1500;

/** How `watch` narrows a pass: the profiles to re-check, and services backing off. */
export interface Narrowing {
  readonly profiles?: ReadonlySet<string>;
  readonly hold?: ReadonlySet<string>;
}

/** The host facts of a pass: argv, environment, config.yaml, and the clock read now. */
function hostFacts(prep: Prepared, env: NodeJS.ProcessEnv, hermesHome: string): HostFacts {
  const account = accountOf(prep.settings.user);
  return {
    argv: prep.argv,
    env: hostEnv(env),
    config: observeConfig(prep.home, () => ({ parseDocument, visit, isCollection }), prep.configCache),
    nowMs: Date.now(),
    ...(account === undefined ? {} : { account }),
    volume: path.resolve(hermesHome),
  };
}

/** What the options of one pass are built from. */
export interface PassInputs {
  readonly args: Args;
  readonly prep: Prepared;
  /** The open scandir; undefined when it is missing and read as empty. */
  readonly scandir: Dir | undefined;
  /** The environment the host facts are read from (the command's `io.env`). */
  readonly env: NodeJS.ProcessEnv;
  /** How `watch` narrows the pass; left out, nothing is narrowed. */
  readonly narrow?: Narrowing;
}

/**
 * The options of one pass from flags and host facts. A narrowed pass is targeted unless
 * multiplexing is on (folding ties the root slot to every named intent): then it is full.
 */
export function passOptions(inputs: PassInputs): PassOptions {
  const { args, prep, scandir, env, narrow = {} } = inputs;
  const mode: Mode = args.command === 'boot' ? 'boot' : 'sync';
  const host = hostFacts(prep, env, args.hermesHome);
  const multiplex = decideMultiplex(host.env, host.config, args.hermesHome).multiplex;
  const scope = narrow.profiles !== undefined && !multiplex ? scopeOf(narrow.profiles, prep.settings) : undefined;
  return {
    mode,
    home: prep.home,
    scandir,
    hermesHome: args.hermesHome,
    settings: prep.settings,
    host,
    prune: args.prune,
    allowEmpty: args.allowEmpty,
    restartChanged: args.restartChanged,
    isRoot: process.geteuid?.() === 0,
    ...(args.command === 'watch' ? { removalWaitMs: WATCH_REMOVAL_WAIT_MS } : {}),
    drift: args.drift,
    heal: args.heal,
    ...(scope === undefined ? {} : { scope }),
    ...(narrow.hold === undefined ? {} : { hold: narrow.hold }),
  };
}

/** Logs a pass's warnings and the outcome of each operation. */
export function logPassResult(result: PassResult, logger: Logger): void {
  for (const n of result.desired.notices) {
    if (n.level === 'warn') logger.warn(n.message, { profile: n.profile });
  }
  for (const w of result.warnings) logger.warn(w);
  for (const r of result.results) {
    if (r.status === 'failed')
      logger.error(`${r.op.kind} failed: ${r.error ?? 'unknown error'}`, { service: r.op.service, kind: r.op.kind });
    else logger.debug(`${r.op.kind} applied: ${r.op.reason}`, { service: r.op.service, kind: r.op.kind });
  }
}

/**
 * 0 converged, 1 changes pending (dry run), 2 partial failure or blocked prune. A dry run predicts
 * the real run: 2 when the guard blocks its prune ("nothing to change" would hide it), 2 when it
 * plans a create over a slot path a file, symlink or FIFO holds (the run fails that create), and 2
 * for a refused operation (a slot it may not adopt, or may not remove: the run fails it).
 */
export function exitCodeOf(result: PassResult, dryRun: boolean): 0 | 1 | 2 {
  if (result.desired.pruneBlocked !== undefined) return 2;
  const failsForSure = (op: Operation): boolean => (op.kind === 'create' && isBlocked(result, op.service)) || isRefused(op);
  if (dryRun && result.plan.operations.some(failsForSure)) return 2;
  if (dryRun) return result.plan.operations.length + result.plan.restartPending.length > 0 ? 1 : 0;
  return result.results.some((r) => r.status === 'failed') ? 2 : 0;
}

/** Whether something that is not a directory (a file, a symlink, a FIFO) holds a service's slot path: it is never replaced. */
function isBlocked(result: PassResult, service: string): boolean {
  const entry = result.observed.scandir.slots.get(service)?.entry;
  return entry !== undefined && entry !== 'dir';
}

/** Warnings of a pass as one list, for the JSON document and watch's status. */
export function passWarnings(result: PassResult): string[] {
  return [...result.desired.notices.filter((n) => n.level === 'warn').map((n) => n.message), ...result.warnings];
}

/** Prints a skipped role's line (or its JSON document) and returns exit 0. */
export function printSkip(args: Args, io: Io, mode: Mode | 'watch', decision: Extract<RoleDecision, { kind: 'skip' }>): number {
  if (args.output === 'json') {
    io.stdout.write(`${JSON.stringify({ formatVersion: '2', mode, skipped: { role: decision.role, message: decision.message } })}\n`);
  } else {
    io.stdout.write(`${decision.message}\n`);
  }
  return EXIT.ok;
}

/** Directories under profiles/ that hold no SOUL.md, so are no profiles (upstream skips them silently). */
export function withoutSoul(home: ObservedHome): string[] {
  return [...home.notProfiles].sort();
}
