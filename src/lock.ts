/**
 * The run lock: an exclusive flock(2) on `<scandir>/.reconcile-gateways/lock` (src/state-dir/), held by our
 * descriptor, so the kernel releases it when we die — a killed run never blocks the next one. The
 * file is never deleted. Node has no flock(2), so flock(1) (src/system-programs.ts) locks a
 * descriptor we pass it: flock locks belong to the open file description we share, so the lock
 * stays ours after flock(1) exits.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import nodePath from 'node:path';
import { FatalError, LockHeldError } from './errors.js';
import { escapeLine } from './escape.js';
import { PASS_USER } from './model/constants.js';
import { describeErrno, describeType, errnoCode, isDenied } from './safe-fs/index.js';
import { systemProgram } from './system-programs.js';

/** A held lock; release by closing (or by exiting). */
export interface HeldLock {
  readonly fd: number;
  readonly path: string;
  release(): void;
}

/** How often a lock whose path was swapped meanwhile is taken again before giving up. */
const LOCK_ATTEMPTS = 5;

/** Options of acquireLock. */
export interface LockOptions {
  /** An abort (watch shutting down) ends a wait with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Runs before each attempt (making the state directory); when set, the lock file's directory must be no symlink. */
  readonly prepare?: (() => void) | undefined;
  /** The fix an unusable lock file's error names (default: point --lock-file elsewhere). */
  readonly pointAt?: string;
}

/**
 * Takes the lock; with `wait` blocks until it is free, else throws LockHeldError at once. An abort
 * of `signal` (watch shutting down) ends the wait with the signal's reason. `prepare` runs before
 * each attempt (making the state directory). Once held, the path must still name the locked inode,
 * and the state directory `prepare` makes must be a real directory: a lock renamed away and
 * replaced meanwhile would let two runs hold "the" lock at once (issue 16 #8), so the lock is taken
 * again. A lock file the operator names may sit in a directory reached through a symlink
 * (`/var/lock` is `/run/lock` on Debian): that path is theirs, trusted up to its last component.
 */
export async function acquireLock(path: string, wait: boolean, options: LockOptions = {}): Promise<HeldLock> {
  const { signal, prepare, pointAt = POINT_LOCK } = options;
  for (let attempt = 1; ; attempt++) {
    prepare?.();
    const fd = openLockFile(path, pointAt);
    try {
      await lockFd(fd, path, wait, signal);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (namesLockedInode(path, fd, prepare !== undefined)) return heldLock(fd, path);
    fs.closeSync(fd);
    if (attempt >= LOCK_ATTEMPTS)
      throw new FatalError(`lock file ${path} keeps being replaced while it is taken; is the scandir sticky (chmod +t)?`);
  }
}

async function lockFd(fd: number, path: string, wait: boolean, signal: AbortSignal | undefined): Promise<void> {
  const held = (): LockHeldError => {
    const holder = lockHolder(fd);
    return new LockHeldError(`another reconcile-gateways run holds ${path}${holder === undefined ? '' : ` (${holder})`}`, { holder });
  };
  const { code, killedBy } = await runFlock(fd, wait, signal);
  // A signal that killed flock(1) is often on its way to us too (a stop sent to the process group
  // or to every process): give our own handler its turn, so a stop reads as a stop, not a failure.
  if (killedBy !== null && signal !== undefined && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 100));
  if (signal?.aborted === true) throw signal.reason;
  if (killedBy !== null) throw new FatalError(`flock(1) waiting for ${path} was killed by ${killedBy}; nothing was changed`);
  if (code === 1 && !wait) throw held();
  if (code !== 0) throw new FatalError(`flock on ${path} failed (exit ${code})`);
}

/** Whether `path` (not followed) is the file `fd` locks, inside a directory that is no symlink when `realDir`. */
export function namesLockedInode(path: string, fd: number, realDir = true): boolean {
  try {
    const held = fs.fstatSync(fd);
    const now = fs.lstatSync(path);
    return now.dev === held.dev && now.ino === held.ino && (!realDir || fs.lstatSync(nodePath.dirname(path)).isDirectory());
  } catch {
    return false;
  }
}

function heldLock(fd: number, path: string): HeldLock {
  let open = true;
  return {
    fd,
    path,
    release(): void {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  };
}

/** The fix that names the option choosing the lock file (acquireLock's `pointAt`). */
const POINT_LOCK = 'point --lock-file or RECONCILE_GATEWAYS_LOCK_FILE at a file in a directory only the user running the tool can write';
const RUN_AS_OWNER = `run as the user who owns it (${PASS_USER}), or `;
const CREATE_FIX = 'it does not exist and this user cannot create it there: run as the user who owns its directory, or ';
const LOCK_FIXES: Readonly<Record<string, string>> = {
  ENOENT: 'its directory does not exist: create it, or ',
  EACCES: RUN_AS_OWNER,
  EPERM: RUN_AS_OWNER,
  ELOOP: 'a symlink is never followed: ',
};

/**
 * Opens the lock file, creating it 0600 only when it is missing: flock(2) needs only an open
 * descriptor, so a lock file any user can open for reading lets any user hold the lock and block
 * every run (exit 3 forever). An existing one is opened read-only and without O_CREAT, so a run on
 * a converged system writes nothing at all, not even a no-op create.
 */
function openLockFile(path: string, pointAt: string): number {
  const C = fs.constants;
  const flags = C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY;
  let fd: number;
  let creating = false;
  try {
    try {
      fd = fs.openSync(path, C.O_RDONLY | flags);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      creating = true;
      fd = fs.openSync(path, C.O_RDWR | C.O_CREAT | flags, 0o600);
    }
  } catch (err) {
    const code = errnoCode(err);
    const fix = creating && isDenied(err) ? CREATE_FIX : (LOCK_FIXES[code] ?? '');
    throw new FatalError(`cannot open lock file ${path} (${describeErrno(err)}); ${fix}${pointAt}`, { cause: err });
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new FatalError(`lock file ${path} is not a regular file (${describeType(st)}); ${pointAt}`);
  }
  // A lock file from an older version (0644): tighten it; one someone else owns is left alone.
  if ((st.mode & 0o077) !== 0 && st.uid === process.geteuid?.()) fs.fchmodSync(fd, 0o600);
  return fd;
}

/** Runs flock(1) on `fd` (its descriptor 3): exit 0 when taken, 1 when held elsewhere without `wait`. */
function runFlock(
  fd: number,
  wait: boolean,
  signal: AbortSignal | undefined,
): Promise<{ readonly code: number; readonly killedBy: NodeJS.Signals | null }> {
  const flock = systemProgram('flock');
  const args = wait ? ['--exclusive', '3'] : ['--exclusive', '--nonblock', '3'];
  return new Promise((resolve, reject) => {
    const child = spawn(flock, args, { stdio: ['ignore', 'ignore', 'inherit', fd], ...(signal === undefined ? {} : { signal }) });
    child.on('error', (err) => {
      if (signal?.aborted === true) resolve({ code: 128, killedBy: null });
      else reject(new FatalError(`cannot run flock(1): ${err.message}`, { cause: err }));
    });
    child.on('exit', (code, killedBy) => resolve({ code: code ?? 128, killedBy: code === null ? killedBy : null }));
  });
}

/** Longest command line quoted in the "held" message; a longer one is cut with an ellipsis. */
const HOLDER_COMMAND_MAX = 160;

/**
 * Who holds the flock on the file `fd` is open on, as `pid N: its command line`, so a refused or
 * waiting run names what it waits for. /proc/locks names the process that took the lock, which
 * for us is flock(1), long gone; so this looks for the process with a descriptor whose fdinfo
 * lists that lock (a flock belongs to the open file description). Descriptors are matched by
 * their link text first (readlink never touches the file's own file system, so a hung mount
 * cannot stall a run that should exit at once). Undefined when /proc cannot tell: nobody holds
 * it any more, the holder is another user's process and we are not root, or in another pid
 * namespace. Only read on the refusal path.
 */
export function lockHolder(fd: number): string | undefined {
  let id: string;
  let target: string;
  try {
    id = procLocksId(fs.fstatSync(fd, { bigint: true }));
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    if (!heldLockLines(fs.readFileSync('/proc/locks', 'utf8'), id)) return undefined;
  } catch {
    return undefined;
  }
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((e) => /^[1-9][0-9]*$/.test(e) && Number(e) !== process.pid);
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const n of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${n}`) !== target) continue;
        if (heldLockLines(fs.readFileSync(`/proc/${pid}/fdinfo/${n}`, 'utf8'), id)) return `pid ${pid}: ${commandLine(pid)}`;
      } catch {
        // closed meanwhile, or not ours to see
      }
    }
  }
  return undefined;
}

/** Whether a /proc/locks or fdinfo text lists a granted lock (not a waiter's `->` line) on the file `id` names. */
function heldLockLines(text: string, id: string): boolean {
  return text.split('\n').some((line) => !line.includes('->') && line.split(/\s+/).includes(id));
}

/**
 * A process's command line for a message: arguments joined by spaces, one with a space quoted,
 * cut to HOLDER_COMMAND_MAX code points, and every character a line must not carry (controls,
 * invisible and bidirectional ones) shown as U+FFFD: another process's argv cannot break or
 * forge our line, and the logger's own escaping then has nothing left to double.
 */
function commandLine(pid: string): string {
  let args: string[];
  try {
    args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
  } catch {
    return '(command line unreadable)';
  }
  const text = args.map((a) => (a === '' || a.includes(' ') ? `"${a}"` : a)).join(' ');
  if (text === '') return '(no command line)';
  const chars = Array.from(text);
  const cut = chars.length > HOLDER_COMMAND_MAX ? [...chars.slice(0, HOLDER_COMMAND_MAX - 1), '…'] : chars;
  return cut.map((ch) => (ch !== '\\' && escapeLine(ch) !== ch ? '\uFFFD' : ch)).join('');
}

/** The `major:minor:inode` by which /proc/locks and fdinfo name a file (the kernel's major and minor, in hex). */
function procLocksId(st: fs.BigIntStats): string {
  // glibc's dev_t encoding.
  const major = ((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn);
  const minor = (st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
}

/**
 * Whether some process holds a lock on the file at `path` (not followed), read from /proc/locks:
 * nothing is opened or locked, so a reader never gets in a holder's way. Undefined when that
 * cannot be told: no file at `path` (a lock on a file since unlinked is not found by its path), or
 * no readable /proc/locks.
 */
export function isLockHeld(path: string): boolean | undefined {
  let st: fs.BigIntStats;
  try {
    st = fs.lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
  let table: string;
  try {
    table = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  const id = procLocksId(st);
  // `1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF`; a `->` line is a waiter, not a holder.
  return heldLockLines(table, id);
}
