/**
 * The one CLI harness: runs the real CLI (`node bin/reconcile-gateways.cjs`, the installed command) as a
 * child process, with a hermetic environment so the host's HERMES_HOME, scandir or role can never leak
 * into a test. Await a run ({@link runCli}), start a long-running one ({@link startCli}) or run and parse
 * its JSON ({@link runJson}). The scratch trees it runs on are in `world.ts`, re-exported here; a world
 * with a real s6-svscan is in `s6-world.ts`.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './s6.js';
import { type World, worldArgs } from './world.js';

export * from './world.js';

/** The CLI command as installed: the bin, which loads the bundle (dist/reconcile-gateways.cjs). */
export const MAIN = path.join(repoRoot(), 'bin', 'reconcile-gateways.cjs');

/** Liveness deadline of one run (60 s: the machine may be loaded); never a timing assertion. */
export const LIVENESS_MS = 60_000;

/** What a CLI run printed and how it ended. */
export interface CliResult {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The liveness deadline was hit and the run's process group was SIGKILLed. */
  readonly timedOut: boolean;
}

/** Options of a run. */
export interface CliOptions {
  /** The environment to start from (default {@link hermeticEnv}: PATH, HOME and TZ=UTC only). */
  readonly baseEnv?: NodeJS.ProcessEnv;
  /** Extra environment, on top of the base. */
  readonly env?: Readonly<Record<string, string>>;
  /** Liveness deadline (default {@link LIVENESS_MS}); `Infinity` for none (a `watch` the test ends). */
  readonly timeoutMs?: number;
  /** The node binary (default: the one running the tests). */
  readonly node?: string;
  /** The CLI file to run (default {@link MAIN}, or a copy every user can read when `uid` is not root). */
  readonly main?: string;
  /** Run as this user and group (the unprivileged hermes user, say). */
  readonly uid?: number;
  readonly gid?: number;
  /** Give the child a pipe on fd 3 too (`watch --ready-fd 3`). */
  readonly fd3?: boolean;
  /** The child's working directory (default: the tests'). */
  readonly cwd?: string;
}

/** A run started in its own process group, so {@link killGroup} can end it with all its children. */
export interface Started {
  readonly child: ChildProcess;
  /** Settles once the child closed its output; rejects only when it could not be spawned. */
  readonly done: Promise<CliResult>;
}

/** A `--output json` run: the result and the parsed stdout document. */
export interface JsonRun<T = Record<string, unknown>> extends CliResult {
  readonly doc: T;
}

/** The environment runs start from: PATH, HOME and TZ=UTC, nothing else. */
export function hermeticEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', TZ: 'UTC' };
}

/** Starts `node <argv>` (a CLI file or a test driver) detached, collecting its output. */
export function startNode(argv: readonly string[], opts: CliOptions = {}): Started {
  const stdio: StdioOptions = opts.fd3 === true ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn(opts.node ?? process.execPath, argv, {
    detached: true,
    stdio,
    env: { ...(opts.baseEnv ?? hermeticEnv()), ...opts.env },
    ...(opts.uid === undefined ? {} : { uid: opts.uid }),
    ...(opts.gid === undefined ? {} : { gid: opts.gid }),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const deadline = opts.timeoutMs ?? LIVENESS_MS;
  const timer = Number.isFinite(deadline)
    ? setTimeout(() => {
        timedOut = true;
        killGroup(child, 'SIGKILL');
      }, deadline)
    : undefined;
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  return { child, done };
}

/** Starts `reconcile-gateways <args>` detached (a `watch`, a run to kill); see {@link startNode}. */
export function startCli(args: readonly string[], opts: CliOptions = {}): Started {
  const unprivileged = opts.uid !== undefined && opts.uid !== 0;
  return startNode([opts.main ?? (unprivileged ? readableMain() : MAIN), ...args], {
    ...opts,
    env: { ...volumeEnv(args, opts), ...opts.env },
  });
}

/**
 * HERMES_HOME set to the `--hermes-home` given, as the Hermes image's environment has it, unless
 * the run sets its own: otherwise every run over a scratch volume would be warned that its
 * gateways (whose config's `home` is /tmp) would use another volume (desired/host.ts homeNotice).
 */
function volumeEnv(args: readonly string[], opts: CliOptions): Record<string, string> {
  if ((opts.baseEnv ?? {})['HERMES_HOME'] !== undefined || opts.env?.['HERMES_HOME'] !== undefined) return {};
  const at = args.lastIndexOf('--hermes-home');
  const given =
    at >= 0
      ? args[at + 1]
      : [...args]
          .reverse()
          .find((a) => a.startsWith('--hermes-home='))
          ?.slice('--hermes-home='.length);
  return given === undefined || given === '' ? {} : { HERMES_HOME: path.resolve(opts.cwd ?? process.cwd(), given) };
}

/** Runs the CLI with `args` to its end (or its liveness deadline); never rejects on a non-zero exit. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Runs the CLI with `args --output json`; stdout must be exactly one JSON document. */
export async function runJson<T = Record<string, unknown>>(args: readonly string[], opts: CliOptions = {}): Promise<JsonRun<T>> {
  const r = await runCli([...args, '--output', 'json'], opts);
  return { ...r, doc: parseDoc<T>(r) };
}

/** Parses a run's stdout as one JSON document, or throws with what the run printed. */
export function parseDoc<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch (err) {
    throw new Error(`stdout is not one JSON document (exit ${String(r.code)}): ${r.stdout}\nstderr: ${r.stderr}`, { cause: err });
  }
}

/** `boot` arguments for a home and a scandir (container argv forced empty, like upstream's tests). */
export function bootArgs(hermesHome: string, scandir: string, ...extra: string[]): string[] {
  return ['boot', '--hermes-home', hermesHome, '--scandir', scandir, '--container-argv', '[]', ...extra];
}

/** Runs `boot --output json` on a home and a scandir and parses stdout. */
export function bootJson(hermesHome: string, scandir: string, extra: readonly string[] = [], opts: CliOptions = {}): Promise<JsonRun> {
  return runJson(bootArgs(hermesHome, scandir, ...extra), opts);
}

/** The per-profile stdout lines (`reconcile: profile=...`) of a text run. */
export function profileLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('reconcile: profile='));
}

/** Kills a started run's whole process group; a group already gone is fine. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if (!(err instanceof Error && 'code' in err && err.code === 'ESRCH')) throw err;
  }
}

let copied: string | undefined;

/** Whether every directory from / down to `file`'s own allows others to pass (mode o+x). */
export function reachableByOthers(file: string): boolean {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

/**
 * The CLI file an unprivileged user can run. A checkout under a 0700 directory (root's home, the usual
 * place for a clone) keeps `nobody` from reaching dist/, so it gets a copy of the bundle (one
 * self-contained file) in a 0755 temp dir, made once per test process.
 */
export function readableMain(): string {
  const bundle = path.join(repoRoot(), 'dist', 'reconcile-gateways.cjs');
  if (reachableByOthers(bundle)) return bundle;
  if (copied === undefined) {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-readable-cli-'));
    fs.chmodSync(dest, 0o755);
    fs.copyFileSync(bundle, path.join(dest, 'reconcile-gateways.cjs'));
    fs.chmodSync(path.join(dest, 'reconcile-gateways.cjs'), 0o644);
    process.once('exit', () => fs.rmSync(dest, { recursive: true, force: true }));
    copied = path.join(dest, 'reconcile-gateways.cjs');
  }
  return copied;
}

/** The parts of the JSON plan document (`boot`/`sync --output json`) the tests read. */
export interface PlanDoc {
  readonly exitCode?: number;
  readonly warnings?: readonly string[];
  readonly operations?: readonly { kind: string; service: string; status?: string; error?: string }[];
  readonly profiles?: readonly { profile: string; action: string; reason?: string; priorState: string | null }[];
  readonly error?: { code: string; message: string };
}

/** The argv of `command` on a world: its trees, config and an empty container argv, then `extra`. */
export function worldCommand(command: string, world: World, extra: readonly string[] = []): string[] {
  return [command, ...worldArgs(world), ...extra];
}

/** Runs `command` on a world ({@link worldCommand}). */
export function runWorld(command: string, world: World, extra: readonly string[] = [], opts: CliOptions = {}): Promise<CliResult> {
  return runCli(worldCommand(command, world, extra), opts);
}

/** Runs `command --output json` on a world and parses its plan document. */
export function runWorldJson(
  command: string,
  world: World,
  extra: readonly string[] = [],
  opts: CliOptions = {},
): Promise<JsonRun<PlanDoc>> {
  return runJson<PlanDoc>(worldCommand(command, world, extra), opts);
}
