// strace passes of the benchmark: the syscall summary (`strace -f -c`) and every successful
// mutating call attributed by path (`strace -f -y -e trace=...`). See bench/README.md "Syscalls".

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { type RunOptions, runPlain, scratchFile, straceSeccomp } from './measure.js';
import { isSlotPath } from './snapshot.js';

// ---------------------------------------------------------------------------------------------
// strace: syscall summary (-c)

/** Run under `strace -f -c -o FILE` and parse the summary table into { calls, errors, total }. */
export async function straceSummary(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<StraceSummary & { code: number | null; stderr: string }> {
  const out = scratchFile(opts.scratchDir, 'strace-c');
  const r = await runPlain('strace', ['-f', '-c', '-o', out, '--', cmd, ...args], opts);
  let text = '';
  try {
    text = fs.readFileSync(out, 'utf8');
  } catch {
    /* none */
  }
  fs.rmSync(out, { force: true });
  return { ...parseStraceSummary(text), code: r.code, stderr: r.stderr };
}

/**
 * Parse strace -c output:
 *   % time     seconds  usecs/call     calls    errors syscall
 *   ------ ----------- ----------- --------- --------- ----------------
 *    25.00    0.000010           1        10         2 write
 *   ------ ----------- ----------- --------- --------- ----------------
 *   100.00    0.000040           1        40         2 total
 * The errors column is blank when zero.
 */
/** Parsed `strace -c` totals. */
export interface StraceSummary {
  readonly calls: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly total: number;
  readonly totalErrors: number;
}

export function parseStraceSummary(text: string): StraceSummary {
  const calls: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let total = 0;
  let totalErrors = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^[\d.]+$/.test(f[0] ?? '')) continue;
    const name = f.at(-1) ?? '';
    // columns: pct seconds usecs/call calls [errors] name ; usecs/call may be missing in "total"
    const nums = f.slice(0, -1).map(Number);
    let c: number;
    let e = 0;
    if (nums.length === 5) {
      c = nums[3] ?? 0;
      e = nums[4] ?? 0;
    } else if (nums.length === 4) {
      c = nums[3] ?? 0;
    } else {
      c = nums[2] ?? 0;
    }
    if (name === 'total') {
      total = c;
      totalErrors = e;
      continue;
    }
    calls[name] = c;
    if (e) errors[name] = e;
  }
  if (!total) total = Object.values(calls).reduce((a, b) => a + b, 0);
  return { calls, errors, total, totalErrors };
}

// ---------------------------------------------------------------------------------------------
// strace: mutating calls by path

/** Syscalls traced for the "writes" count (x86_64 names known to strace 6.x). */
export const MUTATING_TRACE = [
  'open',
  'openat',
  'openat2',
  'creat',
  'write',
  'writev',
  'pwrite64',
  'pwritev',
  'pwritev2',
  'truncate',
  'ftruncate',
  'rename',
  'renameat',
  'renameat2',
  'mkdir',
  'mkdirat',
  'rmdir',
  'unlink',
  'unlinkat',
  'chmod',
  'fchmod',
  'fchmodat',
  'chown',
  'fchown',
  'fchownat',
  'lchown',
  'utimensat',
  'utimes',
  'utime',
  'futimesat',
  'symlink',
  'symlinkat',
  'link',
  'linkat',
  'mknod',
  'mknodat',
  'copy_file_range',
  'sendfile',
  'setxattr',
  'lsetxattr',
  'fsetxattr',
  'execve',
  'execveat',
  'chdir',
  'fchdir',
  'clone',
  'clone3',
  'fork',
  'vfork',
];

// Which arguments name the object a call mutates: [dirfdIndex|null, pathIndex] pairs, or fd indexes.
interface CallSpec {
  readonly paths?: readonly (readonly [number | null, number])[];
  readonly fds?: readonly number[];
  readonly flags?: number;
}
const SPEC: Readonly<Record<string, CallSpec>> = {
  open: { paths: [[null, 0]], flags: 1 },
  creat: { paths: [[null, 0]] },
  openat: { paths: [[0, 1]], flags: 2 },
  openat2: { paths: [[0, 1]], flags: 2 },
  write: { fds: [0] },
  writev: { fds: [0] },
  pwrite64: { fds: [0] },
  pwritev: { fds: [0] },
  pwritev2: { fds: [0] },
  ftruncate: { fds: [0] },
  fchmod: { fds: [0] },
  fchown: { fds: [0] },
  fsetxattr: { fds: [0] },
  copy_file_range: { fds: [2] },
  sendfile: { fds: [0] },
  truncate: { paths: [[null, 0]] },
  chmod: { paths: [[null, 0]] },
  chown: { paths: [[null, 0]] },
  lchown: { paths: [[null, 0]] },
  mkdir: { paths: [[null, 0]] },
  rmdir: { paths: [[null, 0]] },
  unlink: { paths: [[null, 0]] },
  mknod: { paths: [[null, 0]] },
  utimes: { paths: [[null, 0]] },
  utime: { paths: [[null, 0]] },
  setxattr: { paths: [[null, 0]] },
  lsetxattr: { paths: [[null, 0]] },
  rename: {
    paths: [
      [null, 0],
      [null, 1],
    ],
  },
  link: { paths: [[null, 1]] },
  symlink: { paths: [[null, 1]] },
  mkdirat: { paths: [[0, 1]] },
  unlinkat: { paths: [[0, 1]] },
  fchmodat: { paths: [[0, 1]] },
  fchownat: { paths: [[0, 1]] },
  mknodat: { paths: [[0, 1]] },
  futimesat: { paths: [[0, 1]] },
  utimensat: { paths: [[0, 1]] },
  renameat: {
    paths: [
      [0, 1],
      [2, 3],
    ],
  },
  renameat2: {
    paths: [
      [0, 1],
      [2, 3],
    ],
  },
  linkat: { paths: [[2, 3]] },
  symlinkat: { paths: [[1, 2]] },
};

/** Split a strace argument list at top-level commas (respecting quotes, [], {}, <>). */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let q = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (q) {
      cur += c;
      if (c === '\\') {
        cur += s[++i] ?? '';
      } else if (c === '"') q = false;
      continue;
    }
    if (c === '"') {
      q = true;
      cur += c;
      continue;
    }
    if (c === '[' || c === '{' || c === '<' || c === '(') depth++;
    else if (c === ']' || c === '}' || c === '>' || c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function unquote(tok: string): string | null {
  const m = /^"((?:[^"\\]|\\.)*)"/.exec(tok);
  if (!m) return null;
  return (m[1] ?? '').replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e.startsWith('x')) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: '\n', t: '\t', r: '\r', v: '\v', f: '\f' } as Record<string, string>)[e] ?? e;
  });
}
/** "5</a/b>" or "AT_FDCWD</cwd>" -> "/a/b" */
function fdPath(tok: string | undefined): string | null {
  const m = /<([^>]*)>/.exec(tok ?? '');
  return m ? (m[1] ?? null) : null;
}

/**
 * Parse an `strace -f -y -o FILE -e trace=MUTATING_TRACE` log.
 * roots: { scandir, hermesHome, cwd } (absolute). Returns counts of *successful* mutating calls
 * classified by where their target lives:
 *   slot        see isSlotPath(): inside any top-level dir but .s6-svscan, or a gateway-* entry
 *   scandirTop  everything else in the scandir: .s6-svscan/*, top-level files (lock), the dir itself
 *   hermesHome  under HERMES_HOME
 * plus failed attempts, per-syscall counts, distinct slots touched (gateway-* names; writes in a
 * staging dir count as slot writes but name no slot until the rename into place), executed programs (basename -> count, successful
 * execve only), FIFOs created (mknod* with S_IFIFO), write()s to .s6-svscan/control (commands
 * sent to s6-svscan, by s6-svscanctl or directly) and example lines. Paths are resolved through
 * the tracked cwd and fd table of each task (see below); `unresolved` counts /proc/self/fd/N
 * references whose fd was never seen.
 */
/** The directories a mutation log is classified against (absolute paths). */
export interface Roots {
  readonly scandir: string;
  readonly hermesHome?: string;
  readonly cwd?: string;
}

type Where = 'slot' | 'scandirTop' | 'hermesHome';

/** Counts of successful mutating calls by where they landed (see parseMutationLog). */
export interface MutationCounts {
  slot: number;
  scandirTop: number;
  hermesHome: number;
  failedInScandir: number;
  unresolved: number;
  readonly byCall: Record<Where, Record<string, number>>;
  slotsTouched: number;
  readonly execs: Record<string, number>;
  fifoCreates: number;
  controlWrites: number;
  readonly examples: string[];
  lines: number;
}

interface TaskView {
  fs: { cwd: string };
  files: Map<string, string>;
}

export async function parseMutationLog(file: string, roots: Roots): Promise<MutationCounts> {
  const scandir = roots.scandir.replace(/\/+$/, '');
  const hh = roots.hermesHome?.replace(/\/+$/, '');
  const controlPath = `${scandir}/.s6-svscan/control`;
  const res: MutationCounts = {
    slot: 0,
    scandirTop: 0,
    hermesHome: 0,
    failedInScandir: 0,
    unresolved: 0,
    byCall: { slot: {}, scandirTop: {}, hermesHome: {} },
    slotsTouched: 0,
    execs: {},
    fifoCreates: 0,
    controlWrites: 0,
    examples: [],
    lines: 0,
  };
  const touched = new Set<string>();
  const pending = new Map<string, string>();

  // Per-task view of the cwd and the fd table, so that relative paths, chdir("/proc/self/fd/N"),
  // "/proc/self/fd/N/x" and "/proc/PID/fd/N/x" resolve to real paths. Tasks created by clone*
  // share (CLONE_FS / CLONE_FILES, i.e. threads) or copy (fork) their parent's. Learned from
  // every `N</path>` / `AT_FDCWD</path>` annotation that `strace -y` prints.
  const tasks = new Map<string, TaskView>();
  const task = (tid: string): TaskView => {
    let t = tasks.get(tid);
    if (!t) {
      t = { fs: { cwd: roots.cwd ?? '/' }, files: new Map() };
      tasks.set(tid, t);
    }
    return t;
  };
  const clean = (p: string): string => p.replace(/ \(deleted\)$/, '');
  const learn = (tid: string, text: string): void => {
    const t = task(tid);
    for (const m of text.matchAll(/(AT_FDCWD|\b\d+)<(\/[^>]*)>/g)) {
      const [, fd = '', target = ''] = m;
      if (fd === 'AT_FDCWD') t.fs.cwd = clean(target);
      else t.files.set(fd, clean(target));
    }
  };
  const resolve = (tid: string, raw: string, base: string | undefined): string => {
    let m = /^\/(?:proc\/(self|thread-self|\d+)|dev)\/fd\/(\d+)(\/.*)?$/.exec(raw);
    if (m) {
      const owner = m[1] && /^\d+$/.test(m[1]) ? m[1] : tid;
      const dir = task(owner).files.get(m[2] ?? '');
      if (!dir) {
        res.unresolved++;
        return raw;
      }
      return path.normalize(dir + (m[3] ?? ''));
    }
    m = /^\/proc\/(self|\d+)\/cwd(\/.*)?$/.exec(raw);
    if (m) return path.normalize(task(m[1] === 'self' ? tid : (m[1] ?? tid)).fs.cwd + (m[2] ?? ''));
    if (raw.startsWith('/')) return path.normalize(raw);
    return path.normalize(path.join(base ?? task(tid).fs.cwd, raw));
  };

  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    res.lines++;
    const m = /^(\d+)\s+(.*)$/.exec(line);
    let body = m ? (m[2] ?? '') : line;
    const tid = m ? (m[1] ?? '0') : '0';
    if (body.startsWith('+++') || body.startsWith('---')) continue;
    if (body.endsWith('<unfinished ...>')) {
      pending.set(tid, body.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const rm = /^<\.\.\. (\w+) resumed>(.*)$/.exec(body);
    if (rm) {
      body = (pending.get(tid) ?? `${rm[1]}(`) + rm[2];
      pending.delete(tid);
    }
    const cm = /^(\w+)\((.*)\)\s+=\s+(-?\d+|\?|0x[0-9a-f]+)(<[^>]*>)?(.*)$/.exec(body);
    if (!cm) continue;
    const [, name = '', argText = '', retText = '', retAnn] = cm;
    const ok = retText !== '-1' && retText !== '?';
    const args = splitArgs(argText);

    if (/^(clone3?|fork|vfork)$/.test(name)) {
      if (ok && /^\d+$/.test(retText) && retText !== '0') {
        const parent = task(tid);
        const child = task(retText);
        child.fs = /CLONE_FS/.test(argText) ? parent.fs : { cwd: parent.fs.cwd };
        if (/CLONE_FILES/.test(argText)) {
          for (const [k, v] of child.files) parent.files.set(k, v);
          child.files = parent.files;
        } else child.files = new Map([...parent.files, ...child.files]);
      }
      continue;
    }
    // the object a chdir/fchdir/open names must be resolved with the state *before* this call
    if (name === 'chdir' || name === 'fchdir') {
      if (ok) {
        const t = task(tid);
        t.fs.cwd = name === 'chdir' ? resolve(tid, unquote(args[0] ?? '') ?? '.', undefined) : (fdPath(args[0]) ?? t.fs.cwd);
      }
      continue;
    }
    if (name === 'execve' || name === 'execveat') {
      if (ok) {
        const p = unquote(args[name === 'execve' ? 0 : 1] ?? '') ?? '';
        const b = path.basename(p);
        res.execs[b] = (res.execs[b] ?? 0) + 1;
      }
      continue;
    }
    const spec = SPEC[name];
    if (!spec) {
      learn(tid, body);
      continue;
    }
    // an open for writing changes nothing by itself (what it writes is a write*): only O_CREAT/O_TRUNC count
    const readOnly = spec.flags !== undefined && !/O_CREAT|O_TRUNC/.test(args[spec.flags] ?? '');
    const targets: string[] = [];
    if (!readOnly) {
      if (spec.fds)
        for (const i of spec.fds) {
          const p = fdPath(args[i]);
          if (p) targets.push(clean(p));
        }
      if (spec.paths) {
        for (const [di, pi] of spec.paths) {
          const raw = unquote(args[pi] ?? '');
          const dir = di === null ? undefined : (fdPath(args[di]) ?? undefined);
          if (raw === null) {
            if (dir) targets.push(clean(dir));
            continue;
          } // NULL path: the dirfd itself
          targets.push(resolve(tid, raw, raw.startsWith('/') ? undefined : dir && clean(dir)));
        }
        if (ok && retAnn && spec.flags !== undefined) {
          targets.length = 0;
          targets.push(clean(retAnn.slice(1, -1)));
        }
        if (ok && retAnn && name === 'creat') {
          targets.length = 0;
          targets.push(clean(retAnn.slice(1, -1)));
        }
      }
    }
    learn(tid, body); // after resolving: a returned fd may reuse a number used in the arguments
    if (readOnly) continue;
    let cls: Where | null = null;
    let slotKey: string | null = null;
    for (const t of targets) {
      if (t === scandir || t.startsWith(scandir + '/')) {
        const rel = t === scandir ? '' : t.slice(scandir.length + 1);
        if (isSlotPath(rel)) {
          cls = 'slot';
          const segs = rel.split('/');
          slotKey = segs.find((x) => /^gateway-/.test(x)) ?? null; // staging writes are not a slot yet
        } else cls = cls ?? 'scandirTop';
      } else if (hh && (t === hh || t.startsWith(hh + '/'))) cls = cls ?? 'hermesHome';
    }
    if (!cls) continue;
    if (!ok) {
      if (cls !== 'hermesHome') res.failedInScandir++;
      continue;
    }
    res[cls]++;
    res.byCall[cls][name] = (res.byCall[cls][name] ?? 0) + 1;
    if (cls === 'slot' && slotKey) touched.add(slotKey);
    if (spec.fds && /write/.test(name) && targets[0] === controlPath) res.controlWrites++;
    if ((name === 'mknod' || name === 'mknodat') && /S_IFIFO/.test(argText)) res.fifoCreates++;
    if (res.examples.length < 12 && cls !== 'hermesHome') res.examples.push(`${tid} ${body}`.slice(0, 220));
  }
  res.slotsTouched = touched.size;
  return res;
}

/** Run under strace with the mutating-call filter and parse the log (see parseMutationLog). */
export async function straceMutations(
  cmd: string,
  args: readonly string[],
  roots: Roots,
  opts: RunOptions = {},
): Promise<Partial<MutationCounts> & { error?: string; code: number | null; stderr: string }> {
  const out = scratchFile(opts.scratchDir, 'strace-w');
  const r = await runPlain(
    'strace',
    [
      '-f',
      ...(straceSeccomp ? ['--seccomp-bpf'] : []),
      '-y',
      '-s',
      '32',
      '-e',
      `trace=${MUTATING_TRACE.join(',')}`,
      '-o',
      out,
      '--',
      cmd,
      ...args,
    ],
    { ...opts, cwd: roots.cwd ?? opts.cwd },
  );
  let res: Partial<MutationCounts> & { error?: string };
  try {
    res = await parseMutationLog(out, roots);
  } catch (e) {
    res = { error: String(e) };
  }
  fs.rmSync(out, { force: true });
  return { ...res, code: r.code, stderr: r.stderr.slice(-2000) };
}
