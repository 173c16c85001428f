/**
 * `boot` and `sync`: one pass under the lock (or, with `--diff`, only planned, without it), then
 * the report and the exit code.
 */
import path from 'node:path';
import type { Mode } from '../../model.js';
import type { HeldLock } from '../../lock.js';
import { namesInProse } from '../../model/text.js';
import { FINISH_FAILURE_EXIT, ROOT_PROFILE } from '../../model/constants.js';
import { shellWord } from '../../escape.js';
import { type PassPlan, type PassResult, applyPass, planPass, unapplied } from '../../reconcile.js';
import { type Dir, closeDir } from '../../safe-fs/index.js';
import { decideMultiplex } from '../../desired/index.js';
import { isRefused } from '../../diff/index.js';
import { DEFAULT_DRIFT_POLICY, healsPointless, healsRefused, healsWaiting } from '../../desired/drift.js';
import type { Args } from '../args.js';
import type { Logger } from '../logger.js';
import { metricsFileWarning } from '../report.js';
import { diffReport, planDocument, textReport, useColour } from '../output.js';
import {
  type Io,
  type Prepared,
  type RoleFacts,
  exitCodeOf,
  logPassResult,
  openScandir,
  passOptions,
  passWarnings,
  prepare,
  printSkip,
  resolveRole,
  scandirMissingWarning,
  checkOutputFiles,
  withoutSoul,
} from '../pass.js';
import { replaceForeignStateDir, lockPath, stateDirWarning, takeLock, waitForLock } from '../run-lock.js';

/** What a `boot` or `sync` run hands on from step to step. */
interface OnceRun {
  readonly mode: Mode;
  readonly args: Args;
  readonly io: Io;
  readonly logger: Logger;
}

/** Runs `boot` or `sync` and returns the exit code. */
export async function runOnce(mode: Mode, args: Args, io: Io, logger: Logger): Promise<number> {
  const facts = resolveRole(args);
  logger.debug(roleLine(args, facts));
  if (facts.decision.kind === 'skip') return printSkip(args, io, mode, facts.decision);
  if (!args.diff) checkOutputFiles({ '--metrics-file': args.metricsFile }, { taken: [['the run lock', lockPath(args)]] }); // --diff writes none
  const prep = await prepare(args, facts);
  logger.debug(`config: ${args.config === undefined || args.config === '' ? 'built-in settings' : args.config}`);
  let scandir: Dir | undefined;
  let lock: HeldLock | undefined;
  try {
    // --diff predicts the run: boot would create a missing scandir, sync would refuse it.
    scandir = openScandir(args.scandir, mode === 'sync' ? 'refuse' : args.diff ? 'empty' : 'create');
    if (!args.diff) {
      lock = await lockFor(args, scandir, logger);
      logger.debug(`holding the run lock ${lockPath(args)}`);
      // With --lock-file too, a foreign state directory is replaced (and said) before the pass reads
      // the scandir, as taking the lock in it does: the plan then sees what the pass will use.
      replaceForeignStateDir(scandir, (m) => logger.warn(m));
    }
    return await passAndReport({ mode, args, io, logger }, prep, scandir);
  } finally {
    lock?.release();
    closeDir(scandir);
    closeDir(prep.home);
  }
}

/**
 * The pass (planned, then applied unless --diff), its metrics file and its report, once the
 * scandir is open and the lock held; returns the exit code.
 */
async function passAndReport(run: OnceRun, prep: Prepared, scandir: Dir | undefined): Promise<number> {
  const { mode, args, io, logger } = run;
  const startMs = Date.now();
  const options = passOptions({ args, prep, scandir, env: io.env });
  let planned = planPass(options);
  const plannedMs = Date.now();
  logPlanned(planned, plannedMs - startMs, logger);
  const more = scandir === undefined ? [scandirMissingWarning(args.scandir)] : runWarnings(args, scandir, mode, planned);
  if (more.length > 0) planned = { ...planned, warnings: [...planned.warnings, ...more] };
  if (args.heal) for (const line of healWaitLines(planned)) logger.info(line);
  const result = args.diff ? unapplied(planned) : await applyPass(planned);
  if (!args.diff) logger.debug(`applied ${result.results.length} operations in ${Date.now() - plannedMs} ms`);
  logPassResult(result, logger);
  const exitCode = exitCodeOf(result, args.diff);
  if (args.metricsFile !== undefined && !args.diff) await writeMetrics(args.metricsFile, { result, exitCode, startMs }, logger);
  if (args.metricsFile !== undefined && args.diff) logger.info(`--metrics-file ${args.metricsFile} not written: --diff changes nothing`);
  const multiplex = decideMultiplex(planned.options.host.env, planned.options.host.config, args.hermesHome).multiplex;
  await emit(args, io, result, { mode, multiplex, exitCode, warnings: passWarnings(result) });
  return exitCode;
}

/** What a pass of the command says beyond the planner: what this user's run would meet (--diff), a missing s6-svscan (sync). */
function runWarnings(args: Args, scandir: Dir, mode: Mode, planned: PassPlan): string[] {
  const unusable = args.diff ? stateDirWarning(args, scandir, mode, planned.plan) : undefined;
  const unsupervised = mode === 'sync' ? noSvscanWarning(planned, args.diff) : undefined;
  return [unusable, unsupervised].filter((w): w is string => w !== undefined);
}

/** The operations whose effect a running s6-svscan (and its supervisors) carries out. */
const SUPERVISED_KINDS: ReadonlySet<string> = new Set(['create', 'up', 'down', 'restart']);

/**
 * A `sync` that changes what runs over a scandir no s6-svscan runs on: the files it writes are
 * right, but no new slot is picked up and no gateway whose supervisor is gone starts or stops until
 * one runs there, and the summary read as done. Not boot: it runs before s6-svscan starts, by
 * design; not watch, which says so on every pass already.
 */
function noSvscanWarning(planned: PassPlan, diff: boolean): string | undefined {
  const scan = planned.observed.scandir;
  const dir = planned.options.scandir;
  if (dir === undefined || scan.svscanLive || scan.svscanUnknown !== undefined) return undefined;
  const services = planned.plan.operations.filter((op) => SUPERVISED_KINDS.has(op.kind) && !isRefused(op)).map((op) => op.service);
  if (services.length === 0) return undefined;
  return (
    `no s6-svscan runs on ${dir.path}: the changes to ${namesInProse([...new Set(services)], 5)} ${diff ? 'would be' : 'are'} written, ` +
    'but until one runs there no new slot is supervised and no gateway without a running s6-supervise starts or stops ' +
    '(in the image s6-overlay runs it; a scandir of its own, S6_PROFILE_GATEWAY_SCANDIR, needs an s6-svscan of its own)'
  );
}

/** At --log-level debug: what the plan read, how long planning took, and what under profiles/ is no profile. */
function logPlanned(planned: PassPlan, planningMs: number, logger: Logger): void {
  logger.debug(
    `read ${planned.observed.home.profiles.length} profiles and ${planned.observed.scandir.slots.size} slots, planned ${planned.plan.operations.length} operations in ${planningMs} ms`,
  );
  const notProfiles = withoutSoul(planned.observed.home);
  if (notProfiles.length > 0)
    logger.debug(
      `not profiles (no SOUL.md): ${namesInProse(
        notProfiles.map((n) => `profiles/${n}`),
        10,
      )}`,
    );
}

/** At --log-level debug: the role and where it came from. */
function roleLine(args: Args, facts: RoleFacts): string {
  const role = facts.decision.kind === 'skip' ? facts.decision.role : 'gateway';
  const from =
    args.role !== undefined
      ? '--role or RECONCILE_GATEWAYS_ROLE'
      : args.containerArgv !== undefined
        ? `--container-argv ${JSON.stringify(facts.argv)}`
        : facts.argv.length === 0
          ? 'no container command found: gateway is the default'
          : `the container's command ${JSON.stringify(facts.argv)}`;
  return `role: ${role} (from ${from})`;
}

/** The pass a metrics file reports. */
interface MeteredPass {
  readonly result: PassResult;
  readonly exitCode: number;
  /** Date.now() before the pass's options were read: its duration counts from there. */
  readonly startMs: number;
}

/** `sync --metrics-file`: a write failure is a warning, the pass's exit code stands. */
async function writeMetrics(file: string, pass: MeteredPass, logger: Logger): Promise<void> {
  const { result, exitCode, startMs } = pass;
  const endMs = Date.now();
  const outcome = exitCode === 0 ? 'converged' : result.desired.pruneBlocked !== undefined ? 'blocked' : 'partial';
  try {
    const { writeSyncMetrics } = await import('../watch-metrics.js');
    await writeSyncMetrics(file, result, { result: outcome, durationMs: endMs - startMs, finishedAt: new Date(endMs).toISOString() });
  } catch (err) {
    logger.warn(metricsFileWarning(file, err));
  }
}

async function emit(
  args: Args,
  io: Io,
  result: PassResult,
  ctx: { mode: Mode; multiplex: boolean; exitCode: 0 | 1 | 2; warnings: readonly string[] },
): Promise<void> {
  const fold = result.desired.notices.filter((n) => n.level === 'info').map((n) => n.message);
  if (args.output === 'json') {
    for (const line of fold) io.stderr.write(`${line}\n`);
    const doc = planDocument(result, {
      ...ctx,
      dryRun: args.diff,
      hermesHome: path.resolve(args.hermesHome),
      scandir: path.resolve(args.scandir),
    });
    io.stdout.write(`${JSON.stringify(doc)}\n`);
    return;
  }
  for (const line of fold) io.stdout.write(`${line}\n`);
  if (args.diff) {
    io.stdout.write(await diffReport(result, useColour(io.stdout.isTTY === true, io.env), path.resolve(args.scandir)));
    return;
  }
  io.stdout.write(textReport(result, ctx.exitCode, path.resolve(args.scandir)));
}

/** The run lock; with --wait, one line says whose run it waits for. */
function lockFor(args: Args, scandir: Dir | undefined, logger: Logger): Promise<HeldLock> {
  const warn = (message: string): void => logger.warn(message);
  if (!args.wait) return takeLock(args, scandir, false, { warn });
  return waitForLock(args, scandir, (held) => logger.info(`${held}; waiting for it to finish (--wait)`), { warn });
}

/**
 * What `sync --heal` says of a heal it holds back for its back-off step (planHeals), or leaves
 * alone because s6 already wants the gateway up, so a pass that heals nothing while status shows
 * IntentRunningButDown says why.
 */
export function healWaitLines(p: Pick<PassResult, 'observed' | 'drift' | 'options'>): string[] {
  const nowUnix = p.options.host.nowMs / 1000;
  const policy = p.options.drift ?? DEFAULT_DRIFT_POLICY;
  const held = healsWaiting(p.observed, p.drift, nowUnix, policy).map(
    (w) =>
      `${w.service}: heal held back ${w.inSeconds} s more (back-off after ${w.deaths} recent ${w.deaths === 1 ? 'death' : 'deaths'}: 1 s, doubling, at most 300 s); a later sync --heal or watch --heal brings it up`,
  );
  const pointless = healsPointless(p.observed, p.drift, nowUnix, policy).map(
    (service) =>
      `${service}: no heal: s6 already wants it up but has not started ./run (s6-svc -u would change nothing); can it run? s6-svscan's output says why`,
  );
  const refused = healsRefused(p.observed, p.drift, nowUnix, policy).map((service) => {
    const profile = p.drift.find((d) => d.service === service)?.profile;
    const hermes = `hermes${profile === undefined || profile === ROOT_PROFILE ? '' : ` -p ${profile}`} gateway start`;
    const slot = shellWord(path.resolve(p.options.scandir?.path ?? '.', service));
    return `${service}: no heal: its ./run exited ${FINISH_FAILURE_EXIT}, a config error, which finish makes final; fix the cause, then s6-svc -u ${slot} (or ${hermes})`;
  });
  return [...held, ...pointless, ...refused];
}
