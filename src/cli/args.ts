/**
 * Command-line parsing (node:util parseArgs, strict): one table of flags per subcommand.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { UsageError } from '../errors.js';
import type { Level } from './logger.js';

/** Subcommands. */
export type Command = 'boot' | 'sync' | 'watch' | 'status';

/** Parsed, typed arguments of any subcommand. */
export interface Args {
  readonly command: Command;
  readonly hermesHome: string;
  readonly scandir: string;
  readonly config: string | undefined;
  readonly output: 'text' | 'json';
  readonly logFormat: 'text' | 'json';
  readonly logLevel: Level;
  readonly lockFile: string | undefined;
  readonly role: 'gateway' | 'dashboard' | 'none' | undefined;
  readonly containerArgv: readonly string[] | undefined;
  readonly diff: boolean;
  readonly wait: boolean;
  readonly prune: boolean;
  readonly allowEmpty: boolean;
  readonly restartChanged: boolean;
  readonly interval: number;
  readonly statusFile: string;
  readonly readyFd: number | undefined;
  /** `--heal`: bring IntentRunningButDown services up (sync, watch). */
  readonly heal: boolean;
  /** Drift thresholds: `--drift-grace`, `--crash-restarts`, `--crash-window` (seconds). */
  readonly drift: { readonly graceSeconds: number; readonly crashRestarts: number; readonly crashWindowSeconds: number };
  /** `--metrics-listen HOST:PORT` (watch). */
  readonly metricsListen: { readonly host: string; readonly port: number } | undefined;
  /** `--metrics-file PATH` (sync, watch): the textfile-collector file. */
  readonly metricsFile: string | undefined;
}

const COMMON = {
  'hermes-home': { type: 'string' },
  scandir: { type: 'string' },
  config: { type: 'string' },
  output: { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'lock-file': { type: 'string' },
  role: { type: 'string' },
  'container-argv': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DRIFT = {
  'drift-grace': { type: 'string' },
  'crash-restarts': { type: 'string' },
  'crash-window': { type: 'string' },
} as const;

const PER_COMMAND = {
  boot: { diff: { type: 'boolean' }, wait: { type: 'boolean' } },
  sync: {
    diff: { type: 'boolean' },
    wait: { type: 'boolean' },
    'no-prune': { type: 'boolean' },
    'allow-empty': { type: 'boolean' },
    'restart-changed': { type: 'boolean' },
    heal: { type: 'boolean' },
    'metrics-file': { type: 'string' },
    ...DRIFT,
  },
  watch: {
    interval: { type: 'string' },
    'no-prune': { type: 'boolean' },
    'allow-empty': { type: 'boolean' },
    'restart-changed': { type: 'boolean' },
    'status-file': { type: 'string' },
    'ready-fd': { type: 'string' },
    heal: { type: 'boolean' },
    'metrics-listen': { type: 'string' },
    'metrics-file': { type: 'string' },
    ...DRIFT,
  },
  status: { 'status-file': { type: 'string' }, ...DRIFT },
} as const;

/** Default location of the watcher's status file (outside the scandir). */
export const DEFAULT_STATUS_FILE = '/run/reconcile-gateways/status.json';

/** The usage text printed by `--help` and with usage errors. */
export const USAGE = `usage: reconcile-gateways <boot|sync|watch|status> [options]
common: --hermes-home DIR --scandir DIR --config FILE --output text|json --log-format text|json
        --log-level error|warn|info|debug --lock-file FILE --role gateway|dashboard|none --container-argv JSON
boot:   --diff --wait
sync:   --diff --wait --no-prune --allow-empty --restart-changed --heal --metrics-file FILE
watch:  --interval SECONDS --no-prune --allow-empty --restart-changed --status-file FILE --ready-fd N
        --heal --metrics-listen HOST:PORT --metrics-file FILE
drift:  --drift-grace SECONDS (30) --crash-restarts N (5) --crash-window SECONDS (600)  [sync, watch, status]
status: --status-file FILE`;

/** Parses argv (without node and script); `help` is returned as null. Throws UsageError. */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Args | null {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return null;
  if (!isCommand(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  let values: Record<string, unknown>;
  try {
    const options: ParseArgsOptionsConfig = { ...COMMON, ...PER_COMMAND[command] };
    values = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`${command}: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`, { cause: err });
  }
  if (values['help'] === true) return null;
  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const flag = (k: string): boolean => values[k] === true;
  return {
    command,
    hermesHome: nonEmpty(str('hermes-home'), '--hermes-home') ?? (env['HERMES_HOME'] || '/opt/data'),
    scandir: nonEmpty(str('scandir'), '--scandir') ?? (env['S6_PROFILE_GATEWAY_SCANDIR'] || '/run/service'),
    config: str('config') ?? (env['RECONCILE_GATEWAYS_CONFIG'] || undefined),
    output: oneOf(str('output') ?? 'text', ['text', 'json'] as const, '--output'),
    logFormat: oneOf(str('log-format') ?? 'text', ['text', 'json'] as const, '--log-format'),
    logLevel: oneOf(str('log-level') ?? 'info', ['error', 'warn', 'info', 'debug'] as const, '--log-level'),
    lockFile: nonEmpty(str('lock-file'), '--lock-file'),
    role: optionalOneOf(str('role') ?? (env['RECONCILE_GATEWAYS_ROLE'] || undefined), ['gateway', 'dashboard', 'none'] as const, '--role'),
    containerArgv: parseArgvJson(str('container-argv')),
    diff: flag('diff'),
    wait: flag('wait'),
    prune: command === 'boot' ? false : !flag('no-prune'),
    allowEmpty: flag('allow-empty'),
    restartChanged: flag('restart-changed'),
    interval: parseNumber(str('interval') ?? '60', '--interval', 0.05, 86400),
    statusFile: nonEmpty(str('status-file'), '--status-file') ?? DEFAULT_STATUS_FILE,
    readyFd: str('ready-fd') === undefined ? undefined : parseNumber(str('ready-fd') ?? '', '--ready-fd', 0, 1024, true),
    heal: flag('heal'),
    drift: {
      graceSeconds: parseNumber(str('drift-grace') ?? '30', '--drift-grace', 0, 86400),
      crashRestarts: parseNumber(str('crash-restarts') ?? '5', '--crash-restarts', 1, 4096, true),
      crashWindowSeconds: parseNumber(str('crash-window') ?? '600', '--crash-window', 1, 86400),
    },
    metricsListen: parseListen(str('metrics-listen')),
    metricsFile: nonEmpty(str('metrics-file'), '--metrics-file'),
  };
}

function isCommand(s: string): s is Command {
  return s === 'boot' || s === 'sync' || s === 'watch' || s === 'status';
}

function nonEmpty(v: string | undefined, name: string): string | undefined {
  if (v === '') throw new UsageError(`${name} must not be empty`);
  return v;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], name: string): T {
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw new UsageError(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return found;
}

function optionalOneOf<T extends string>(v: string | undefined, allowed: readonly T[], name: string): T | undefined {
  return v === undefined ? undefined : oneOf(v, allowed, name);
}

function parseNumber(v: string, name: string, min: number, max: number, integer = false): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max} (got ${JSON.stringify(v)})`);
  }
  return n;
}

/** `HOST:PORT`, `[::1]:PORT` or `:PORT` (all interfaces); the port 1–65535 (0: any free port). */
function parseListen(v: string | undefined): { host: string; port: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(v);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new UsageError(`--metrics-listen must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464 (got ${JSON.stringify(v)})`);
  }
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] ?? '0.0.0.0')), port };
}

function parseArgvJson(v: string | undefined): readonly string[] | undefined {
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw new UsageError('--container-argv must be a JSON array of strings');
  }
  if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) {
    throw new UsageError('--container-argv must be a JSON array of strings');
  }
  return parsed;
}
