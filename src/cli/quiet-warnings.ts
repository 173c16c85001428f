/**
 * Warnings in a long-running `watch`: a warning is logged when it is new, again when it went away
 * (a full pass no longer reported it) and came back, and otherwise at most once per interval —
 * never once per pass, where a targeted pass followed by a full one would repeat every line.
 */
import type { Logger } from './logger.js';

/** A logger that quiets repeats, and the hook the watcher calls after each pass. */
export interface QuietLogger {
  readonly logger: Logger;
  /** Ends a pass; a full pass forgets the warnings it did not report, so their return is news. */
  endPass(full: boolean): void;
}

/** Wraps `logger`: a repeat within `intervalMs` of its last warn-level record goes to debug. */
export function quietRepeats(logger: Logger, intervalMs: number, now: () => number = Date.now): QuietLogger {
  const lastLogged = new Map<string, number>();
  let seen = new Set<string>();
  const warn: Logger['warn'] = (message, fields) => {
    seen.add(message);
    const last = lastLogged.get(message);
    if (last !== undefined && now() - last < intervalMs) {
      logger.debug(message, fields);
      return;
    }
    lastLogged.set(message, now());
    logger.warn(message, fields);
  };
  return {
    logger: { ...logger, warn, log: (level, m, f) => (level === 'warn' ? warn(m, f) : logger.log(level, m, f)) },
    endPass(full: boolean): void {
      if (full) for (const m of [...lastLogged.keys()]) if (!seen.has(m)) lastLogged.delete(m);
      seen = new Set();
    },
  };
}
