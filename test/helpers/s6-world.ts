/**
 * A world under a real s6-svscan: the scratch world of `world.ts` whose scandir is a fresh s6-svscan
 * state's `scan/`, a fake gateway `nobody` can run, and the CLI run against both. Everything lives
 * under 0755 directories so the gateway can run as `nobody`. Call {@link removeS6Worlds} in
 * `test.after.always`: it stops every watcher and s6-svscan and removes the trees.
 */
import fs from 'node:fs';
import path from 'node:path';
import { healBackoffSeconds } from '../../src/desired/drift.js';
import { decodeDeathTally } from '../../src/observe/death-tally.js';
import { GATEWAY_LOGS_DIR } from '../../src/model/constants.js';
import { type Svscan, createSvscanState, startSvscan, stopAll, waitFor } from './s6.js';
import { removeTree } from './tree.js';
import { type CliOptions, type CliResult, type JsonRun, runCli, runJson } from './cli.js';
import { type Settings, type World, makeWorld, removeWorld, removeWorlds, worldArgs, writeConfig, writeProfile } from './world.js';
import { killWatchers } from './watcher.js';

/** The uid and gid of nobody:nogroup, the hermes user of the tests. */
export const NOBODY = 65534;

/** A gateway that just sleeps under supervision. */
export const SLEEPING_GATEWAY = '#!/bin/sh\nexec sleep 1000\n';

/**
 * The default fake gateway: `$2` is the profile (`-p NAME gateway run --replace`), empty for the root.
 * `crash*` always exits 78 (a config error); `zero*` always exits 0; `quit*` exits 0 on its first run only (like upstream #103191's SIGTERM
 * during start-up), leaving a mark in the nobody-owned `$HOME/logs`; `loop*` always exits 1.
 */
export const FAKE_GATEWAY = `#!/bin/sh
case "$2" in
  crash*) exit 78 ;;
  zero*) exit 0 ;;
  loop*) exit 1 ;;
  quit*) [ -e "logs/ran-$2" ] || { : > "logs/ran-$2"; exit 0; } ;;
esac
exec sleep 100000
`;

/** Options of {@link makeS6World}. */
export interface S6WorldOptions {
  /** Profiles written at once: name → state file (object or raw text), or undefined for none. */
  readonly profiles?: Readonly<Record<string, object | string | undefined>>;
  /** The fake gateway's script (default {@link FAKE_GATEWAY}). */
  readonly gateway?: string;
  /** Config keys over the test settings, the fake gateway and the gateways' HOME. */
  readonly settings?: Settings;
  /** The gateways' HOME (setting `home`): HERMES_HOME itself (default) or its own `root/gateway-home`. */
  readonly gatewayHome?: 'hermes-home' | 'own';
  /** A directory under the gateways' HOME made for nobody (default `logs`, where the fake gateway keeps marks). */
  readonly nobodyDir?: string | false;
  /** Start s6-svscan now (default true); else call {@link S6World.startSvscan} when the test wants it. */
  readonly start?: boolean;
  /** Variables added to the environment s6-svscan (and so every service) inherits. */
  readonly svscanEnv?: (world: World) => Record<string, string>;
}

/** A world whose scandir is supervised by a private s6-svscan. */
export interface S6World extends World {
  /** The s6-svscan state dir; the scandir is its `scan/`. */
  readonly state: string;
  /** The fake gateway's path. */
  readonly gateway: string;
  /** The gateways' HOME. */
  readonly gatewayHome: string;
  /** The flags naming the trees, config, an empty container argv and a lock file in the root. */
  readonly flags: readonly string[];
  /** The running s6-svscan; throws before {@link S6World.startSvscan} (so does spreading the world then). */
  readonly svscan: Svscan;
  startSvscan(): Promise<Svscan>;
  /** Stops this world's s6-svscan and removes its trees (for `t.teardown`; {@link removeS6Worlds} does all). */
  remove(): Promise<void>;
  /** Runs `reconcile-gateways <command> <flags> <extra>`. */
  cli(command: string, extra?: readonly string[], opts?: CliOptions): Promise<CliResult>;
  /** Runs a command with `--output json` and parses stdout. */
  json(command: string, extra?: readonly string[], opts?: CliOptions): Promise<JsonRun>;
  /** Creates (or rewrites) a named profile with SOUL.md and, if given, its state file. */
  profile(name: string, state?: object | string): Promise<void>;
  /** The slot path of a profile. */
  slot(profile: string): string;
  /** The pid of a profile's gateway, or -1 when it is down. */
  pid(profile: string): Promise<number>;
  /**
   * Waits until a profile's gateway is up. Polls s6-svstat rather than the harness' wait-up: a slot
   * s6 just picked up can hold its supervise lock before its status file exists, and s6-svwait then
   * fails (111) instead of waiting.
   */
  waitUp(profile: string, timeoutMs?: number): Promise<void>;
}

const states = new Set<string>();

/** The trees of an s6 world: HERMES_HOME with `profiles/`, the gateways' HOME, the fake gateway, the config. */
async function layOut(prefix: string, opts: S6WorldOptions): Promise<{ base: World; world: World; gateway: string; gatewayHome: string }> {
  const base = await makeWorld(`s6-${prefix}`, { create: 'home', settings: false });
  fs.mkdirSync(path.join(base.home, 'profiles'), { mode: 0o755 });
  const gatewayHome = opts.gatewayHome === 'own' ? path.join(base.root, 'gateway-home') : base.home;
  const nobodyDir = opts.nobodyDir ?? 'logs';
  if (nobodyDir !== false) {
    fs.mkdirSync(path.join(gatewayHome, nobodyDir), { recursive: true, mode: 0o755 });
    fs.chownSync(path.join(gatewayHome, nobodyDir), NOBODY, NOBODY);
  }
  // The loggers write under $HERMES_HOME/logs/gateways (s6-svscan gets HERMES_HOME, as in the image)
  // as the config's user: without a place it may write, each s6-log would die every second.
  for (const dir of ['logs', GATEWAY_LOGS_DIR]) {
    const at = path.join(base.home, dir);
    if (!fs.existsSync(at)) {
      fs.mkdirSync(at, { mode: 0o755 });
      fs.chownSync(at, NOBODY, NOBODY);
    }
  }
  const gateway = path.join(base.root, 'fake-gateway');
  fs.writeFileSync(gateway, opts.gateway ?? FAKE_GATEWAY, { mode: 0o755 });
  const { state, scandir } = await createSvscanState();
  states.add(state);
  // mkdtemp made it 0700: nobody could not even reach the scandir.
  fs.chmodSync(state, 0o755);
  const world: World = { ...base, scandir };
  writeConfig(world, { gatewayCommand: gateway, home: gatewayHome, ...opts.settings });
  for (const [name, st] of Object.entries(opts.profiles ?? {})) writeProfile(base.home, name, st);
  return { base, world, gateway, gatewayHome };
}

/** Creates an s6 world and, unless `start` is false, starts its s6-svscan. */
export async function makeS6World(prefix: string, opts: S6WorldOptions = {}): Promise<S6World> {
  const { base, world, gateway, gatewayHome } = await layOut(prefix, opts);
  const state = path.dirname(world.scandir);
  const flags = [...worldArgs(world), '--lock-file', path.join(base.root, 'lock')];
  let svscan: Svscan | undefined;
  const s6: S6World = {
    ...world,
    state,
    gateway,
    gatewayHome,
    flags,
    get svscan(): Svscan {
      if (svscan === undefined) throw new Error('s6-svscan is not started: call startSvscan()');
      return svscan;
    },
    startSvscan: async () => (svscan = await startWithEnv(state, { HERMES_HOME: base.home, ...opts.svscanEnv?.(world) })),
    async remove() {
      await svscan?.stop({ removeState: true });
      states.delete(state);
      await removeTree(state);
      await removeWorld(base);
    },
    cli: (command, extra = [], o = {}) => runCli([command, ...flags, ...extra], o),
    json: (command, extra = [], o = {}) => runJson([command, ...flags, ...extra], o),
    profile: async (name, st) => writeProfile(base.home, name, st),
    slot: (profile) => path.join(world.scandir, `gateway-${profile}`),
    pid: async (profile) => (await s6.svscan.svstat(`gateway-${profile}`)).pid,
    waitUp: (profile, timeoutMs = 30_000) =>
      waitFor(async () => (await s6.svscan.svstat(`gateway-${profile}`)).up, timeoutMs, `gateway-${profile} to be up`),
  };
  if (opts.start !== false) await s6.startSvscan();
  return s6;
}

/** Starts s6-svscan with `extra` in the environment it inherits (set around the start, then restored). */
async function startWithEnv(state: string, extra: Readonly<Record<string, string>>): Promise<Svscan> {
  const saved = Object.fromEntries(Object.keys(extra).map((k) => [k, process.env[k]]));
  Object.assign(process.env, extra);
  try {
    return await startSvscan(state);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Kills every watcher, stops every s6-svscan, removes their states and every world of this process. */
export async function removeS6Worlds(): Promise<void> {
  await killWatchers();
  await stopAll({ removeState: true });
  for (const state of states) await removeTree(state);
  states.clear();
  await removeWorlds();
}

/** Pids of live processes whose cwd is `dir` or below: s6-supervise runs in its service dir. */
export function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, '');
      const state = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z' && (cwd === dir || cwd.startsWith(`${dir}/`))) found.push(Number(entry));
    } catch {
      // The process exited meanwhile.
    }
  }
  return found;
}

/** The names in the scandir that are not dot entries. */
export function scandirEntries(scandir: string): string[] {
  return fs
    .readdirSync(scandir)
    .filter((n) => !n.startsWith('.'))
    .sort();
}

/**
 * Waits until a heal of `profile`'s gateway is due: one back-off step after the last death s6
 * recorded (planHeals). Without this a `sync --heal` run right after the death plans no heal but a
 * "held back" line, however fast the machine.
 */
export async function waitHealDue(world: S6World, profile: string): Promise<void> {
  const deaths = decodeDeathTally(fs.readFileSync(path.join(world.slot(profile), 'supervise', 'death_tally')));
  const diedAt = deaths.at(-1)?.atUnix ?? 0;
  await waitFor(
    () => Date.now() / 1000 >= diedAt + healBackoffSeconds(deaths.length) + 0.1,
    10_000,
    `the first heal of ${profile} to be due`,
  );
}
