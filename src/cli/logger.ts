/**
 * The one logger: winston, on stderr, text or JSON. It is created lazily on the first record that
 * passes the level, so a quiet pass never pays for loading winston (start-up matters at boot).
 */
import { createRequire } from 'node:module';
import { escapeLine, fieldValue } from '../escape.js';

/** Log levels, most severe first. */
export type Level = 'error' | 'warn' | 'info' | 'debug';
const RANK: Readonly<Record<Level, number>> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Structured fields attached to a record (`service`, `kind`, `path`…). */
export type Fields = Readonly<Record<string, string | number | boolean | undefined>>;

/** The logging surface every command uses. */
export interface Logger {
  log(level: Level, message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
}

interface WinstonLike {
  log(entry: { level: string; message: string; [k: string]: unknown }): void;
}

/** Creates the logger for `--log-level` and `--log-format`. */
export function createLogger(level: Level, format: 'text' | 'json'): Logger {
  let sink: WinstonLike | undefined;
  const open = (): WinstonLike => {
    if (sink !== undefined) return sink;
    const winston = loadWinston();
    const text = winston.format.printf((info) => {
      const { level: lvl, message, ...rest } = info;
      // The fields follow in brackets, so they never read as the sentence's last words.
      const fields = Object.entries(rest)
        .filter(([k, v]) => typeof k === 'string' && v !== undefined && k !== 'timestamp')
        .map(([k, v]) => `${k}=${fieldValue(String(v))}`);
      return `reconcile-gateways: ${lvl}: ${escapeLine(String(message))}${fields.length === 0 ? '' : ` [${fields.join(' ')}]`}`;
    });
    // JSON escapes only what JSON must: a record's strings get the text format's escaping too, so a
    // bidi control or U+2028 in a name cannot reorder or split a line that a log viewer shows.
    const escaped = winston.format((info) => {
      for (const [k, v] of Object.entries(info)) if (typeof v === 'string') info[k] = escapeLine(v);
      return info;
    });
    sink = winston.createLogger({
      level: 'debug',
      format: format === 'json' ? winston.format.combine(escaped(), winston.format.timestamp(), winston.format.json()) : text,
      transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
    });
    return sink;
  };
  const log = (lvl: Level, message: string, fields: Fields = {}): void => {
    if (RANK[lvl] > RANK[level]) return;
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    open().log({ level: lvl, message, ...clean });
  };
  return {
    log,
    error: (m, f) => log('error', m, f),
    warn: (m, f) => log('warn', m, f),
    info: (m, f) => log('info', m, f),
    debug: (m, f) => log('debug', m, f),
  };
}

/** A literal require, so the bundle inlines winston and runs it only when a record is logged; tsc's ES build has none. */
function loadWinston(): typeof import('winston') {
  /* eslint-disable-next-line @typescript-eslint/no-require-imports */
  const load = typeof require === 'function' ? () => require('winston') : () => createRequire(import.meta.url)('winston');
  return load() as typeof import('winston');
}
