/**
 * The watcher's own lock, `<status file>.lock`: the status file is a watcher's identity (two
 * watchers writing one would each overwrite the other's report), so a second `watch` with the
 * same status file — by default, any second watcher — exits 3 instead of running beside the first.
 * Held for the watcher's life; the kernel drops it when the process dies. Separate from the run
 * lock, which each pass takes only while it writes, so `sync --wait` still gets its turn.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FatalError, LockHeldError } from '../errors.js';
import { type HeldLock, acquireLock } from '../lock.js';
import { describeErrno, errnoCode } from '../safe-fs/index.js';
import { isWatcherRunning, readStatusText } from './watcher-file.js';

/** The watcher lock of a status file: beside it, `<status file>.lock`. */
export function watchLockPath(statusFile: string): string {
  return `${statusFile}.lock`;
}

/** Takes the watcher lock beside `statusFile` or throws LockHeldError naming what to do. */
export async function takeWatchLock(statusFile: string): Promise<HeldLock> {
  const file = watchLockPath(statusFile);
  // Its directory is made when missing (/run/reconcile-gateways is wiped at every start), but one
  // level only: a mistyped --status-file does not grow a tree of new directories.
  const dir = path.dirname(path.resolve(file));
  const refuse = (why: string, cause?: unknown): FatalError =>
    new FatalError(
      `cannot use the directory of the status file ${statusFile} (${why}); create it, or point --status-file or RECONCILE_GATEWAYS_STATUS_FILE elsewhere`,
      { cause },
    );
  try {
    fs.mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EEXIST') throw refuse(code === 'ENOENT' ? 'neither it nor its parent exists' : describeErrno(err), err);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw refuse(describeErrno(err), err); // a dangling symlink or a loop
  }
  if (!st.isDirectory()) throw refuse(`${dir} is not a directory`);
  try {
    // Its lock is the status file's, so the fix names the status file's option, not --lock-file.
    const pointAt =
      'point --status-file or RECONCILE_GATEWAYS_STATUS_FILE at a file in a directory only the user running the tool can write';
    return await acquireLock(file, false, { pointAt });
  } catch (err) {
    if (!(err instanceof LockHeldError)) throw err;
    const pid = pidInStatusFile(statusFile);
    // The status file names the watcher; without one, /proc may (src/lock.ts lockHolder).
    const who =
      pid !== undefined
        ? `pid ${pid} by its status file; it holds ${file}`
        : err.holder !== undefined
          ? `${err.holder}; it holds ${file}`
          : `it holds ${file}`;
    throw new LockHeldError(
      `another watch is already running with status file ${statusFile} (${who}); stop it first (one watcher per scandir is enough: passes share the run lock); a watcher of other trees needs its own --status-file`,
      { cause: err, holder: err.holder },
    );
  }
}

/**
 * The pid of the watcher that holds the lock, by its status file: only when that watcher recorded
 * no stop and its pid is still that process (a refusal must never name an unrelated process).
 * The file is read never through a symlink and never blocking; anything odd gives undefined.
 */
function pidInStatusFile(statusFile: string): number | undefined {
  const read = readStatusText(statusFile);
  if (read.kind !== 'text') return undefined;
  try {
    const doc = JSON.parse(read.text) as { pid?: unknown; startedAt?: unknown; stopped?: unknown };
    const { pid, startedAt } = doc;
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || typeof startedAt !== 'string' || doc.stopped !== undefined) return undefined;
    return isWatcherRunning(pid as number, startedAt) ? (pid as number) : undefined;
  } catch {
    return undefined;
  }
}
