/**
 * Command-line parsing (node:util parseArgs tokens, checked against help.ts's flag table): every
 * mistake is an ArgumentError that names the flag and, for a typo, the flag meant.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { COMMANDS, type Command, DEFAULT_STATUS_FILE, type Flag, flagsOf } from './help.js';
import type { Level } from './logger.js';
import { didYouMean, nearest } from './suggest.js';
import { namesInProse } from '../model/text.js';
import { quoted } from '../escape.js';
import { S6_DEATH_TALLY } from '../model/constants.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export type { Command } from './help.js';

/** Parsed, typed arguments of any subcommand. */
export interface Args {
  readonly command: Command;
  readonly hermesHome: string;
  /**
   * hermesHome is the built-in default, since neither --hermes-home nor HERMES_HOME gave one: the
   * variable is unset, or set but empty (messages say which).
   */
  readonly hermesHomeIsDefault?: 'unset' | 'empty';
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
  /** `status`: print the legend under the table (`--no-legend` leaves it out). */
  readonly legend: boolean;
  /** Drift thresholds: `--drift-grace`, `--crash-restarts`, `--crash-window` (seconds). */
  readonly drift: { readonly graceSeconds: number; readonly crashRestarts: number; readonly crashWindowSeconds: number };
  /** `--metrics-listen HOST:PORT` (watch). */
  readonly metricsListen: { readonly host: string; readonly port: number } | undefined;
  /** `--metrics-file PATH` (sync, watch): the textfile-collector file. */
  readonly metricsFile: string | undefined;
}

/** A mistake on the command line: reported with the usage of `command` (or the general one). */
export class ArgumentError extends UsageError {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'ArgumentError';
  }
}

/** What the command line asks for: a command to run, help, or the version. */
export type Parsed =
  { readonly kind: 'run'; readonly args: Args } | { readonly kind: 'help'; readonly command?: Command } | { readonly kind: 'version' };

/** Parses argv (without node and script). Throws ArgumentError. */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Parsed {
  // A leading `--` is a launcher's (`npx . -- --version`), not ours.
  const [command, ...rest] = argv[0] === '--' ? argv.slice(1) : argv;
  if (command === undefined) throw new ArgumentError('no command given');
  if (command === '--help' || command === '-h' || command === 'help') {
    const about = rest[0];
    return about !== undefined && isCommand(about) ? { kind: 'help', command: about } : { kind: 'help' };
  }
  if (command === '--version' || command === '-V' || command === 'version') return { kind: 'version' };
  if (!isCommand(command)) {
    if (command.startsWith('-')) {
      // A mistyped top-level flag (`--versoin`, `-v`) is a typo, not a flag given before its command.
      const [flag = command, ...value] = command.split('=');
      if (flag === '--version' || flag === '--help') throw new ArgumentError(`${flag} takes no value (got ${quoted(value.join('='))})`);
      const known = COMMANDS.some((c) => flagsOf(c).some((f) => `--${f.name}` === flag));
      if (known) throw new ArgumentError(`the command comes first, before ${command}`);
      const top = flag === '-v' ? '--version' : nearest(flag, ['--help', '--version']);
      if (top !== undefined) throw new ArgumentError(`unknown option ${flag} (did you mean ${top}?)`);
      const next = rest[0];
      const alias = aliasFor(flag.replace(/^-+/, ''), next !== undefined && isCommand(next) ? next : undefined);
      const hint = alias === undefined ? '' : ` (did you mean ${alias}, after the command?)`;
      throw new ArgumentError(`unknown option ${flag}${hint}; the command comes first, then its options`);
    }
    throw new ArgumentError(`unknown command ${quoted(command)}${didYouMean(command, COMMANDS)}`);
  }
  const values = readFlags(command, rest);
  if (values.has('help')) return { kind: 'help', command };
  if (values.has('version')) return { kind: 'version' };
  try {
    return { kind: 'run', args: toArgs(command, values, env) };
  } catch (err) {
    if (err instanceof ArgumentError && err.command === undefined) throw new ArgumentError(`${command}: ${err.message}`, command);
    throw err;
  }
}

/** ` (did you mean --x? it is an option of …)` for a typo of another command's flag; '' when none is near. */
function elsewhere(name: string, command: Command): string {
  const others = new Set(COMMANDS.filter((c) => c !== command).flatMap((c) => flagsOf(c).map((f) => f.name)));
  const near = nearest(name, others);
  if (near === undefined) return '';
  const owners = COMMANDS.filter((c) => flagsOf(c).some((f) => f.name === near));
  return ` (did you mean --${near}? it is an option of ${namesInProse(owners, owners.length)}, not of ${command})`;
}

/** ` (did you mean --x?)` when exactly one flag starts with `name` (`--restart`), else ''. */
function startOf(name: string, names: readonly string[]): string {
  const matches = name.length < 3 ? [] : names.filter((n) => n.startsWith(name));
  return matches.length === 1 ? ` (did you mean --${matches[0]}?)` : '';
}

/** The flags given, by name; every unknown flag, missing value or stray word is an ArgumentError. */
function readFlags(command: Command, argv: readonly string[]): Map<string, string | true> {
  const flags = new Map(flagsOf(command).map((f) => [f.name, f]));
  const options: ParseArgsOptionsConfig = Object.fromEntries([...flags.values()].map((f) => [f.name, { type: f.type }]));
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, string | true>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator') throw new ArgumentError(`${command}: takes no arguments after --`, command);
    if (token.kind === 'positional') throw new ArgumentError(`${command}: unexpected argument ${quoted(token.value)}`, command);
    // `sync --version` answers like `--version`: no command has a flag of that name.
    if (token.rawName === '--version' || token.rawName === '-V') {
      if (token.value !== undefined)
        throw new ArgumentError(`${command}: ${token.rawName} takes no value (got ${quoted(token.value)})`, command);
      values.set('version', true);
      continue;
    }
    const flag = flags.get(token.name === 'h' ? 'help' : token.name);
    if (flag === undefined) {
      // `boot --heal` is not a typo of --help: it is sync's and watch's.
      const owners = COMMANDS.filter((c) => flagsOf(c).some((f) => f.name === token.name));
      if (token.rawName.startsWith('--') && owners.length > 0)
        throw new ArgumentError(
          `${command}: --${token.name} is an option of ${namesInProse(owners, owners.length)}, not of ${command}`,
          command,
        );
      const alias = aliasFor(token.name, command);
      const environment = ENVIRONMENT_HINTS.get(token.name);
      const near =
        environment !== undefined
          ? ` (${environment})`
          : alias !== undefined
            ? ` (did you mean ${alias}?)`
            : flags.has(`no-${token.name}`)
              ? ` (${command} does that by default; --no-${token.name} turns it off)`
              : didYouMean(token.name, [...flags.keys(), 'version'], (n) => `--${n}`) || startOf(token.name, [...flags.keys()]);
      throw new ArgumentError(`${command}: unknown option ${token.rawName}${near || elsewhere(token.name, command)}`, command);
    }
    values.set(flag.name, flagValue(command, flag, token));
  }
  return values;
}

function flagValue(
  command: Command,
  flag: Flag,
  token: { rawName: string; value?: string | undefined; inlineValue?: boolean | undefined },
): string | true {
  const named = `--${flag.name}`;
  if (flag.type === 'boolean') {
    if (token.value !== undefined) throw new ArgumentError(`${command}: ${named} takes no value (got ${quoted(token.value)})`, command);
    return true;
  }
  if (token.value === undefined) throw new ArgumentError(`${command}: ${named} needs a value: ${named} ${flag.value ?? 'VALUE'}`, command);
  // A negative number is a value (its range check explains it), not a flag given without one.
  if (token.inlineValue !== true && token.value.startsWith('-') && !/^-\d/.test(token.value)) {
    throw new ArgumentError(
      `${command}: ${named} needs a value, got the option ${token.value} (write ${named}=${token.value} if you mean it)`,
      command,
    );
  }
  return token.value;
}

/** A flag's value by name: undefined when the flag was not given or takes no value. */
type FlagText = (name: string) => string | undefined;

function toArgs(command: Command, values: ReadonlyMap<string, string | true>, env: NodeJS.ProcessEnv): Args {
  const str: FlagText = (k) => {
    const v = values.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const flag = (k: string): boolean => values.get(k) === true;
  return {
    command,
    hermesHome: nonEmpty(str('hermes-home'), '--hermes-home') ?? (env['HERMES_HOME'] || '/opt/data'),
    ...(str('hermes-home') === undefined && !env['HERMES_HOME']
      ? { hermesHomeIsDefault: env['HERMES_HOME'] === '' ? 'empty' : 'unset' }
      : {}),
    scandir: nonEmpty(str('scandir'), '--scandir') ?? (env['S6_PROFILE_GATEWAY_SCANDIR'] || '/run/service'),
    config: str('config') ?? (env['RECONCILE_GATEWAYS_CONFIG'] || undefined),
    output: oneOf(str('output') ?? 'text', ['text', 'json'] as const, '--output'),
    logFormat: oneOf(str('log-format') ?? 'text', ['text', 'json'] as const, '--log-format'),
    logLevel: oneOf(str('log-level') ?? 'info', ['error', 'warn', 'info', 'debug'] as const, '--log-level'),
    lockFile: nonEmpty(str('lock-file'), '--lock-file') ?? (env['RECONCILE_GATEWAYS_LOCK_FILE'] || undefined),
    role: roleOf(str('role'), env),
    containerArgv: parseArgvJson(str('container-argv')),
    diff: flag('diff'),
    wait: flag('wait'),
    prune: command === 'boot' ? false : !flag('no-prune'),
    allowEmpty: flag('allow-empty'),
    restartChanged: flag('restart-changed'),
    interval: parseNumber(str('interval') ?? '60', '--interval', { min: 0.05, max: 86400 }),
    statusFile: nonEmpty(str('status-file'), '--status-file') ?? (env['RECONCILE_GATEWAYS_STATUS_FILE'] || DEFAULT_STATUS_FILE),
    readyFd:
      str('ready-fd') === undefined ? undefined : parseNumber(str('ready-fd') ?? '', '--ready-fd', { min: 0, max: 1024, integer: true }),
    heal: flag('heal'),
    legend: !flag('no-legend'),
    drift: driftThresholds(str),
    metricsListen: parseListen(str('metrics-listen')),
    metricsFile: nonEmpty(str('metrics-file'), '--metrics-file'),
  };
}

const ROLES = ['gateway', 'dashboard', 'none'] as const;

/** `--role`, else RECONCILE_GATEWAYS_ROLE, else undefined (the container's command decides). */
function roleOf(flag: string | undefined, env: NodeJS.ProcessEnv): Args['role'] {
  // A bad value is named by where it came from: the flag, else the environment variable.
  return flag === undefined
    ? optionalOneOf(env['RECONCILE_GATEWAYS_ROLE'] || undefined, ROLES, 'RECONCILE_GATEWAYS_ROLE')
    : oneOf(flag, ROLES, '--role');
}

/** The drift thresholds, from `--drift-grace`, `--crash-restarts` and `--crash-window` or their defaults. */
function driftThresholds(str: FlagText): Args['drift'] {
  return {
    graceSeconds: parseNumber(str('drift-grace') ?? '30', '--drift-grace', { min: 0, max: 86400 }),
    // s6 keeps the last 100 deaths (S6_DEATH_TALLY), so more than 99 could never be counted.
    crashRestarts: parseNumber(str('crash-restarts') ?? '5', '--crash-restarts', { min: 1, max: S6_DEATH_TALLY - 1, integer: true }),
    crashWindowSeconds: parseNumber(str('crash-window') ?? '600', '--crash-window', { min: 1, max: 86400 }),
  };
}

function isCommand(s: string): s is Command {
  return s === 'boot' || s === 'sync' || s === 'watch' || s === 'status';
}

function nonEmpty(v: string | undefined, name: string): string | undefined {
  if (v === '') throw new ArgumentError(`${name} must not be empty`);
  return v;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], name: string): T {
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw new ArgumentError(`${name} must be one of ${allowed.join(', ')} (got ${quoted(v)})`);
  return found;
}

function optionalOneOf<T extends string>(v: string | undefined, allowed: readonly T[], name: string): T | undefined {
  return v === undefined ? undefined : oneOf(v, allowed, name);
}

/**
 * Flags other tools spell differently, and ours: `status --json` suggests `--output json`, not the
 * nearest by spelling. Only offered when the command has the flag.
 */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['json', '--output json'],
  ['o', '--output'],
  ['n', '--diff'],
  ['q', '--log-level warn'],
  ['dry-run', '--diff'],
  ['dryrun', '--diff'],
  ['verbose', '--log-level debug'],
  ['debug', '--log-level debug'],
  ['quiet', '--log-level warn'],
  ['v', '--log-level debug'],
  ['d', '--diff'],
  ['format', '--output'],
]);

/** Flags other tools have for what an environment variable does here. */
const ENVIRONMENT_HINTS: ReadonlyMap<string, string> = new Map(
  ['no-color', 'no-colour', 'color', 'colour'].map((name) => [
    name,
    'colour is automatic: on on a terminal, off through a pipe or with NO_COLOR=1 in the environment',
  ]),
);

/** Our spelling of another tool's flag, when `command` (any, if undefined) has that flag. */
function aliasFor(name: string, command: Command | undefined): string | undefined {
  const alias = ALIASES.get(name);
  if (alias === undefined) return undefined;
  const flag = alias.split(' ')[0]?.slice(2);
  const commands = command === undefined ? COMMANDS : [command];
  return commands.some((c) => flagsOf(c).some((f) => f.name === flag)) ? alias : undefined;
}

/** The values a numeric flag accepts. */
interface NumberRange {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only, written in digits (default: any plain decimal). */
  readonly integer?: boolean;
}

function parseNumber(v: string, name: string, { min, max, integer = false }: NumberRange): number {
  // Plain decimals only: Number() also takes '30.', '0x10' and '1e3'. Spaces around are dropped
  // (an environment value in a run script may carry one).
  const text = v.trim();
  const n = Number(text);
  const decimal = integer ? /^-?\d+$/ : /^-?(\d+|\d*\.\d+)$/;
  if (!decimal.test(text) || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    // 1e3 is a number between 0 and 86400 to a reader: say which spelling is wanted.
    const spelling =
      text === '' || decimal.test(text) || !(n >= min && n <= max) || (integer && !Number.isInteger(n))
        ? ''
        : integer
          ? ', written in digits (10, not 1e1, 0xa or 10.0)'
          : ', written in plain decimals (30 or 0.5, not 1e3, 0x10 or 30.)';
    throw new ArgumentError(
      `${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}${spelling} (got ${quoted(v)})`,
    );
  }
  return n;
}

/** `HOST:PORT`, `[::1]:PORT` or `:PORT` (all interfaces); the port 1–65535 (0: any free port). */
function parseListen(v: string | undefined): { host: string; port: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d+)$/.exec(v);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null) throw new ArgumentError(`--metrics-listen must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464 (got ${quoted(v)})`);
  if (port > 65535) throw new ArgumentError(`--metrics-listen: the port must be 0 to 65535, 0 for any free one (got ${quoted(v)})`);
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] ?? '0.0.0.0')), port };
}

function parseArgvJson(v: string | undefined): readonly string[] | undefined {
  if (v === undefined) return undefined;
  const refused = new ArgumentError(`--container-argv must be a JSON array of strings, e.g. '["hermes","gateway"]' (got ${quoted(v)})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw refused;
  }
  if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) throw refused;
  return parsed;
}
