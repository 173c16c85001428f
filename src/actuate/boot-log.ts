/**
 * The boot log `$HERMES_HOME/logs/container-boot.log`: one upstream-format line per profile per
 * boot, rotated to `.1` at `bootLogMaxBytes`. Never written through a symlink; a log that cannot be
 * written is a warning, never a failure.
 */
import fs from 'node:fs';
import type { ProfileDecision } from '../model.js';
import { escapeLine, fieldValue, quotedField } from '../escape.js';
import {
  type Dir,
  type Owner,
  FsError,
  closeDir,
  describeErrno,
  errnoCode,
  lstatAt,
  mkdirAt,
  openAppendAt,
  openDirIfExists,
  renameAt,
} from '../safe-fs/index.js';

const LOG_NAME = 'container-boot.log';

/** Upstream's `time.strftime("%Y-%m-%dT%H:%M:%S%z")` in local time, e.g. `2026-09-21T10:00:00+0000`. */
export function formatBootTimestamp(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/**
 * One boot-log line per decision, in reconcile order (upstream V2 format, V3 with the fold). A
 * profile whose operations failed gets `failed="<kind>: <error>; …"` after upstream's fields: the
 * log outlives the boot's stdout, and `action=started` alone would claim a gateway that never got
 * its slot (upstream aborted the boot instead).
 */
export function formatBootLogLines(
  timestamp: string,
  decisions: readonly ProfileDecision[],
  failures: ReadonlyMap<string, readonly string[]> = new Map(),
): string {
  return decisions
    .map((d) => {
      const fold = d.foldedIntoRoot === undefined ? '' : ` folded_into_root=${d.foldedIntoRoot ? 'True' : 'False'}`;
      const prior = d.priorState === null ? 'None' : fieldValue(d.priorState);
      const failed = failures.get(d.profile);
      const failedField = failed === undefined ? '' : ` failed=${quotedField(failed.join('; '))}`;
      return `${escapeLine(timestamp)} profile=${fieldValue(d.profile)} prior_state=${prior} action=${d.action} prior_exit=${d.priorExit}${fold}${failedField}\n`;
    })
    .join('');
}

/**
 * Appends the lines, rotating first when the log reached `maxBytes`; when it cannot rotate it does
 * not append, so neither file ever exceeds `maxBytes` plus one pass. Returns warnings.
 */
export function appendBootLog(home: Dir, text: string, maxBytes: number, owner: Owner | undefined): string[] {
  const warnings: string[] = [];
  let logs: Dir | undefined;
  try {
    logs = openDirIfExists(home, 'logs') ?? mkdirAt(home, 'logs', 0o755, owner);
    const existing = lstatAt(logs, LOG_NAME);
    if (existing !== undefined && existing.isFile() && existing.size >= maxBytes) {
      try {
        renameAt(logs, LOG_NAME, logs, `${LOG_NAME}.1`);
      } catch (err) {
        // Upstream appends anyway; a `.1` planted as a directory would then grow the log forever.
        warnings.push(
          `could not rotate ${logs.path}/${LOG_NAME}: ${describeErrno(err)}; not appending, so the log stays within its bound: ` +
            `remove what is at ${LOG_NAME}.1 there (the next boot rotates again)`,
        );
        return warnings;
      }
    }
    const { fd } = openAppendAt(logs, LOG_NAME, 0o644, owner);
    try {
      fs.writeSync(fd, text);
    } catch (err) {
      throw new FsError('append', `${logs.path}/${LOG_NAME}`, err);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    warnings.push(`could not write the boot log: ${describeErrno(err)}; ${bootLogFix(err)}`);
  } finally {
    closeDir(logs);
  }
  return warnings;
}

/** What to do about a boot log that could not be written (the rest of boot is done either way). */
function bootLogFix(err: unknown): string {
  const code = errnoCode(err instanceof FsError ? err.cause : err);
  if (code === 'EACCES' || code === 'EPERM') {
    return 'make HERMES_HOME/logs (or HERMES_HOME, for boot to make logs/) writable by the user running boot (root in the Hermes image); the rest of boot is done';
  }
  if (code === 'ENOSPC') return 'free space on the volume; the rest of boot is done';
  if (code === 'EROFS') return 'the volume is mounted read-only: mount it read-write for the log; the rest of boot is done';
  if (code === 'EIO' || code === 'EMFILE' || code === 'ENFILE') return 'the next boot tries again; the rest of boot is done';
  // A symlink, FIFO, directory or hard-linked file planted there: never written through.
  return 'remove or repair what is at that path (it is never written through); the rest of boot is done';
}
