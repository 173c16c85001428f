/**
 * Real-s6 test support: start a private s6-svscan on a temp scandir through
 * test/helpers/s6-harness.sh, query and wait on its services, and stop it
 * leaving no process behind. Tests must call `stopAll()` in `test.after.always`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

const HARNESS_REL = path.join('test', 'helpers', 's6-harness.sh');
const S6_TOOLS = ['s6-svscan', 's6-supervise', 's6-svscanctl', 's6-svc', 's6-svstat', 's6-svok', 's6-svwait'];
const SVSTAT_FIELDS = 'up,wantedup,normallyup,ready,pid,exitcode,signal';
// A liveness deadline, not a timing assertion: generous, because the test machine may be loaded.
const DEFAULT_WAIT_MS = 30_000;

/** A run script that stands in for a gateway: it just sleeps under supervision. */
export const SLEEP_RUN = '#!/bin/sh\nexec sleep 1000\n';

/** One field name accepted by `s6-svstat -o` in s6 2.11.3.2. */
export type SvstatField =
  | 'up'
  | 'wantedup'
  | 'normallyup'
  | 'ready'
  | 'paused'
  | 'pid'
  | 'exitcode'
  | 'signal'
  | 'signum'
  | 'updownsince'
  | 'readysince'
  | 'updownfor'
  | 'readyfor';

/** The parsed output of `s6-svstat -o up,wantedup,normallyup,ready,pid,exitcode,signal`. */
export interface Svstat {
  readonly up: boolean;
  readonly wantedup: boolean;
  readonly normallyup: boolean;
  readonly ready: boolean;
  /** The service pid, or -1 when down or finishing. */
  readonly pid: number;
  /** The exit code of the last death, or -1 when up or signalled. */
  readonly exitcode: number;
  /** A name like `SIGTERM`, or `NA`. */
  readonly signal: string;
}

/** A fresh, empty s6-svscan state directory: `scandir` is always `state/scan`. */
export interface SvscanState {
  readonly state: string;
  readonly scandir: string;
}

/** Options for {@link startSvscan}. */
export interface StartOptions {
  /** `s6-svscan -c`; s6 supervises at most 500 services without it. */
  readonly maxServices?: number;
}

/** Options for {@link Svscan.addService}. */
export interface AddServiceOptions {
  /** Extra files relative to the service dir (`down`, `log/run`, ...); `#!` content is made executable. */
  readonly files?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/** Options for {@link Svscan.stop} and {@link stopAll}. */
export interface StopOptions {
  /** Delete the state directory after the processes are gone (default false, keeps svscan.log). */
  readonly removeState?: boolean;
}

/** A running s6-svscan started by {@link startSvscan}; every wait is a liveness deadline, not a timing check. */
export interface Svscan extends SvscanState {
  readonly pid: number;
  /** The absolute path of service `name` in the scandir. */
  servicePath(name: string): string;
  /** Builds `name` under a dot-name, renames it into place, runs `s6-svscanctl -a` and waits until supervised (status written). */
  addService(name: string, run: string, opts?: AddServiceOptions): Promise<string>;
  /** Reads `s6-svstat -o`; throws with s6's stderr when `name` is not supervised. */
  svstat(name: string): Promise<Svstat>;
  waitUp(name: string, timeoutMs?: number): Promise<void>;
  waitReady(name: string, timeoutMs?: number): Promise<void>;
  waitDown(name: string, timeoutMs?: number): Promise<void>;
  waitSupervised(name: string, timeoutMs?: number): Promise<void>;
  /** Polls `s6-svstat -o fields` until it prints `expected` (values joined by spaces). */
  waitSvstat(
    name: string,
    fields: readonly SvstatField[] | string,
    expected: readonly (string | number | boolean)[] | string,
    timeoutMs?: number,
  ): Promise<void>;
  /** True when an s6-supervise holds `name/supervise/lock` (s6-svok). */
  isSupervised(name: string): boolean;
  /** The live (non-zombie) children of s6-svscan, found by ppid in /proc. */
  supervisorPids(): number[];
  /** `s6-svscanctl -an`: picks up new dirs and stops supervisors of removed ones. */
  rescan(): Promise<void>;
  /** Stops s6-svscan, its supervisors and services; throws if any of them survives. Idempotent. */
  stop(opts?: StopOptions): Promise<void>;
}

interface ExecResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface ProcStat {
  readonly state: string;
  readonly ppid: number;
  readonly starttime: string;
}

const running = new Set<RunningSvscan>();
let cachedRoot: string | undefined;

/** The repository root: the nearest ancestor of this module holding package.json and the harness. */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const here = fileURLToPath(import.meta.url);
  let dir = path.dirname(here);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, HARNESS_REL))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json with ${HARNESS_REL} above ${here}`);
    dir = parent;
  }
}

/** True when the s6 tools the harness needs (s6-svscan, s6-svc, ...) are all executable on PATH. */
export function hasS6(): boolean {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '');
  return S6_TOOLS.every((tool) => dirs.some((dir) => isExecutable(path.join(dir, tool))));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Polls `predicate` until it returns true; a throw counts as false and is kept as the timeout's cause. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await delay(intervalMs);
  }
}

function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parens: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid] = fields;
  const starttime = fields[19];
  if (state === undefined || ppid === undefined || starttime === undefined) return undefined;
  return { state, ppid: Number(ppid), starttime };
}

function isLiveStat(stat: ProcStat | undefined): stat is ProcStat {
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** True when `pid` exists and is not a zombie (PID 1 here may reap orphans late). */
export function processAlive(pid: number): boolean {
  return isLiveStat(readProcStat(pid));
}

function liveProcesses(): Map<number, ProcStat> {
  const procs = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (isLiveStat(stat)) procs.set(Number(entry), stat);
  }
  return procs;
}

/** The live descendants of `root` with their start times, read from /proc (never matched by name). */
function descendants(root: number): Map<number, string> {
  const procs = liveProcesses();
  const found = new Map<number, string>();
  let frontier = [root];
  while (frontier.length > 0) {
    const parents = new Set(frontier);
    frontier = [];
    for (const [pid, stat] of procs) {
      if (parents.has(stat.ppid) && !found.has(pid)) {
        found.set(pid, stat.starttime);
        frontier.push(pid);
      }
    }
  }
  return found;
}

function execCapture(file: string, args: readonly string[], timeoutMs: number, env = process.env): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const options = { timeout: timeoutMs, killSignal: 'SIGKILL' as const, env, encoding: 'utf8' as const };
    execFile(file, args, options, (error, stdout, stderr) => {
      if (error === null) {
        resolve({ code: 0, signal: null, stdout, stderr });
      } else if (typeof error.code === 'number' || typeof error.signal === 'string') {
        resolve({ code: typeof error.code === 'number' ? error.code : null, signal: error.signal ?? null, stdout, stderr });
      } else {
        reject(error);
      }
    });
  });
}

function runHarness(args: readonly string[], timeoutMs: number, env = process.env): Promise<ExecResult> {
  return execCapture('bash', [path.join(repoRoot(), HARNESS_REL), ...args], timeoutMs + 5_000, env);
}

function describeFailure(what: string, result: ExecResult): string {
  const how = result.signal === null ? `exit ${String(result.code)}` : `signal ${result.signal}`;
  const stderr = result.stderr.trim();
  return `${what} failed (${how})${stderr === '' ? '' : `: ${stderr}`}`;
}

async function harnessOrThrow(args: readonly string[], timeoutMs: number, env = process.env): Promise<string> {
  const result = await runHarness(args, timeoutMs, env);
  if (result.code !== 0) throw new Error(describeFailure(`s6-harness ${args.join(' ')}`, result));
  return result.stdout;
}

function parseBool(word: string | undefined, field: string, line: string): boolean {
  if (word === 'true') return true;
  if (word === 'false') return false;
  throw new Error(`s6-svstat: bad ${field} in '${line}'`);
}

function parseInt10(word: string | undefined, field: string, line: string): number {
  if (word === undefined || !/^-?\d+$/.test(word)) throw new Error(`s6-svstat: bad ${field} in '${line}'`);
  return Number(word);
}

function parseSvstat(line: string): Svstat {
  const w = line.trim().split(/\s+/);
  const signal = w[6];
  if (w.length !== 7 || signal === undefined) throw new Error(`s6-svstat: expected 7 fields, got '${line}'`);
  return {
    up: parseBool(w[0], 'up', line),
    wantedup: parseBool(w[1], 'wantedup', line),
    normallyup: parseBool(w[2], 'normallyup', line),
    ready: parseBool(w[3], 'ready', line),
    pid: parseInt10(w[4], 'pid', line),
    exitcode: parseInt10(w[5], 'exitcode', line),
    signal,
  };
}

/** Creates an empty s6-svscan state dir under os.tmpdir(), with its scandir `state/scan`. */
export async function createSvscanState(): Promise<SvscanState> {
  const state = await mkdtemp(path.join(os.tmpdir(), 's6h-'));
  const scandir = path.join(state, 'scan');
  await mkdir(scandir);
  return { state, scandir };
}

/**
 * Starts s6-svscan on `state/scan` (created if missing) and waits for its readiness.
 * The instance is tracked until stopped, so {@link stopAll} can clean up after a file's tests.
 */
export async function startSvscan(state: string, opts: StartOptions = {}): Promise<Svscan> {
  const env = opts.maxServices === undefined ? process.env : { ...process.env, S6H_MAX: String(opts.maxServices) };
  const printed = (await harnessOrThrow(['start', state], 60_000, env)).trim();
  const pid = Number(readFileSync(path.join(printed, 'svscan.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad svscan.pid in ${printed}`);
  const svscan = new RunningSvscan(printed, pid);
  running.add(svscan);
  return svscan;
}

/** Stops every s6-svscan this module started and not yet stopped; throws if any stop failed. */
export async function stopAll(opts: StopOptions = {}): Promise<void> {
  const results = await Promise.allSettled([...running].map((svscan) => svscan.stop(opts)));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (errors.length > 0) throw new AggregateError(errors, `${errors.length} s6-svscan stop(s) failed`);
}

// Last resort if a test file forgot stopAll or crashed: never leave a scandir supervised.
process.on('exit', () => {
  for (const svscan of running) {
    const victims = svscanTree(svscan.pid);
    spawnSync('bash', [path.join(repoRoot(), HARNESS_REL), 'stop', svscan.state], { stdio: 'ignore', timeout: 60_000 });
    for (const [pid, start] of processesIn(svscan.state)) victims.set(pid, start);
    signalQuietly(survivors(victims), 'SIGKILL');
  }
});

class RunningSvscan implements Svscan {
  readonly scandir: string;
  #stopped = false;

  constructor(
    readonly state: string,
    readonly pid: number,
  ) {
    this.scandir = path.join(state, 'scan');
  }

  servicePath(name: string): string {
    return path.join(this.scandir, name);
  }

  async addService(name: string, run: string, opts: AddServiceOptions = {}): Promise<string> {
    const tmp = path.join(this.scandir, `.${name}.tmp`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    for (const [rel, content] of Object.entries({ ...opts.files, run })) {
      const file = path.join(tmp, rel);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content, { mode: content.startsWith('#!') ? 0o755 : 0o644 });
    }
    // s6 tracks services by inode: publish the finished dir with one rename.
    await rename(tmp, this.servicePath(name));
    await this.#svscanctl('-a');
    await this.waitSupervised(name, opts.timeoutMs ?? DEFAULT_WAIT_MS);
    return this.servicePath(name);
  }

  async svstat(name: string): Promise<Svstat> {
    const result = await execCapture('s6-svstat', ['-o', SVSTAT_FIELDS, this.servicePath(name)], 30_000);
    if (result.code !== 0) throw new Error(describeFailure(`s6-svstat ${this.servicePath(name)}`, result));
    return parseSvstat(result.stdout);
  }

  waitUp(name: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.#wait('wait-up', name, timeoutMs);
  }

  waitReady(name: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.#wait('wait-ready', name, timeoutMs);
  }

  waitDown(name: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.#wait('wait-down', name, timeoutMs);
  }

  waitSupervised(name: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.#wait('wait-supervised', name, timeoutMs);
  }

  async waitSvstat(
    name: string,
    fields: readonly SvstatField[] | string,
    expected: readonly (string | number | boolean)[] | string,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<void> {
    const fieldList = typeof fields === 'string' ? fields : fields.join(',');
    const want = typeof expected === 'string' ? expected : expected.map(String).join(' ');
    await harnessOrThrow(['wait-svstat', this.state, name, fieldList, want, String(timeoutMs)], timeoutMs);
  }

  isSupervised(name: string): boolean {
    return spawnSync('s6-svok', [this.servicePath(name)], { stdio: 'ignore' }).status === 0;
  }

  supervisorPids(): number[] {
    const pids = [...liveProcesses()].filter(([, stat]) => stat.ppid === this.pid).map(([pid]) => pid);
    return pids.sort((a, b) => a - b);
  }

  async rescan(): Promise<void> {
    await this.#svscanctl('-an');
  }

  async stop(opts: StopOptions = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    running.delete(this);
    const victims = svscanTree(this.pid);
    await harnessOrThrow(['stop', this.state], 60_000);
    for (const [pid, start] of processesIn(this.state)) victims.set(pid, start);
    await reapLeftovers(victims, `s6-svscan ${this.pid} (${this.scandir})`);
    if (opts.removeState === true) await rm(this.state, { recursive: true, force: true });
  }

  async #wait(command: string, name: string, timeoutMs: number): Promise<void> {
    const result = await runHarness([command, this.state, name, String(timeoutMs)], timeoutMs);
    if (result.code === 0) return;
    const human = spawnSync('s6-svstat', [this.servicePath(name)], { encoding: 'utf8' });
    const now = `${human.stdout.trim()}${human.stderr.trim()}`;
    throw new Error(`${describeFailure(`${command} ${name} within ${timeoutMs} ms`, result)}; s6-svstat now: ${now}`);
  }

  async #svscanctl(flags: string): Promise<void> {
    const result = await execCapture('s6-svscanctl', [flags, this.scandir], 30_000);
    if (result.code !== 0) throw new Error(describeFailure(`s6-svscanctl ${flags} ${this.scandir}`, result));
  }
}

function survivors(victims: ReadonlyMap<number, string>): number[] {
  const isSame = (pid: number, start: string): boolean => {
    const stat = readProcStat(pid);
    return isLiveStat(stat) && stat.starttime === start;
  };
  return [...victims].filter(([pid, start]) => isSame(pid, start)).map(([pid]) => pid);
}

function signalQuietly(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      // ESRCH: it exited between the check and the kill, which is what we wanted.
      if (!(error instanceof Error && 'code' in error && error.code === 'ESRCH')) throw error;
    }
  }
}

/**
 * Ends every recorded pid:starttime still alive after the harness stop: TERM, then KILL.
 * These are grandchildren s6 never signals (e.g. `sleep &` in a non-exec run script).
 */
async function reapLeftovers(victims: ReadonlyMap<number, string>, what: string): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const left = survivors(victims);
    if (left.length === 0) return;
    signalQuietly(left, signal);
    try {
      await waitFor(() => survivors(victims).length === 0, 2_000, `leftovers of ${what} to exit`);
      return;
    } catch {
      // Escalate to SIGKILL, or report below.
    }
  }
  throw new Error(`${what}: processes survived SIGKILL: ${survivors(victims).join(' ')}`);
}

/** The processes an s6-svscan owns now: itself and all its live descendants, as pid -> start time. */
function svscanTree(pid: number): Map<number, string> {
  const victims = descendants(pid);
  const own = readProcStat(pid);
  if (isLiveStat(own)) victims.set(pid, own.starttime);
  return victims;
}

/**
 * Live processes (other than this one) whose cwd is inside `dir`: s6 starts run and finish
 * in the service dir, so this finds orphans that were spawned during the stop itself.
 */
function processesIn(dir: string): Map<number, string> {
  const root = realpathSync(dir);
  const found = new Map<number, string>();
  for (const [pid, stat] of liveProcesses()) {
    if (pid === process.pid) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue; // exited meanwhile, or not ours to inspect
    }
    if (cwd === root || cwd.startsWith(root + path.sep)) found.set(pid, stat.starttime);
  }
  return found;
}
