/**
 * The run lock and the tool's state directory as a command uses them: taking the lock (in the state
 * directory unless --lock-file says elsewhere), checking at a watcher's start that this user can
 * use the state directory, replacing a foreign one and saying what that did, and the message for
 * one this user cannot use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FatalError, LockHeldError } from '../errors.js';
import { type HeldLock, acquireLock } from '../lock.js';
import { type Dir, FsError, closeDir, describeErrno, errnoCode, isDenied, lstatAt } from '../safe-fs/index.js';
import { STATE_DIR, type TakeOverReport, checkStateDir, defaultLockPath, foreignStateOf, openStateDir } from '../state-dir/index.js';
import { PASS_USER } from '../model/constants.js';
import type { Operation, Plan } from '../model.js';
import { namesInProse } from '../model/text.js';
import type { Args } from './args.js';
import { openScandir, samePath } from './pass.js';
import { watchLockPath } from './watch-lock.js';

/** The lock path (`--lock-file`, else the lock in the scandir's private state directory). */
export function lockPath(args: Args): string {
  return args.lockFile ?? defaultLockPath(args.scandir);
}

/** How a caller takes the run lock, beyond where and whether to wait. */
export interface RunLockOptions {
  /** Ends a wait for a held lock (a watcher stopping), with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Says that a foreign state directory was replaced on the way, and what that did; without it,
   * none is looked for beforehand and a replacement goes unsaid.
   */
  readonly warn?: (message: string) => void;
}

/**
 * Takes the run lock, making the scandir's private state directory first when it holds the lock
 * (src/state-dir/); `acquireLock` re-checks that the path still names the locked inode.
 */
export function takeLock(args: Args, scandir: Dir | undefined, wait: boolean, { signal, warn }: RunLockOptions = {}): Promise<HeldLock> {
  const prepareDir = args.lockFile === undefined && scandir !== undefined ? () => closeDir(openOwnStateDir(scandir, warn)) : undefined;
  return acquireLock(lockPath(args), wait, { signal, prepare: prepareDir });
}

/**
 * takeLock that waits for a held lock, saying first whose run it waits for (`say` gets the
 * holder's line): a silent wait looks like a hang, and what is waiting gets stale meanwhile.
 */
export async function waitForLock(
  args: Args,
  scandir: Dir | undefined,
  say: (held: string) => void,
  options: RunLockOptions = {},
): Promise<HeldLock> {
  try {
    return await takeLock(args, scandir, false, options);
  } catch (err) {
    if (!(err instanceof LockHeldError)) throw err;
    say(err.message);
    return takeLock(args, scandir, true, options);
  }
}

/**
 * A watcher's `--lock-file` whose directory does not exist: each pass that has work would fail to
 * take it (boot and sync exit 111 for it at once), while the watcher said it was ready.
 */
export function checkLockFileDir(args: Args): void {
  const file = args.lockFile;
  if (file === undefined) return;
  const point = 'point --lock-file or RECONCILE_GATEWAYS_LOCK_FILE at a file in a directory only the user running the tool can write';
  const refuse = (why: string): FatalError => new FatalError(`cannot use lock file ${file}: ${why}`);
  // Its own lock: every pass with work would wait for the watcher itself, forever.
  if (samePath(file, watchLockPath(args.statusFile)))
    throw refuse(`it is the watcher's own lock (beside its status file), which a pass would wait on forever; ${point}`);
  const dir = path.dirname(path.resolve(file));
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir, { throwIfNoEntry: false });
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') throw refuse(`a part of ${dir} is a file, not a directory; ${point}`);
    return; // a directory this user may not search: the pass that takes the lock says why
  }
  if (st === undefined) throw refuse(`its directory ${dir} does not exist; create it, or ${point}`);
  if (!st.isDirectory()) throw refuse(`${dir} is not a directory; ${point}`);
  // A missing lock file is created by the first pass with work: this user must be able to.
  if (!fs.existsSync(file)) {
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      throw refuse(`it does not exist and this user cannot create it in ${dir}; run as the user who owns that directory, or ${point}`);
    }
  }
}

/**
 * watch, at start: fails (exit 111) when this user cannot use the scandir's state directory. A
 * watcher over a converged scandir plans nothing and takes no lock, so without this check one
 * run as the wrong user reported ready and failed only at the first change. A scandir that is
 * missing or unusable is left to the first pass, which says what is wrong and retries.
 */
export function checkStateDirUsable(args: Args): void {
  let scandir: Dir | undefined;
  try {
    scandir = openScandir(args.scandir, 'empty');
  } catch {
    return;
  }
  if (scandir === undefined) return;
  try {
    checkStateDir(scandir);
  } catch (err) {
    throw stateDirError(scandir, err);
  } finally {
    closeDir(scandir);
  }
}

/** The operations a pass cannot apply without its state directory: staging, trash, restart journal. */
const NEEDS_STATE_DIR: ReadonlySet<Operation['kind']> = new Set(['create', 'remove', 'purge', 'restart']);

/**
 * `--diff`: what a real run by this user would meet at a state directory it cannot use, as a
 * warning, so a preview run as the wrong user does not pass for the run: with the lock in it, the
 * run stops before it plans (exit 111); with `--lock-file` elsewhere, the operations that need it
 * fail and the others apply. The plan shown is still what a run as the right user would do.
 */
export function stateDirWarning(args: Args, scandir: Dir, mode: string, plan: Plan): string | undefined {
  try {
    checkStateDir(scandir);
    return undefined;
  } catch (err) {
    const message = stateDirError(scandir, err).message;
    if (args.lockFile === undefined) return `a real ${mode} by this user would stop before changing anything (exit 111): ${message}`;
    const failing = plan.operations.filter((op) => NEEDS_STATE_DIR.has(op.kind)).map((op) => `${op.service} ${op.kind}`);
    if (failing.length === 0) return undefined;
    return `a real ${mode} by this user would fail ${namesInProse(failing, 5)}, which need the state directory: ${message}`;
  }
}

/**
 * The state directory, made when missing. Another user's (root's, 0700) cannot be opened or
 * replaced: that is someone running the tool as the wrong user, so say so instead of the errno.
 * One this user replaces (a foreign one) is said, with what went with it.
 */
function openOwnStateDir(scandir: Dir, warn?: (message: string) => void): Dir | undefined {
  const foreign = warn === undefined ? undefined : foreignStateOf(scandir);
  const report: TakeOverReport = { moved: [], kept: [] };
  let state: Dir | undefined;
  try {
    state = openStateDir(scandir, true, report);
  } catch (err) {
    throw stateDirError(scandir, err);
  }
  if (foreign !== undefined) warn?.(replacedWarning(`${scandir.path}/${STATE_DIR}`, foreign, report));
  return state;
}

/** What replacing a foreign state directory did, said: what moved, and why the old one stays if it does. */
export function replacedWarning(path: string, foreign: string, report: TakeOverReport): string {
  const { moved, kept } = report;
  const one = (names: readonly string[]): boolean => names.length === 1;
  const movedText =
    moved.length === 0
      ? ''
      : `; ${namesInProse(moved, 5)}, pending removal there with ${one(moved) ? 'its supervisor' : 'their supervisors'} still running, moved into the new trash (${one(moved) ? 'its' : 'their'} purge stops ${one(moved) ? 'it' : 'them'})`;
  const why = [
    ...(kept.length === 0 ? [] : [`${namesInProse(kept, 5)} still ${one(kept) ? 'runs' : 'run'} there and could not be moved`]),
    ...(report.unchecked === true ? ['not all of its trash could be checked (more than 10,000 entries, or names that are not UTF-8)'] : []),
  ];
  if (why.length === 0) why.push('it could not be deleted (or not within one pass)');
  const fate =
    report.asideKept === true
      ? `the old directory stays in the scandir as ${STATE_DIR}.foreign.*, not deleted, since ${why.join(', and ')}: stop what runs there (s6-svc -dx) and delete it`
      : 'its restart journal and trash are gone';
  return (
    `replaced ${path}, ${foreign} and not this user's private directory (did a pass run as another user make it?): ${fate}${movedText}; ` +
    `run every pass over a scandir as one user (${PASS_USER})`
  );
}

/**
 * Replaces a foreign state directory before a pass applies anything, whatever the lock's path
 * (with `--lock-file` nothing else does so up front, and what replaced it said nothing), and says
 * what that did. Nothing happens to a missing state directory or one of ours.
 */
export function replaceForeignStateDir(scandir: Dir | undefined, warn: (message: string) => void): void {
  if (scandir === undefined || foreignStateOf(scandir) === undefined) return;
  try {
    closeDir(openOwnStateDir(scandir, warn));
  } catch (err) {
    // Only the operations that need the state directory (creates, removes) fail for it, each with
    // its reason, as they did before this look: the others still apply.
    warn(`${err instanceof Error ? err.message : String(err)}; operations that need it fail, the others apply`);
  }
}

/** Whose the state directory is (another user's run made it), or whose the scandir is when there is none. */
function whoseStateDir(scandir: Dir): string {
  try {
    const st = lstatAt(scandir, STATE_DIR);
    if (st !== undefined) return `it belongs to uid ${st.uid}`;
    return `it cannot be made in a scandir of uid ${fs.fstatSync(scandir.fd).uid}`;
  } catch {
    return 'it belongs to another user';
  }
}

/** What a state directory this user cannot use says: whose it is, or why not. */
function stateDirError(scandir: Dir, err: unknown): FatalError {
  const code = errnoCode(err);
  const fix = isDenied(err)
    ? `${whoseStateDir(scandir)}: run boot, sync and watch as that user, every time (${PASS_USER})`
    : code === 'EROFS'
      ? 'the scandir is on a read-only file system: boot, sync and watch write there (the Hermes image keeps it on a tmpfs)'
      : 'boot, sync and watch keep their lock and staging there';
  return new FatalError(
    `cannot use ${scandir.path}/${STATE_DIR}, the tool's state directory in the scandir (${describeErrno(err instanceof FsError ? err.cause : err)}); ` +
      `${fix}; status and --diff need only read access`,
    { cause: err },
  );
}
