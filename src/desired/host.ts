/**
 * Policy from host facts: the container's role (from its argv or `--role`), multiplexing (env
 * over `config.yaml`), and the seeds of the root state file (legacy `gateway run`, bootstrap).
 * Pure: the facts come in as values (observe/host.ts gathers them).
 */
import type { ConfigRead, HostEnv, HostFacts, ObservedHome, SeedSpec, Settings } from '../model.js';
import { STATE_FILE } from '../model/constants.js';

/** Upstream's truthiness: `1`, `true`, `yes`, `on` in any case. */
export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/** Upstream's `_strip_container_argv_prefix` (S44). */
export function stripContainerArgv(argv: readonly string[]): string[] {
  const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
  let rest = [...argv];
  const wrapper = rest.findIndex((a) => a.endsWith('main-wrapper.sh'));
  if (wrapper >= 0) rest = rest.slice(wrapper + 1);
  else if (rest[0] !== undefined && base(rest[0]) === 'init') rest = rest.slice(1);
  if (rest[0] !== undefined && rest[0].endsWith('entrypoint-dispatch.sh')) rest = rest.slice(1);
  if (rest[0] !== undefined && base(rest[0]) === 'hermes') rest = rest.slice(1);
  return rest;
}

/** Container commands that serve no gateway: the dashboard (S45), and the desktop app's backends (#78810). */
export const NON_GATEWAY_COMMANDS = ['dashboard', 'serve', 'gui', 'desktop'] as const;

/** A role whose container registers and removes nothing. */
export type SkipRole = (typeof NON_GATEWAY_COMMANDS)[number] | 'none';

/** The container's role: run the pass, or skip it with this line. */
export type RoleDecision = { readonly kind: 'gateway' } | { readonly kind: 'skip'; readonly role: SkipRole; readonly message: string };

/** The non-gateway command the argv runs, if any (`gateway run -p dashboard` is a gateway). */
export function nonGatewayCommand(argv: readonly string[]): (typeof NON_GATEWAY_COMMANDS)[number] | undefined {
  const first = stripContainerArgv(argv)[0];
  return NON_GATEWAY_COMMANDS.find((c) => c === first);
}

/** The line a skipped role prints; the dashboard's is upstream's, byte for byte. */
export function skipLine(role: SkipRole): string {
  if (role === 'none') return 'reconcile: skipping (role none \u2014 this container registers and removes no gateways)';
  return `reconcile: skipping (${role} container \u2014 does not need per-profile gateways)`;
}

/** Decides the role: an explicit `--role` wins, else the container argv. */
export function decideRole(flag: 'gateway' | 'dashboard' | 'none' | undefined, argv: readonly string[]): RoleDecision {
  const skip = (role: SkipRole): RoleDecision => ({ kind: 'skip', role, message: skipLine(role) });
  if (flag === 'none' || flag === 'dashboard') return skip(flag);
  if (flag === 'gateway') return { kind: 'gateway' };
  const command = nonGatewayCommand(argv);
  return command === undefined ? { kind: 'gateway' } : skip(command);
}

/** Multiplexing and why a broken `config.yaml` was ignored, if it was. */
export interface MultiplexDecision {
  readonly multiplex: boolean;
  readonly notice?: string;
}

/**
 * `GATEWAY_MULTIPLEX_PROFILES` (truthy, or any other non-empty value = explicit false) over
 * `config.yaml`'s `multiplex_profiles` (top level or under `gateway:`), else off. A broken config
 * is reported even when the env decides (upstream S53).
 */
export function decideMultiplex(env: HostEnv, config: ConfigRead, hermesHome: string): MultiplexDecision {
  const override = env.multiplex;
  const explicit = override !== undefined && override !== '';
  const fallback = explicit ? 'GATEWAY_MULTIPLEX_PROFILES decides' : 'multiplexing is off until config.yaml can be read and parses';
  const notice =
    config.kind === 'unreadable' ? `${hermesHome}/config.yaml ${config.problem}; multiplex_profiles ignored: ${fallback}` : undefined;
  const multiplex = explicit ? isTruthy(override) : config.kind === 'parsed' && multiplexFromConfig(config.doc);
  return { multiplex, ...(notice === undefined ? {} : { notice }) };
}

function multiplexFromConfig(doc: unknown): boolean {
  const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && isTruthy(v)) || v === 1;
  const top = field(doc, 'multiplex_profiles');
  if (top !== undefined) return truthy(top);
  return truthy(field(field(doc, 'gateway'), 'multiplex_profiles'));
}

/**
 * A key of a YAML map as PyYAML (Hermes' loader) reads it: its own, else from the maps its `<<`
 * merge key names, the first that has it. The parser leaves `<<` as a plain key (merging every map
 * it meets cost a volume user's 60 KB file seconds and gigabytes), so only the keys read merge.
 */
function field(map: unknown, key: string, seen: Set<object> = new Set()): unknown {
  if (typeof map !== 'object' || map === null || Array.isArray(map) || seen.has(map)) return undefined;
  seen.add(map); // aliases share objects: each map is looked into once, and a cycle ends
  const m = map as Record<string, unknown>;
  if (Object.hasOwn(m, key)) return m[key];
  const merged = m['<<'];
  for (const source of Array.isArray(merged) ? merged : [merged]) {
    const found = field(source, key, seen); // a merged map's own `<<` merges too
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * What is wrong when the config's `user` is another uid in /etc/passwd than the config's `uid`:
 * as root, boot makes what the gateways write (`logs/`, the boot log, a seeded state file) owned
 * by `uid`, while `s6-setuidgid` runs the gateways and their loggers as `user`, which then may not
 * write it (a logger that cannot make its directory restarts every second). Undefined when they
 * agree, or when the user has no entry (a host that is not the container).
 */
export function accountNotice(settings: Pick<Settings, 'user' | 'uid'>, account: HostFacts['account']): string | undefined {
  // root may write whatever boot makes, whoever owns it.
  if (account === undefined || account.uid === settings.uid || account.uid === 0) return undefined;
  const { user, uid } = settings;
  return (
    `config: user "${user}" is uid ${account.uid} in /etc/passwd, not the config's uid ${uid}: what boot makes for the gateways ` +
    `as root (logs/, the boot log, a seeded state file) is owned by ${uid}, and the gateways and their loggers, run as ${user} ` +
    `by s6-setuidgid, may not write it; set "uid" and "gid" in the config (--config) to ${user}'s ids, or "user" to the account of uid ${uid}`
  );
}

/**
 * What is wrong when the gateways would run on another volume than the one this pass reads: they
 * and their loggers inherit `HERMES_HOME` from their environment, and without it `run` makes the
 * config's `home` their HOME and cwd and `log/run` writes under it. This environment stands for
 * theirs, as it does in the Hermes image (with-contenv gives both the container's). Undefined
 * when that is the volume. `volume` and `env.hermesHome` are absolute and normalised (observe).
 */
export function homeNotice(home: string, env: HostEnv, volume: string | undefined): string | undefined {
  if (volume === undefined) return undefined;
  const inherited = env.hermesHome;
  if (inherited !== undefined) {
    if (inherited === volume) return undefined;
    return (
      `HERMES_HOME in this environment is ${inherited}, not ${volume} (--hermes-home), the volume this pass reads: gateways and ` +
      `loggers that inherit this environment would use ${inherited}; set HERMES_HOME to ${volume} rather than --hermes-home`
    );
  }
  if (normalPath(home) === volume) return undefined;
  return (
    `the config's home is ${home}, not ${volume}, the volume this pass reads, and HERMES_HOME is not set: the slots' run makes ` +
    `${home} the gateways' HOME and cwd, and log/run writes their logs under it; set "home" in the config (--config) to ${volume}`
  );
}

/** An absolute path without empty or `.` segments or a trailing slash (`/opt//data/.` is `/opt/data`). */
function normalPath(p: string): string {
  return `/${p
    .split('/')
    .filter((seg) => seg !== '' && seg !== '.')
    .join('/')}`;
}

/** Whether the container command is a legacy `gateway run` that wants the root gateway seeded. */
export function wantsLegacySeed(argv: readonly string[], env: HostEnv): boolean {
  const rest = stripContainerArgv(argv);
  if (rest[0] !== 'gateway' || rest[1] !== 'run') return false;
  if (rest.includes('--no-supervise')) return false;
  return !isTruthy(env.noSupervise);
}

/**
 * The seed of the root state file on boot, when nothing is there: the legacy `gateway run`
 * migration (§1.2, S40–S44, byte-compatible with Python's json.dumps), else the bootstrap state
 * (#37896, S71: exactly `running`). A path taken by something that is not a file is reported.
 */
export function decideSeed(
  host: HostFacts,
  home: ObservedHome,
  where: { hermesHome: string; service: string },
): { seed?: SeedSpec; notice?: string } {
  const legacy = wantsLegacySeed(host.argv, host.env);
  const bootstrap = host.env.bootstrapState === 'running';
  if (!legacy && !bootstrap) return {};
  const entry = home.rootStateEntry ?? { kind: 'file' };
  const path = `${where.hermesHome}/${STATE_FILE}`;
  const service = where.service;
  if (entry.kind === 'file') return {};
  const what = legacy ? 'legacy gateway run container' : 'HERMES_GATEWAY_BOOTSTRAP_STATE=running';
  if (entry.kind === 'blocked') return { notice: `${what}: ${path} ${entry.reason}; not seeding it` };
  if (legacy) {
    const epochSeconds = Math.floor(host.nowMs / 1000);
    const content = `{"gateway_state": "running", "desired_state": "running", "timestamp": ${epochSeconds}, "migrated_from": "legacy-container-cmd"}\n`;
    return { seed: { service, path, content, reason: 'legacy gateway run container without a state file' } };
  }
  return {
    seed: { service, path, content: '{"gateway_state":"running"}\n', reason: 'first boot with HERMES_GATEWAY_BOOTSTRAP_STATE=running' },
  };
}
