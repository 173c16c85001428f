/**
 * Loads `--config FILE`: JSON, validated against schemas/config.schema.json (unknown keys are an
 * error), merged over upstream's defaults.
 */
import type { Settings } from '../model.js';
import { UsageError } from '../errors.js';
import { jsonErrorAt } from '../model/text.js';
import { readFilePath } from '../safe-fs/index.js';
import { describeValidationErrors, loadValidator } from './validate.js';
import { docPath } from './help.js';
import { quoted } from '../escape.js';

/**
 * Upstream's values: with them every rendered file is byte-identical to container_boot.py's.
 * One deliberate exception: the supervise skeleton is root-owned with group access by default
 * (`superviseOwner: 'root'`, issue 4); `'user'` restores upstream's hermes-owned skeleton.
 */
export const DEFAULT_SETTINGS: Settings = {
  user: 'hermes',
  uid: 10000,
  gid: 10000,
  home: '/opt/data',
  shebang: '#!/command/with-contenv sh',
  gatewayCommand: 'hermes',
  s6BinDir: '/command',
  servicePrefix: 'gateway-',
  bootLogMaxBytes: 262144,
  superviseOwner: 'root',
  multiplexPolicy: 'gate',
};

/** Host defaults for uid/gid (the `hermes` entry in /etc/passwd and /etc/group), if any. */
export interface HostIds {
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * What to do about a config that could not be read, by errno, for `who` runs (the tool, the
 * watcher): a path that is right but unreadable is not fixed by checking the path.
 */
export function configReadFix(errno: string, who: string): string {
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return `make it readable by the user ${who} runs as`;
    case 'EMFILE':
      return `raise the open-file limit of ${who} (ulimit -n)`;
    case 'ENFILE':
      return 'the system has too many files open: find what holds them';
    case 'EIO':
      return 'check the disk or file system it is on';
    default:
      return 'check the path given by --config or RECONCILE_GATEWAYS_CONFIG';
  }
}

/**
 * A config file that could not be read (the errno is in `errno`), as opposed to one whose
 * contents are wrong. A usage error all the same for `boot` and `sync` (exit 100); a watcher
 * retries it, since a file being replaced or a passing shortage of descriptors clears by itself.
 */
export class ConfigReadError extends UsageError {
  /** The config file as given. */
  readonly path: string;
  /** The errno of the read (`ENOENT`, `EMFILE`, …; `EUNKNOWN` without one). */
  readonly errno: string;
  /** The errno described, as describeErrno has it (`ENOENT: no such file or directory`). */
  readonly reason: string;
  constructor(path: string, errno: string, reason: string) {
    super(`cannot read config ${path}: ${reason}; ${configReadFix(errno, 'the tool')}`);
    this.name = 'ConfigReadError';
    this.path = path;
    this.errno = errno;
    this.reason = reason;
  }
}

/** The largest config file read (a rendered config is a few hundred bytes). */
const CONFIG_MAX_BYTES = 1024 * 1024;

/** How an error in the config file's contents ends: what to do about it. */
const fixTheFile = (): string => `fix the file (${docPath('cli.md')} lists every setting)`;

/** Reads, validates and merges a config file; `undefined` path means built-in defaults. */
export async function loadSettings(path: string | undefined, host: HostIds = {}): Promise<Settings> {
  const base: Settings = { ...DEFAULT_SETTINGS, ...host };
  if (path === undefined || path === '') return base;
  // Never blocking: a FIFO (or a device) at the path is refused, where a read waited for a writer
  // forever and took the watcher's loop, its probes and SIGTERM with it.
  const read = readFilePath(path, CONFIG_MAX_BYTES, true);
  if (read.kind === 'missing') throw new ConfigReadError(path, 'ENOENT', 'ENOENT: no such file or directory');
  if (read.kind === 'refused') {
    if (read.code === 'EFTYPE' || read.code === 'ENXIO' || read.code === 'EFBIG' || read.code === 'EISDIR')
      throw new UsageError(
        `config ${path} ${read.reason}: not a config file; point --config or RECONCILE_GATEWAYS_CONFIG at the JSON config`,
      );
    throw new ConfigReadError(path, read.code, read.reason);
  }
  const text = Buffer.from(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength).toString('utf8');
  let data: unknown;
  const json = text.replace(/^\uFEFF/, '');
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`${notJson(path, json) ?? `config ${path} is not valid JSON: ${jsonSyntaxError(json, err)}`}; ${fixTheFile()}`, {
      cause: err,
    });
  }
  const twice = repeatedKeys(json);
  if (twice.length > 0) {
    const which = twice.map(quoted).join(', ');
    throw new UsageError(
      `config ${path} is invalid: ${which} ${twice.length === 1 ? 'is' : 'are'} given more than once (JSON keeps only the last); keep one; ${fixTheFile()}`,
    );
  }
  const validateConfig = await loadValidator('validateConfig');
  if (!validateConfig(data)) {
    const problems = describeValidationErrors(validateConfig, Object.keys(DEFAULT_SETTINGS), PATTERN_WORDS);
    throw new UsageError(`config ${path} is invalid: ${problems}; ${fixTheFile()}`);
  }
  return { ...base, ...(data as Partial<Settings>) };
}

/**
 * Keys given more than once in the top-level object of a JSON text JSON.parse accepted: it keeps
 * the last silently, so a config with two `user` lines would run as whichever came second.
 */
export function repeatedKeys(json: string): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
    else if (ch === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      let next = end + 1;
      while (json[next] === ' ' || json[next] === '\t' || json[next] === '\n' || json[next] === '\r') next++;
      if (depth === 1 && json[next] === ':') {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        (seen.has(key) ? twice : seen).add(key);
      }
      i = end;
    }
  }
  return [...twice];
}

/** The schema's patterns in words (schemas/config.schema.json): values that go into shell scripts unquoted. */
export const PATTERN_WORDS: Readonly<Record<string, string>> = {
  user: "a Unix user name: lower-case letters, digits, '_' and '-', starting with a letter or '_', at most 32 characters",
  home: 'an absolute path of ASCII letters, digits and . _ / + @ - only (it goes into run unquoted)',
  shebang: '#! and an interpreter, on one line',
  gatewayCommand: 'a command of ASCII letters, digits and . _ / + @ - only, without arguments (it goes into run unquoted)',
  s6BinDir: 'an absolute path on one line',
  servicePrefix: "1 to 8 lower-case letters, digits, '_' or '-', starting with a letter or digit",
};

/**
 * A config that is not even trying to be JSON (a YAML file, say) gets that said, instead of the
 * parser's complaint about its first character; undefined for text that starts like an object.
 */
function notJson(path: string, text: string): string | undefined {
  const first = text.trimStart()[0];
  if (first === undefined || first === '{') return undefined;
  const yaml =
    /\.ya?ml$/i.test(path) || /^(---|#|[\w-]+:(\s|$))/m.test(text) ? ' (it looks like YAML: the config is JSON, {"key": value, …})' : '';
  return `config ${path} is not a JSON object: it starts with ${describeChar(first)}, not '{'${yaml}`;
}

/** `'x'` for a printable ASCII character, else its code point (`U+001B`): nothing for a terminal to act on. */
function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  return code > 0x20 && code < 0x7f ? `'${ch}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * JSON.parse's complaint with a line and column instead of an offset (Node 20 gives only the
 * offset): "Expected ',' or '}' after property value at line 3 column 12".
 */
export function jsonSyntaxError(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = jsonErrorAt(text, err);
  // Newer V8 quotes the text around the error (newlines and all) and ends with `… is not valid
  // JSON`, which the caller already says: one line, without the repeat.
  if (at === undefined) return message.replace(/ is not valid JSON$/, '').replace(/\s+/g, ' ');
  return `${message.replace(/ (?:in JSON )?at position \d+.*$/s, '')} at line ${at.line} column ${at.column}`;
}
