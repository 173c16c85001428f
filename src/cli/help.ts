/**
 * The flag table every command parses (args.ts) and the help printed from it, so the two cannot
 * disagree: `--help` lists exactly the flags a command accepts, one line each.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Subcommands. */
export type Command = 'boot' | 'sync' | 'watch' | 'status';

/** The subcommands in the order help lists them. */
export const COMMANDS: readonly Command[] = ['boot', 'sync', 'watch', 'status'];

/** One flag: its parseArgs type, the value placeholder (string flags) and one line of help. */
export interface Flag {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  readonly value?: string;
  readonly help: string;
}

/** Where `watch` writes its status and `status` reads it, unless told otherwise. */
export const DEFAULT_STATUS_FILE = '/run/reconcile-gateways/status.json';

const s = (name: string, value: string, help: string): Flag => ({ name, type: 'string', value, help });
const b = (name: string, help: string): Flag => ({ name, type: 'boolean', help });

const COMMON: readonly Flag[] = [
  s('hermes-home', 'DIR', 'Hermes data volume (env HERMES_HOME; default /opt/data)'),
  s('scandir', 'DIR', 's6 scan directory (env S6_PROFILE_GATEWAY_SCANDIR; default /run/service)'),
  s('config', 'FILE', 'JSON settings (env RECONCILE_GATEWAYS_CONFIG)'),
  s('output', 'text|json', 'result format on stdout (default text)'),
  s('log-format', 'text|json', 'log format on stderr (default text)'),
  s('log-level', 'LEVEL', 'error, warn, info or debug (default info)'),
  s('role', 'ROLE', 'gateway, dashboard or none (env RECONCILE_GATEWAYS_ROLE; default: guessed)'),
  s('container-argv', 'JSON', "the container's command as a JSON array (default: read from /proc)"),
];

const LOCK = s('lock-file', 'FILE', 'run lock (env RECONCILE_GATEWAYS_LOCK_FILE; default in the scandir)');
const DIFF = b('diff', 'show what would change (unified diffs), change nothing; exit 1 if any');
const WAIT = b('wait', 'wait for another run holding the lock instead of exiting 3');
const NO_PRUNE = b('no-prune', 'keep slots whose profile is gone');
const ALLOW_EMPTY = b('allow-empty', 'prune even when every named profile vanished at once (normally refused)');
const RESTART = b('restart-changed', 'restart a running service whose run or finish changed');
const HEAL = b('heal', 'bring up a gateway s6 holds down although its intent is running');
const METRICS_FILE = s('metrics-file', 'FILE', 'write Prometheus metrics here after each pass (textfile collector)');
/** Drift thresholds: sync, watch and status report drift with them. */
const DRIFT: readonly Flag[] = [
  s('drift-grace', 'SECONDS', 'a running intent down this long is IntentRunningButDown (default 30)'),
  s('crash-restarts', 'N', 'more deaths than N inside --crash-window is CrashLooping (default 5)'),
  s('crash-window', 'SECONDS', 'the CrashLooping window (default 600)'),
];
const STATUS_FILE = s('status-file', 'FILE', `the watcher's status (env RECONCILE_GATEWAYS_STATUS_FILE;\ndefault ${DEFAULT_STATUS_FILE})`);

/** Per command: one line saying what it does, and the flags it takes besides the common ones. */
export const COMMAND_FLAGS: Readonly<Record<Command, { readonly summary: string; readonly flags: readonly Flag[] }>> = {
  boot: { summary: "register every profile's slot at container start (never prunes)", flags: [DIFF, WAIT, LOCK] },
  sync: {
    summary: 'one full pass: create, update, start, stop and prune slots',
    flags: [DIFF, WAIT, NO_PRUNE, ALLOW_EMPTY, RESTART, LOCK, HEAL, METRICS_FILE, ...DRIFT],
  },
  watch: {
    summary: 'stay running: re-sync on file changes and every --interval',
    flags: [
      s('interval', 'SECONDS', 'time between full passes (default 60)'),
      NO_PRUNE,
      ALLOW_EMPTY,
      RESTART,
      LOCK,
      STATUS_FILE,
      s('ready-fd', 'N', 's6 readiness: newline to fd N after the first pass (notification-fd)'),
      HEAL,
      s('metrics-listen', 'ADDR', 'serve /metrics, /healthz, /readyz on HOST:PORT (e.g. 127.0.0.1:9464)'),
      METRICS_FILE,
      ...DRIFT,
    ],
  },
  status: {
    summary: "show each profile's intent, slot and live s6 state (changes nothing)",
    flags: [
      STATUS_FILE,
      b('no-legend', 'leave out the legend under the table'),
      s('lock-file', 'FILE', "ignored: status takes no lock (accepted so sync's lock flag works here)"),
      ...DRIFT,
    ],
  },
};

const HELP = b('help', 'print this help and exit');
const VERSION = b('version', 'print the version and exit (-V too)');

/** Every flag `command` accepts, the common ones first. */
export function flagsOf(command: Command): readonly Flag[] {
  return [...COMMON, ...COMMAND_FLAGS[command].flags, HELP];
}

/** The general usage: the commands and where to read more. */
export function usageText(): string {
  const lines = ['usage: reconcile-gateways <command> [options]', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.padEnd(8)}${COMMAND_FLAGS[c].summary}`);
  lines.push('', "Run 'reconcile-gateways <command> --help' for its options; --version prints the version.");
  lines.push(`Every flag and config setting: ${docPath('cli.md')}`);
  return `${lines.join('\n')}\n`;
}

/** A command's help: what it does and its flags, one line each. */
export function commandHelp(command: Command): string {
  // --version (-V) is taken after any command too (args.ts reads it before the command's own flags).
  const flags = [...flagsOf(command), VERSION];
  const left = flags.map((f) => `  --${f.name}${f.value === undefined ? '' : ` ${f.value}`}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = [`usage: reconcile-gateways ${command} [options]`, `${capitalise(COMMAND_FLAGS[command].summary)}.`, '', 'options:'];
  // A help text with a newline goes on under its own column (a long default, say).
  flags.forEach((f, i) => lines.push(`${(left[i] ?? '').padEnd(width)}${f.help.replaceAll('\n', `\n${' '.repeat(width)}`)}`));
  lines.push('', `Every flag and config setting: ${docPath('cli.md')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Where a page of the docs is: the package's `docs/` beside `dist/` (installed from npm, or a
 * checkout), as an absolute path; else its name in the package (the bundle copied alone).
 */
export function docPath(name: string): string {
  // The bundle defines import.meta.url as its own path; tsc's build has a file: URL.
  const url = import.meta.url;
  const here = path.dirname(url.startsWith('file:') ? fileURLToPath(url) : url);
  // dist/reconcile-gateways.cjs, or dist/src/cli/help.js; the directory above dist/ must be our
  // package, not whatever holds a docs/ where the bundle was copied alone.
  for (const up of ['..', '../../..']) {
    const root = path.resolve(here, up);
    const file = path.join(root, 'docs', name);
    if (isOurPackage(root) && fs.existsSync(file)) return file;
  }
  return `docs/${name} in the reconcile-gateways package`;
}

function isOurPackage(dir: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'reconcile-gateways';
  } catch {
    return false;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Set by scripts/bundle.mjs from package.json; undefined in tsc's unbundled build. */
declare const RECONCILE_GATEWAYS_VERSION: string | undefined;

/** The package version: baked into the bundle, else read from the package.json above dist/src/cli. */
export function packageVersion(): string {
  if (typeof RECONCILE_GATEWAYS_VERSION === 'string') return RECONCILE_GATEWAYS_VERSION;
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
