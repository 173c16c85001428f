/**
 * Warnings and errors in a long-running `watch`: one is logged when it is new, again when it went
 * away (a full pass no longer reported it) and came back, and otherwise at most once per interval —
 * never once per pass, where a targeted pass followed by a full one would repeat every line.
 */
import type { Logger } from './logger.js';

/** A logger that quiets repeats, and the hook the watcher calls after each pass. */
export interface QuietLogger {
  readonly logger: Logger;
  /** Ends a pass; a full pass forgets the warnings it did not report, so their return is news. */
  endPass(full: boolean): void;
}

/**
 * Wraps `logger`: a repeat within `intervalMs` of its last warn- or error-level record goes to
 * debug (an operation that keeps failing the same way, retried or refused pass after pass, is one
 * error line per interval, not one per pass).
 */
export function quietRepeats(logger: Logger, intervalMs: number, now: () => number = () => performance.now()): QuietLogger {
  const lastLogged = new Map<string, number>();
  let seen = new Set<string>();
  const quiet =
    (level: 'warn' | 'error'): Logger['warn'] =>
    (message, fields) => {
      // The service is part of it: `update failed: EACCES…` of one service is not another's repeat.
      const key = `${level} ${String(fields?.['service'] ?? '')} ${message}`;
      seen.add(key);
      const last = lastLogged.get(key);
      if (last !== undefined && now() - last < intervalMs) {
        logger.debug(message, fields);
        return;
      }
      lastLogged.set(key, now());
      logger[level](message, fields);
    };
  const warn = quiet('warn');
  const error = quiet('error');
  return {
    logger: {
      ...logger,
      warn,
      error,
      log: (level, m, f) => (level === 'warn' ? warn(m, f) : level === 'error' ? error(m, f) : logger.log(level, m, f)),
    },
    endPass(full: boolean): void {
      if (full) for (const m of [...lastLogged.keys()]) if (!seen.has(m)) lastLogged.delete(m);
      seen = new Set();
    },
  };
}
