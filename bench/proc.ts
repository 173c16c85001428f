// /proc sampling of long-running processes (the watch and soak scenarios).

import fs from 'node:fs';
import { CLK_TCK } from './measure.js';

// ---------------------------------------------------------------------------------------------
// /proc sampling (long-running processes)

/** utime, stime, cutime, cstime (ticks) and ppid of a pid, or null if gone. */
/** The /proc/PID/stat fields the bench reads. */
export interface ProcStat {
  readonly state: string;
  readonly ppid: number;
  readonly utime: number;
  readonly stime: number;
  readonly cutime: number;
  readonly cstime: number;
}

export function procStat(pid: number | string): ProcStat | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] = field 3 (state); field k is f[k - 3]
    return {
      state: f[0] ?? '?',
      ppid: Number(f[1]),
      utime: Number(f[11]),
      stime: Number(f[12]),
      cutime: Number(f[13]),
      cstime: Number(f[14]),
    };
  } catch {
    return null;
  }
}

/** Live descendants of pid (by ppid links in /proc). */
export function descendants(pid: number | string): number[] {
  const kids = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(e);
    if (!st) continue;
    const list = kids.get(st.ppid) ?? [];
    list.push(Number(e));
    kids.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [Number(pid)];
  for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
    for (const c of kids.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

/**
 * CPU ticks consumed so far by pid and its whole tree: its own utime+stime, the cutime+cstime
 * of children it already reaped, and utime+stime of live descendants. Returns seconds.
 */
export function treeCpuSeconds(pid: number | string): number | null {
  const st = procStat(pid);
  if (!st) return null;
  let ticks = st.utime + st.stime + st.cutime + st.cstime;
  for (const d of descendants(pid)) {
    const s = procStat(d);
    if (s) ticks += s.utime + s.stime;
  }
  return ticks / CLK_TCK;
}

/** VmRSS of a pid in KiB (null if gone). */
export function rssKb(pid: number | string | undefined): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
