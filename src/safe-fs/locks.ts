/**
 * Who holds a lock on a file, from the kernel's lock table (`/proc/locks`): how a supervisor is
 * told from a process that only holds its control FIFO open. s6-supervise (2.10 and later) takes a
 * POSIX write lock on `supervise/lock` for its whole life (skalibs `fd_lock`: fcntl F_SETLK;
 * s6-svok tests exactly that lock, s6-facts §4), while anyone who may open a FIFO for reading looks
 * like its listener. Older s6 let go of it once started: fifo.ts's supervisorLocks checks, by
 * s6-svscan's own lock, that this system's s6 holds it before the table is asked about any
 * supervisor. Procfs never blocks; the table is read once per {@link LockTable}, when first asked.
 */
import fs from 'node:fs';
import { errnoCode, readFilePath } from './core.js';

/** The kernel's table of file locks. */
const PROC_LOCKS = '/proc/locks';

/** Most of `/proc/locks` read (about 150,000 locks); a bigger table is not read: who holds what is then unknown. */
const PROC_LOCKS_CAP = 8 * 1024 * 1024;

/**
 * A held POSIX write lock: `1: POSIX  ADVISORY  WRITE 19370 fe:00:2761954 0 EOF`. A waiter's line
 * (`1: -> POSIX …`) holds nothing; an OFD lock (`OFDLCK`, pid -1) or a flock(2) one is none of
 * s6's, and names no process that holds it for the whole time it is held.
 */
const POSIX_WRITE = /^\d+:\s+POSIX\s+\S+\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/;

/** One reading of the lock table, made when first asked, and of its holders' users. */
export interface LockTable {
  /**
   * Whether a process running as root or as this user (real and effective uid) holds a POSIX
   * write lock on the inode `ino` (decimal); undefined when that cannot be told (no readable
   * `/proc/locks`, or a holder whose status cannot be read).
   */
  isLockedByTrusted(ino: string): boolean | undefined;
  /**
   * Whether a process running as root or as this user has the directory (dev, ino) as its working
   * directory, as s6-supervise has its service directory for its whole life; undefined when that
   * cannot be told (an s6-supervise whose cwd this user may not see: not root). Read from
   * `/proc/<pid>/cwd` when first asked, once for the table.
   */
  isCwdOfTrusted(dev: number, ino: number): boolean | undefined;
}

/**
 * A lock table read from `procLocks` when first asked. The inode alone identifies the file: the
 * device `/proc/locks` names can differ from the one stat reports (overlayfs reports the upper
 * file system's), and a false match only makes a supervisor look alive, which waits, never deletes.
 */
export function lockTable(procLocks = PROC_LOCKS): LockTable {
  let holders: Map<string, number[]> | null | undefined;
  const trusted = new Map<number, boolean | undefined>();
  const isTrusted = (pid: number): boolean | undefined => {
    if (!trusted.has(pid)) trusted.set(pid, runsAsTrusted(pid));
    return trusted.get(pid);
  };
  let cwds: ProcessCwds | undefined;
  const verdict = (pids: readonly number[], unknown: boolean): boolean | undefined => {
    const seen = pids.map(isTrusted);
    if (seen.includes(true)) return true;
    return unknown || seen.includes(undefined) ? undefined : false;
  };
  return {
    isLockedByTrusted(ino: string): boolean | undefined {
      if (holders === undefined) holders = readHolders(procLocks);
      if (holders === null) return undefined;
      return verdict(holders.get(ino) ?? [], false);
    },
    isCwdOfTrusted(dev: number, ino: number): boolean | undefined {
      cwds ??= readCwds();
      return verdict(cwds.byDir.get(`${dev}:${ino}`) ?? [], cwds.unknown);
    },
  };
}

/** Every process's working directory, by `dev:ino`, and whether some could not be seen. */
interface ProcessCwds {
  readonly byDir: ReadonlyMap<string, readonly number[]>;
  readonly unknown: boolean;
}

/**
 * The working directories of every process (`/proc/<pid>/cwd`; a listing of /proc by pid skips no
 * live process). One that is gone meanwhile has none; an s6-supervise whose cwd this user may not
 * read makes the reading unknown for a directory no visible process is in (it might be that one's).
 */
function readCwds(): ProcessCwds {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return { byDir: new Map(), unknown: true };
  }
  const byDir = new Map<string, number[]>();
  let unknown = false;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let st: fs.Stats;
    try {
      st = fs.statSync(`/proc/${name}/cwd`);
    } catch (err) {
      const code = errnoCode(err);
      // Gone meanwhile: it works nowhere. Hidden (another user's, not root; or one root may not
      // trace, without CAP_SYS_PTRACE): it might be the supervisor only if it says it is one and
      // runs as root or as us (a hermes process named s6-supervise must not make every answer
      // unknown, which would wait for every reader again).
      if (code !== 'ENOENT' && code !== 'ESRCH' && mayBeSupervisor(name) && runsAsTrusted(Number(name)) !== false) unknown = true;
      continue;
    }
    const key = `${st.dev}:${st.ino}`;
    const pids = byDir.get(key);
    if (pids === undefined) byDir.set(key, [Number(name)]);
    else pids.push(Number(name));
  }
  return { byDir, unknown };
}

/** The pids holding a POSIX write lock, by inode; null when the table cannot be read whole. */
function readHolders(procLocks: string): Map<string, number[]> | null {
  const read = readFilePath(procLocks, PROC_LOCKS_CAP);
  if (read.kind !== 'file') return null;
  const out = new Map<string, number[]>();
  for (const line of Buffer.from(read.bytes).toString('latin1').split('\n')) {
    const m = POSIX_WRITE.exec(line);
    if (m === null || m[1] === undefined || m[2] === undefined) continue;
    const pids = out.get(m[2]) ?? [];
    // One process may hold many byte ranges of a file: its pid counts once.
    const pid = Number(m[1]);
    if (!pids.includes(pid)) pids.push(pid);
    out.set(m[2], pids);
  }
  return out;
}

/** Whether process `pid` is named s6-supervise, or cannot be told from one. */
function mayBeSupervisor(pid: string): boolean {
  const read = readFilePath(`/proc/${pid}/comm`, 64);
  return read.kind !== 'file' || Buffer.from(read.bytes).toString('latin1').trim() === 's6-supervise';
}

/**
 * Whether process `pid` runs as root or as this user, real and effective uid both (`Uid:` in its
 * status): a set-user-ID program another user started has a real uid of theirs. Undefined when
 * its status cannot be read (gone meanwhile, or hidden from this user: `hidepid`).
 */
function runsAsTrusted(pid: number): boolean | undefined {
  const read = readFilePath(`/proc/${pid}/status`, 64 * 1024);
  if (read.kind !== 'file') return undefined;
  const line = Buffer.from(read.bytes)
    .toString('latin1')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  if (line === undefined) return undefined;
  const [real, effective] = line.slice(4).trim().split(/\s+/).map(Number);
  const us = process.geteuid?.() ?? 0;
  return [real, effective].every((uid) => uid === 0 || uid === us);
}
