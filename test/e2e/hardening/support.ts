/**
 * Shared support for the hardening tests: a scratch layout (HERMES_HOME, scandir, config), the
 * real CLI run as a child process with a liveness deadline, slot completeness checks and fast
 * lstat-only snapshots that never follow a link or open a FIFO.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { removeTree, tempDir } from '../../helpers/tree.js';
import { MAIN, type TestWorld, TEST_SETTINGS } from '../../helpers/cli.js';
import { readableMain } from '../../helpers/readable-cli.js';

/** Path of the compiled CLI. */
export const CLI_MAIN = MAIN;

/** Liveness deadline of one CLI run: generous, never a timing assertion. */
export const LIVENESS_MS = 60_000;

/** Whether the long variants run (`HARDENING_LONG=1`). */
export const LONG = process.env['HARDENING_LONG'] === '1';

/** Settings every hardening config starts from (nobody:nogroup as the hermes user). */
export const BASE_SETTINGS: Readonly<Record<string, unknown>> = TEST_SETTINGS;

/** A scratch tree: `root/home` (HERMES_HOME), `root/scan` (scandir), `root/config.json`. */
export type Layout = TestWorld;

/**
 * Creates a layout whose directories the unprivileged user can traverse (0755), under the system
 * temp dir or under `parent` (a private tmpfs, say).
 */
export async function makeLayout(prefix: string, settings: Readonly<Record<string, unknown>> = {}, parent?: string): Promise<Layout> {
  const root = parent === undefined ? await tempDir(`rg-hard-${prefix}-`) : fs.mkdtempSync(path.join(parent, `${prefix}-`));
  fs.chmodSync(root, 0o755);
  const layout = { root, home: path.join(root, 'home'), scandir: path.join(root, 'scan'), config: path.join(root, 'config.json') };
  fs.mkdirSync(path.join(layout.home, 'profiles'), { recursive: true, mode: 0o755 });
  fs.mkdirSync(layout.scandir, { mode: 0o755 });
  writeConfig(layout, settings);
  return layout;
}

/** (Re)writes the layout's config: BASE_SETTINGS with `settings` over them. */
export function writeConfig(layout: Layout, settings: Readonly<Record<string, unknown>> = {}): void {
  fs.writeFileSync(layout.config, JSON.stringify({ ...BASE_SETTINGS, ...settings }));
}

/** The layouts one test file makes, removed together by its `test.after.always`. */
export class Scratch {
  readonly #layouts: Layout[] = [];

  /** makeLayout, remembered for removeAll. */
  readonly layout = async (prefix: string, settings: Readonly<Record<string, unknown>> = {}, parent?: string): Promise<Layout> => {
    const l = await makeLayout(prefix, settings, parent);
    this.#layouts.push(l);
    return l;
  };

  async removeAll(): Promise<void> {
    for (const l of this.#layouts.splice(0)) await removeLayout(l);
  }
}

/** Deletes a layout (after lifting any immutable bit a test may have left). */
export async function removeLayout(layout: Layout | undefined): Promise<void> {
  if (layout === undefined) return;
  await removeTree(layout.root);
}

/** Writes named profiles with SOUL.md and a state file (`desired_state`). */
export function writeProfiles(home: string, profiles: Readonly<Record<string, string | undefined>>): void {
  for (const [name, intent] of Object.entries(profiles)) {
    const dir = path.join(home, 'profiles', name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'SOUL.md'), 'soul\n');
    if (intent !== undefined) fs.writeFileSync(path.join(dir, 'gateway_state.json'), JSON.stringify({ desired_state: intent }));
  }
}

/** Outcome of one CLI run. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The liveness deadline was hit and the run was killed. */
  readonly timedOut: boolean;
}

/** Options of a CLI run. */
export interface RunOptions {
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** The argv of `boot`/`sync` on a layout, plus extra flags. */
export function toolArgs(command: 'boot' | 'sync', layout: Layout, extra: readonly string[] = []): string[] {
  return [
    CLI_MAIN,
    command,
    '--hermes-home',
    layout.home,
    '--scandir',
    layout.scandir,
    '--container-argv',
    '[]',
    '--config',
    layout.config,
    ...extra,
  ];
}

/** A CLI run started in its own process group (so the whole group can be killed). */
export interface Started {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
}

/** Starts the CLI detached (new process group) and collects its output. */
export function startTool(args: readonly string[], options: RunOptions = {}): Started {
  // Another user cannot reach dist/ in a clone under a 0700 directory: give it a readable copy.
  const unprivileged = options.uid !== undefined && options.uid !== 0;
  const argv = unprivileged ? args.map((a, i) => (i === 0 && a === CLI_MAIN ? readableMain() : a)) : [...args];
  const child = spawn(process.execPath, argv, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? { ...process.env, NO_COLOR: '1' },
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGKILL');
  }, options.timeoutMs ?? LIVENESS_MS);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  return { child, done };
}

/** Runs the CLI to completion (or to the liveness deadline). */
export function runTool(
  command: 'boot' | 'sync',
  layout: Layout,
  extra: readonly string[] = [],
  options: RunOptions = {},
): Promise<CliResult> {
  return startTool(toolArgs(command, layout, extra), options).done;
}

/** Runs the CLI with `--output json` and parses the plan document. */
export async function runJson(
  command: 'boot' | 'sync',
  layout: Layout,
  extra: readonly string[] = [],
  options: RunOptions = {},
): Promise<{ result: CliResult; doc: PlanDoc }> {
  const result = await runTool(command, layout, ['--output', 'json', ...extra], options);
  let doc: PlanDoc;
  try {
    doc = JSON.parse(result.stdout) as PlanDoc;
  } catch (err) {
    throw new Error(`no JSON document (exit ${String(result.code)}): ${result.stdout}\n${result.stderr}`, { cause: err });
  }
  return { result, doc };
}

/** The parts of the JSON plan document the tests read. */
export interface PlanDoc {
  readonly exitCode?: number;
  readonly warnings?: readonly string[];
  readonly operations?: readonly { kind: string; service: string; status?: string; error?: string }[];
  readonly profiles?: readonly { profile: string; action: string; reason?: string; priorState: string | null }[];
  readonly error?: { code: string; message: string };
}

/** Kills a detached child's whole process group; a group already gone is fine. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if (!(err instanceof Error && 'code' in err && err.code === 'ESRCH')) throw err;
  }
}

/** Gate for tests that need root (mount, chown, s6 as root): fails under CI, else logs and passes. */
export function requireRoot(t: ExecutionContext<unknown>): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env['CI'] !== undefined && process.env['CI'] !== '') t.fail('the hardening tests need root under CI');
  else t.log('not root: root-only hardening checks not run');
  return false;
}

/** sha256 of a regular file the test itself created (a victim outside the trees). */
export function fileHash(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Mounts a private tmpfs on a fresh directory (root only); undo with {@link unmountTmpfs}. */
export async function mountTmpfs(prefix: string, size: string): Promise<string> {
  const dir = await tempDir(`rg-hard-${prefix}-`);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return dir;
}

/** Unmounts a tmpfs from {@link mountTmpfs} (lazily if still busy) and removes its mount point. */
export function unmountTmpfs(dir: string | undefined): void {
  if (dir === undefined) return;
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
  fs.rmdirSync(dir);
}

export { slotProblems, snapshot, diffSnapshot, type Snapshot } from './tree-check.js';
