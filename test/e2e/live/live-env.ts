/**
 * A real-s6 environment for the live tests: a HERMES_HOME, a config whose gateway command is a
 * fake gateway (sleeps; exits 78 for profiles named `crash*`), an s6-svscan on a temp scandir,
 * and a way to run the built CLI against them. Everything lives under one 0755 temp dir so the
 * fake gateway can run as `nobody`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { type Svscan, createSvscanState, startSvscan, waitFor } from '../../helpers/s6.js';
import { removeTree, tempDir } from '../../helpers/tree.js';
import { MAIN, runCli as runBuiltCli } from '../../helpers/cli.js';

/** The built CLI entry point. */
export { MAIN };

const NOBODY = 65534;

/**
 * The fake gateway: `$2` is the profile (`-p NAME gateway run --replace`), empty for the root.
 * `crash*` always exits 78; `quit*` exits 0 on its first run only (like upstream #103191's SIGTERM
 * during start-up), leaving a mark in the nobody-owned `$HOME/logs`; `loop*` always exits 1.
 */
const FAKE_GATEWAY = `#!/bin/sh
case "$2" in
  crash*) exit 78 ;;
  loop*) exit 1 ;;
  quit*) [ -e "logs/ran-$2" ] || { : > "logs/ran-$2"; exit 0; } ;;
esac
exec sleep 100000
`;

/** Result of one CLI run. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A HERMES_HOME + config + live s6-svscan. */
export interface LiveEnv {
  readonly base: string;
  readonly home: string;
  readonly config: string;
  readonly scandir: string;
  readonly svscan: Svscan;
  /** Common CLI flags for this environment. */
  readonly flags: readonly string[];
  /** Runs `reconcile-gateways <command> <common flags> <extra>`. */
  cli(command: string, extra?: readonly string[]): Promise<CliResult>;
  /** Runs a command with `--output json` and parses stdout. */
  json(command: string, extra?: readonly string[]): Promise<{ code: number | null; doc: Record<string, unknown>; stderr: string }>;
  /** Creates (or rewrites) a named profile with SOUL.md and, if given, its state file. */
  profile(name: string, state?: object | string): Promise<void>;
  /** The slot path of a profile. */
  slot(profile: string): string;
  /** The pid of a profile's gateway, or -1 when it is down. */
  pid(profile: string): Promise<number>;
  /**
   * Waits until a profile's gateway is up. Polls s6-svstat rather than the harness' wait-up: a
   * slot s6 just picked up can hold its supervise lock before its status file exists, and
   * s6-svwait then fails (111) instead of waiting.
   */
  waitUp(profile: string, timeoutMs?: number): Promise<void>;
  /** Starts `watch` in the background with extra flags. */
  spawnWatch(extra: readonly string[], stdio?: ('pipe' | 'ignore')[]): ChildProcess;
}

/** Paths known before s6-svscan starts. */
export interface EnvPaths {
  readonly base: string;
  readonly home: string;
  readonly config: string;
  readonly scandir: string;
}

/**
 * Builds the environment with the given named profiles and starts s6-svscan on an empty scandir.
 * `svscanEnv` adds variables to the environment s6-svscan (and so every service) inherits.
 */
export async function makeLiveEnv(
  profiles: Readonly<Record<string, object | string | undefined>> = {},
  svscanEnv?: (paths: EnvPaths) => Record<string, string>,
): Promise<LiveEnv> {
  const base = await tempDir('rg-live-');
  await chmod(base, 0o755);
  const home = path.join(base, 'home');
  await mkdir(path.join(home, 'profiles'), { recursive: true });
  await chmod(home, 0o755);
  await mkdir(path.join(home, 'logs'));
  await chown(path.join(home, 'logs'), NOBODY, NOBODY);
  const gateway = path.join(base, 'fake-gateway');
  await writeFile(gateway, FAKE_GATEWAY, { mode: 0o755 });
  const config = path.join(base, 'config.json');
  const settings = { shebang: '#!/bin/sh', user: 'nobody', gatewayCommand: gateway, home, s6BinDir: '/usr/bin', uid: NOBODY, gid: NOBODY };
  await writeFile(config, JSON.stringify(settings));
  const { state, scandir } = await createSvscanState();
  const extra = svscanEnv?.({ base, home, config, scandir }) ?? {};
  const saved = Object.fromEntries(Object.keys(extra).map((k) => [k, process.env[k]]));
  Object.assign(process.env, extra);
  let svscan: Svscan;
  try {
    svscan = await startSvscan(state);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const flags = [
    '--hermes-home',
    home,
    '--scandir',
    svscan.scandir,
    '--container-argv',
    '[]',
    '--config',
    config,
    '--lock-file',
    path.join(base, 'lock'),
  ];
  const env: LiveEnv = {
    base,
    home,
    config,
    scandir: svscan.scandir,
    svscan,
    flags,
    cli: (command, extra = []) => runCli([command, ...flags, ...extra]),
    async json(command, extra = []) {
      const r = await runCli([command, ...flags, '--output', 'json', ...extra]);
      return { code: r.code, doc: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
    },
    async profile(name, stateValue) {
      const dir = path.join(home, 'profiles', name);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'SOUL.md'), 'soul\n');
      if (stateValue !== undefined) await writeState(path.join(dir, 'gateway_state.json'), stateValue);
    },
    slot: (profile) => path.join(svscan.scandir, `gateway-${profile}`),
    async pid(profile) {
      return (await svscan.svstat(`gateway-${profile}`)).pid;
    },
    async waitUp(profile, timeoutMs = 30_000) {
      await waitFor(async () => (await svscan.svstat(`gateway-${profile}`)).up, timeoutMs, `gateway-${profile} to be up`);
    },
    spawnWatch: (extra, stdio = ['ignore', 'pipe', 'pipe']) =>
      spawn(process.execPath, [MAIN, 'watch', ...flags, ...extra], { stdio, env: cleanEnv() }),
  };
  for (const [name, st] of Object.entries(profiles)) await env.profile(name, st);
  return env;
}

/** Writes a state file atomically (temp + rename), the way Hermes does. */
export async function writeState(file: string, value: object | string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, typeof value === 'string' ? value : JSON.stringify(value));
  await rename(tmp, file);
}

/** Removes the environment's temp dir (s6-svscan is stopped by stopAll). */
export async function removeLiveEnv(env: LiveEnv): Promise<void> {
  await env.svscan.stop();
  await removeTree(env.base);
  await removeTree(env.svscan.state);
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of [
    'HERMES_HOME',
    'S6_PROFILE_GATEWAY_SCANDIR',
    'RECONCILE_GATEWAYS_CONFIG',
    'RECONCILE_GATEWAYS_ROLE',
    'GATEWAY_MULTIPLEX_PROFILES',
  ])
    delete env[k];
  return env;
}

/** Runs the built CLI with argv (and extra environment variables). */
export function runCli(argv: readonly string[], extraEnv: Readonly<Record<string, string>> = {}): Promise<CliResult> {
  return runBuiltCli(argv, { baseEnv: cleanEnv(), env: extraEnv, timeoutMs: 60_000 });
}

/** Pids of live processes whose cwd is `dir` or below: s6-supervise runs in its service dir. */
export function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, '');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z' && (cwd === dir || cwd.startsWith(`${dir}/`))) found.push(Number(entry));
    } catch {
      // The process exited meanwhile.
    }
  }
  return found;
}

/** The names in the scandir that are not dot entries. */
export async function scandirEntries(scandir: string): Promise<string[]> {
  return (await readdir(scandir)).filter((n) => !n.startsWith('.')).sort();
}
