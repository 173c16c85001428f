/**
 * The CLI's commands: argument checks, host facts, the lock, one pass, output and exit codes.
 * Exit codes are mapped here and nowhere else.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HomeWrite, Settings } from '../model.js';
import { FatalError, LockHeldError, UsageError } from '../errors.js';
import { type HeldLock, acquireLock } from '../lock.js';
import { type PassResult, runPass } from '../reconcile.js';
import { type Dir, closeDir, openRoot } from '../safe-fs.js';
import { scopeOf } from '../observe/index.js';
import { formatBootTimestamp } from '../actuate/boot-log.js';
import { type Args, USAGE, parseCliArgs } from './args.js';
import { loadSettings } from './config.js';
import { applyHeapPolicy } from './heap.js';
import { detectContainerArgv, hermesIds, isDashboardArgv, legacySeedWrite, resolveMultiplex, rootStateSlot, wantsLegacySeed } from './host.js';
import { type Logger, createLogger } from './logger.js';
import { diffReport, planDocument, textReport, useColour } from './output.js';

/** Where a command writes; injectable so tests and `watch` can reuse commands. */
export interface Io {
  readonly stdout: { write(chunk: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(chunk: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

/** Exit codes (README "Exit codes"). */
export const EXIT = { ok: 0, pending: 1, partial: 2, locked: 3, usage: 100, fatal: 111 } as const;

/** The skip line upstream prints in a dashboard container. */
export const DASHBOARD_SKIP = 'reconcile: skipping (dashboard container \u2014 does not need per-profile gateways)';

/** Runs the CLI and returns the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let args: Args | null;
  try {
    args = parseCliArgs(argv, io.env);
  } catch (err) {
    return reportError(err, jsonRequested(argv), io, createLogger('info', 'text'));
  }
  if (args === null) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const logger = createLogger(args.logLevel, args.logFormat);
  try {
    if (args.command === 'watch') return await (await import('./watch.js')).runWatch(args, io, logger);
    if (args.command === 'status') return await (await import('./status.js')).runStatus(args, io, logger);
    return await runOnce(args, io, logger);
  } catch (err) {
    return reportError(err, args.output === 'json', io, logger);
  }
}

function jsonRequested(argv: readonly string[]): boolean {
  const i = argv.indexOf('--output');
  return argv.includes('--output=json') || (i >= 0 && argv[i + 1] === 'json');
}

function reportError(err: unknown, json: boolean, io: Io, logger: Logger): number {
  const [code, exit] =
    err instanceof UsageError ? (['usage', EXIT.usage] as const)
    : err instanceof LockHeldError ? (['locked', EXIT.locked] as const)
    : (['fatal', EXIT.fatal] as const);
  const message = err instanceof Error ? err.message : String(err);
  if (json) io.stdout.write(`${JSON.stringify({ formatVersion: '1', error: { code, message, exitCode: exit } })}\n`);
  logger.error(message);
  if (!(err instanceof UsageError || err instanceof LockHeldError || err instanceof FatalError) && err instanceof Error && err.stack) {
    logger.debug(err.stack);
  }
  return exit;
}

/** The container's role, resolved before anything else is read (upstream's `main()` does it first). */
export interface RoleFacts {
  readonly role: 'gateway' | 'none';
  readonly dashboard: boolean;
  /** The container argv (empty when the role was forced to dashboard or none: it is not needed). */
  readonly argv: readonly string[];
}

/** Everything a pass needs that is resolved from the host before the lock. */
export interface Prepared extends RoleFacts {
  readonly settings: Settings;
  readonly home: Dir;
}

/**
 * The role: `--role`/`RECONCILE_GATEWAYS_ROLE`, else the container argv (`--container-argv`, else
 * /proc). An explicit `gateway` role still reads the argv, which the legacy seed needs.
 */
export function resolveRole(args: Args): RoleFacts {
  const forced = args.role === 'dashboard' || args.role === 'none';
  const argv = args.containerArgv ?? (forced ? [] : detectContainerArgv());
  const dashboard = args.role === 'dashboard' || (args.role === undefined && isDashboardArgv(argv));
  return { role: args.role === 'none' ? 'none' : 'gateway', dashboard, argv };
}

/** Resolves settings and HERMES_HOME for a non-dashboard role; throws UsageError/FatalError. */
export async function prepare(args: Args, facts: RoleFacts = resolveRole(args)): Promise<Prepared> {
  const settings = await loadSettings(args.config, hermesIds());
  const home = openHome(args.hermesHome);
  return { ...facts, settings, home };
}

function openHome(hermesHome: string): Dir {
  let st: fs.Stats;
  try {
    st = fs.statSync(hermesHome);
  } catch (err) {
    throw new FatalError(`HERMES_HOME ${hermesHome} is missing or unreadable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!st.isDirectory()) throw new FatalError(`HERMES_HOME ${hermesHome} is not a directory`);
  try {
    const dir = openRoot(hermesHome);
    fs.readdirSync(hermesHome);
    return dir;
  } catch (err) {
    throw new FatalError(`HERMES_HOME ${hermesHome} is unreadable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Opens the scandir, creating it (0755, with parents) unless this is a dry run. */
export function openScandir(scandir: string, create: boolean): Dir | undefined {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(scandir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new FatalError(`scandir ${scandir} is unusable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  if (st !== undefined && !st.isDirectory()) throw new FatalError(`scandir ${scandir} exists but is not a directory`);
  if (st === undefined) {
    if (!create) return undefined;
    try {
      // mkdir's mode is masked by the umask, for the parents too: chmod every directory made.
      const made = fs.mkdirSync(scandir, { recursive: true, mode: 0o755 });
      const first = path.resolve(made ?? scandir);
      for (let dir = path.resolve(scandir); ; dir = path.dirname(dir)) {
        fs.chmodSync(dir, 0o755);
        if (dir === first || dir === path.dirname(dir)) break;
      }
    } catch (err) {
      throw new FatalError(`cannot create scandir ${scandir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  try {
    return openRoot(scandir);
  } catch (err) {
    throw new FatalError(`scandir ${scandir} is unusable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Default lock path. */
export function lockPath(args: Args): string {
  return args.lockFile ?? path.join(args.scandir, '.reconcile-gateways.lock');
}

async function runOnce(args: Args, io: Io, logger: Logger): Promise<number> {
  const mode = args.command === 'sync' ? 'sync' : 'boot';
  const facts = resolveRole(args);
  if (facts.dashboard) return printDashboardSkip(args, io, mode);
  const prep = await prepare(args, facts);
  let scandir: Dir | undefined;
  let lock: HeldLock | undefined;
  try {
    scandir = openScandir(args.scandir, !args.diff);
    if (!args.diff) lock = await acquireLock(lockPath(args), args.wait);
    const startMs = Date.now();
    const { result, multiplex, hostWarnings } = await executePass(args, prep, scandir, logger, io);
    const exitCode = exitCodeOf(result, args.diff);
    if (args.metricsFile !== undefined && !args.diff) await writeMetrics(args.metricsFile, result, exitCode, startMs, logger);
    const warnings = [...hostWarnings, ...result.desired.notices.filter((n) => n.level === 'warn').map((n) => n.message), ...result.warnings];
    await emit(args, io, result, { mode, role: prep.role, multiplex, exitCode, warnings });
    return exitCode;
  } finally {
    lock?.release();
    closeDir(scandir);
    closeDir(prep.home);
  }
}

/** `sync --metrics-file`: a write failure is a warning, the pass's exit code stands. */
async function writeMetrics(file: string, result: PassResult, exitCode: number, startMs: number, logger: Logger): Promise<void> {
  const endMs = Date.now();
  const outcome = exitCode === 0 ? 'converged' : result.desired.pruneBlocked !== undefined ? 'blocked' : 'partial';
  try {
    const { writeSyncMetrics } = await import('./watch-metrics.js');
    await writeSyncMetrics(file, result, { result: outcome, durationMs: endMs - startMs, finishedAt: new Date(endMs).toISOString() });
  } catch (err) {
    logger.warn(`cannot write --metrics-file ${file}: ${err instanceof Error ? err.message : String(err)}; create its directory or choose another path`);
  }
}

/** How `watch` narrows a pass: the profiles to re-check, and services backing off. */
export interface Narrowing {
  readonly profiles?: ReadonlySet<string>;
  readonly hold?: ReadonlySet<string>;
}

/**
 * Runs one pass with host facts resolved and logs what it found. A narrowed pass is targeted
 * unless multiplexing is on (folding ties the root slot to every named intent): then it is full.
 */
export async function executePass(
  args: Args,
  prep: Prepared,
  scandir: Dir | undefined,
  logger: Logger,
  io: Io,
  narrow: Narrowing = {},
): Promise<{ result: PassResult; multiplex: boolean; hostWarnings: readonly string[]; scoped: boolean }> {
  const mode = args.command === 'boot' ? 'boot' : 'sync';
  const mux = await resolveMultiplex(prep.home, io.env);
  const scope = narrow.profiles !== undefined && !mux.multiplex ? scopeOf(narrow.profiles, prep.settings) : undefined;
  const now = new Date();
  const legacy = mode === 'boot' ? planLegacySeed(args.hermesHome, prep, io.env, now) : { writes: [], warnings: [] };
  const hostWarnings = [...mux.warnings, ...legacy.warnings];
  for (const w of hostWarnings) logger.warn(w);
  const homeWrites = legacy.writes;
  applyHeapPolicy(args.hermesHome); // after resolveMultiplex compiled the cached yaml script
  const result = runPass({
    mode,
    dryRun: args.diff,
    home: prep.home,
    scandir,
    hermesHome: args.hermesHome,
    settings: prep.settings,
    prune: args.prune,
    allowEmpty: args.allowEmpty,
    restartChanged: args.restartChanged,
    role: prep.role,
    multiplex: mux.multiplex,
    homeWrites,
    isRoot: process.geteuid?.() === 0,
    timestamp: formatBootTimestamp(now),
    sleep: (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms),
    nowMs: now.getTime(),
    drift: args.drift,
    heal: args.heal,
    ...(scope === undefined ? {} : { scope }),
    ...(narrow.hold === undefined ? {} : { hold: narrow.hold }),
  });
  logPassResult(result, logger);
  return { result, multiplex: mux.multiplex, hostWarnings, scoped: scope !== undefined };
}

/** Logs a pass's warnings and the outcome of each operation. */
export function logPassResult(result: PassResult, logger: Logger): void {
  for (const n of result.desired.notices) {
    if (n.level === 'warn') logger.warn(n.message, { profile: n.profile });
  }
  for (const w of result.warnings) logger.warn(w);
  for (const r of result.results) {
    if (r.status === 'failed') logger.error(`${r.op.kind} failed: ${r.error ?? 'unknown error'}`, { service: r.op.service, kind: r.op.kind });
    else logger.debug(`${r.op.kind} applied: ${r.op.reason}`, { service: r.op.service, kind: r.op.kind });
  }
}

/** The legacy `gateway run` seed of the root state file (S40–S44), or why it is withheld. */
function planLegacySeed(hermesHome: string, prep: Prepared, env: NodeJS.ProcessEnv, now: Date): { writes: HomeWrite[]; warnings: string[] } {
  if (prep.role !== 'gateway' || !wantsLegacySeed(prep.argv, env)) return { writes: [], warnings: [] };
  const slot = rootStateSlot(prep.home);
  if (slot.kind === 'absent') return { writes: [legacySeedWrite(hermesHome, Math.floor(now.getTime() / 1000))], warnings: [] };
  if (slot.kind === 'present') return { writes: [], warnings: [] };
  return { writes: [], warnings: [`legacy gateway run container: ${hermesHome}/gateway_state.json ${slot.reason}; not seeding it`] };
}

/** 0 converged, 1 changes pending (dry run), 2 partial failure or blocked prune. */
export function exitCodeOf(result: PassResult, dryRun: boolean): 0 | 1 | 2 {
  if (dryRun) {
    const pending = result.plan.operations.length + result.plan.restartPending.length + result.plannedHomeWrites.length;
    return pending > 0 ? 1 : 0;
  }
  const failed = result.results.some((r) => r.status === 'failed') || result.homeWriteResults.some((w) => w.error !== undefined);
  return failed || result.desired.pruneBlocked !== undefined ? 2 : 0;
}

async function emit(
  args: Args,
  io: Io,
  result: PassResult,
  ctx: { mode: 'boot' | 'sync'; role: 'gateway' | 'none'; multiplex: boolean; exitCode: 0 | 1 | 2; warnings: readonly string[] },
): Promise<void> {
  const fold = result.desired.notices.filter((n) => n.level === 'info').map((n) => n.message);
  if (args.output === 'json') {
    for (const line of fold) io.stderr.write(`${line}\n`);
    const doc = planDocument(result, { ...ctx, dryRun: args.diff, hermesHome: args.hermesHome, scandir: args.scandir });
    io.stdout.write(`${JSON.stringify(doc)}\n`);
    return;
  }
  for (const line of fold) io.stdout.write(`${line}\n`);
  if (args.diff) {
    io.stdout.write(await diffReport(result, useColour(io.stdout.isTTY === true, io.env)));
    return;
  }
  io.stdout.write(textReport(result, ctx.exitCode));
}

/** Prints upstream's dashboard skip line (or its JSON document) and returns exit 0. */
export function printDashboardSkip(args: Args, io: Io, mode: 'boot' | 'sync'): number {
  if (args.output === 'json') {
    io.stdout.write(`${JSON.stringify({ formatVersion: '1', mode, skipped: { role: 'dashboard', message: DASHBOARD_SKIP } })}\n`);
  } else {
    io.stdout.write(`${DASHBOARD_SKIP}\n`);
  }
  return EXIT.ok;
}
