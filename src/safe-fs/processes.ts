/**
 * Where processes work: how a supervisor is told from a process that only holds its control FIFO
 * open. s6-supervise works in its service directory for its whole life (it chdirs there at start,
 * in every s6 version), while anyone who may open a FIFO for reading looks like its listener. Read
 * from `/proc/<pid>/cwd`, which never blocks on procfs; not from `/proc/locks` (s6-svok's lock):
 * that table is read a page at a time, not at once, so a held lock's line can be missed while other
 * locks come and go, and every read walks every lock on the host, which any user can make slow.
 */
import fs from 'node:fs';
import { errnoCode, readFilePath } from './core.js';

/** One look at the processes, taken when first asked. */
export interface ProcessTable {
  /**
   * Whether a process running as root or as this user (real and effective uid) has the directory
   * (dev, ino) as its working directory. `false` only where this look is shown to see the
   * supervisors at all: the scandir's s6-svscan (a process of root or of this user named s6-svscan,
   * working in the scandir given to {@link processTable}) is among the processes it sees; a pass in
   * another PID namespace (a sidecar) or under `hidepid` sees none of them, and must not take that
   * for their absence. Undefined when it cannot be told.
   */
  isCwdOfTrusted(dev: number, ino: number): boolean | undefined;
}

/** A table read from `/proc` when first asked, once; `scandir` is the (dev, ino) its s6-svscan works in. */
export function processTable(scandir?: readonly [number, number]): ProcessTable {
  let cwds: ProcessCwds | undefined;
  let seesSupervisors: boolean | undefined;
  const trusted = new Map<number, boolean | undefined>();
  const isTrusted = (pid: number): boolean | undefined => {
    if (!trusted.has(pid)) trusted.set(pid, runsAsTrusted(pid));
    return trusted.get(pid);
  };
  const workersIn = (dev: number, ino: number): readonly number[] => {
    cwds ??= readCwds(isTrusted);
    return cwds.byDir.get(`${dev}:${ino}`) ?? [];
  };
  return {
    isCwdOfTrusted(dev: number, ino: number): boolean | undefined {
      const seen = workersIn(dev, ino).map(isTrusted);
      if (seen.includes(true)) return true;
      seesSupervisors ??=
        scandir !== undefined && workersIn(...scandir).some((pid) => isTrusted(pid) === true && commOf(pid) === 's6-svscan');
      return !seesSupervisors || cwds?.unknown === true || seen.includes(undefined) ? undefined : false;
    },
  };
}

/** Every process's working directory, by `dev:ino`, and whether a possible supervisor could not be seen. */
interface ProcessCwds {
  readonly byDir: ReadonlyMap<string, readonly number[]>;
  readonly unknown: boolean;
}

/**
 * The working directories of every process (a listing of /proc by pid skips no live process). One
 * that is gone meanwhile works nowhere. One whose cwd this user may not read (another user's, not
 * root; or one root may not trace, without CAP_SYS_PTRACE) might be the supervisor only if it says
 * it is one and runs as root or as us: then the reading is unknown for a directory no visible
 * process is in (a hermes process named s6-supervise must not make every answer unknown).
 */
function readCwds(isTrusted: (pid: number) => boolean | undefined): ProcessCwds {
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
    const pid = Number(name);
    let st: fs.Stats;
    try {
      st = fs.statSync(`/proc/${name}/cwd`);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ESRCH' && mayBeSupervisor(name) && isTrusted(pid) !== false) unknown = true;
      continue;
    }
    const key = `${st.dev}:${st.ino}`;
    const pids = byDir.get(key);
    if (pids === undefined) byDir.set(key, [pid]);
    else pids.push(pid);
  }
  return { byDir, unknown };
}

/** Whether process `pid` is named s6-supervise, or cannot be told from one. */
function mayBeSupervisor(pid: string): boolean {
  const comm = commOf(Number(pid));
  return comm === undefined || comm === 's6-supervise';
}

/** The name of process `pid` (`/proc/<pid>/comm`), undefined when it cannot be read. */
function commOf(pid: number): string | undefined {
  const read = readFilePath(`/proc/${pid}/comm`, 64);
  return read.kind === 'file' ? Buffer.from(read.bytes).toString('latin1').trim() : undefined;
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

/** Whether a process of that pid exists (one of another user's answers EPERM). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
