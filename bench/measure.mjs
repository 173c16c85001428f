// Measurement primitives for the benchmark suite: whole-process timing, syscall counting,
// scandir snapshots and /proc sampling. Node 20 built-ins only.
//
// How a run is measured (runOnce):
//   * wall time: process.hrtime.bigint() taken just before spawn() and in the child's 'exit'
//     event. It includes the fork/exec of the wrapper below (well under 1 ms), which every
//     measured command (tool and floors alike) pays equally.
//   * user+sys CPU and peak RSS: the child is run under GNU time
//     (`/usr/bin/time -f '%e %U %S %M' -o FILE -- cmd ...`). GNU time fork()s, exec()s the command
//     and wait4()s for it, so the figures are the kernel's rusage of the command *and every
//     descendant it waited for* (CPU is summed; %M is ru_maxrss = the peak RSS of the largest
//     single process in the tree, in KiB). CPU resolution is 10 ms (kernel tick accounting).
//   * fallback when /usr/bin/time is absent: `sh -c '"$@"; ...; cat /proc/$$/stat'` and read the
//     *shell's own* stat line (cutime+cstime = CPU of its waited-for children, which is exactly
//     the command). Peak RSS is then unknown (null) – there is no portable way to get a
//     child's ru_maxrss from Node without a wrapper.
//   Reading /proc/self/... from inside the wrapper would be wrong (that is the `cat` process),
//   and process.resourceUsage() only covers the Node process itself, not its children.
//
// Every child is spawned detached (own process group) and registered in `children`, so
// killAllChildren() can kill whole groups on exit / SIGINT.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const GNU_TIME = '/usr/bin/time';
export const hasGnuTime = process.env.BENCH_NO_GNU_TIME !== '1' && (() => {
  try {
    const r = spawnSync(GNU_TIME, ['-f', '%e', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' });
    return r.status === 0;
  } catch { return false; }
})();
export const hasStrace = (() => {
  try { return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0; } catch { return false; }
})();
/** strace ≥ 5.3 can stop the tracee only on traced syscalls (seccomp-bpf): ~2× faster with -e. */
export const straceSeccomp = hasStrace && (() => {
  try { return spawnSync('strace', ['-f', '--seccomp-bpf', '-e', 'trace=write', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' }).status === 0; } catch { return false; }
})();
export const CLK_TCK = (() => {
  try { return Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100; } catch { return 100; }
})();

// ---------------------------------------------------------------------------------------------
// child registry / cleanup

/** Live children: pid -> { child, label }. Every child is a process-group leader. */
export const children = new Map();

export function track(child, label) {
  if (child.pid) {
    children.set(child.pid, { child, label });
    child.once('exit', () => children.delete(child.pid));
  }
  return child;
}

/** Send `sig` to the process group of every tracked child (then to the child itself). */
export function killAllChildren(sig = 'SIGKILL') {
  for (const [pid] of children) {
    try { process.kill(-pid, sig); } catch { try { process.kill(pid, sig); } catch { /* gone */ } }
  }
}

export function killGroup(child, sig = 'SIGTERM') {
  if (!child?.pid) return;
  try { process.kill(-child.pid, sig); } catch { try { process.kill(child.pid, sig); } catch { /* gone */ } }
}

/** Resolve when the child exits (or at once if it already has); returns { code, signal }. */
export function waitExit(child, timeoutMs = 0) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    let timer = null;
    const done = (code, signal) => { if (timer) clearTimeout(timer); resolve({ code, signal }); };
    child.once('exit', done);
    if (timeoutMs > 0) timer = setTimeout(() => { child.off('exit', done); resolve({ code: null, signal: null, timedOut: true }); }, timeoutMs);
  });
}

/** Ask a child group to stop: SIGTERM, wait, then SIGKILL. */
export async function stopChild(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return { code: child?.exitCode ?? null, signal: child?.signalCode ?? null };
  killGroup(child, 'SIGTERM');
  const r = await waitExit(child, graceMs);
  if (r.timedOut) { killGroup(child, 'SIGKILL'); return { ...(await waitExit(child, graceMs)), killed: true }; }
  return r;
}

// ---------------------------------------------------------------------------------------------
// stats

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs, p) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * v.length));
  return v[Math.min(rank, v.length) - 1];
}

export const max = (xs) => { const v = xs.filter((x) => Number.isFinite(x)); return v.length ? Math.max(...v) : null; };

// ---------------------------------------------------------------------------------------------
// running one command

class Tail {
  constructor(limit = 4096) { this.limit = limit; this.buf = ''; }
  push(chunk) { this.buf += chunk.toString(); if (this.buf.length > this.limit * 2) this.buf = this.buf.slice(-this.limit); }
  toString() { return this.buf.slice(-this.limit); }
}

let tmpSeq = 0;
function scratchFile(dir, stem) {
  return path.join(dir ?? os.tmpdir(), `.bench-${process.pid}-${stem}-${++tmpSeq}`);
}

/**
 * Run `cmd args` once as a child and measure it.
 * opts: { cwd, env, timeoutMs, scratchDir, stdoutFile }.
 * Returns { wallMs, userMs, sysMs, cpuMs, maxRssKb, code, signal, timedOut, stdout, stderr }.
 * `code` is the command's exit status (GNU time passes it through).
 */
export async function runOnce(cmd, args, opts = {}) {
  const scratch = opts.scratchDir ?? os.tmpdir();
  const timeFile = scratchFile(scratch, 'time');
  let argv0; let argv;
  if (hasGnuTime) {
    argv0 = GNU_TIME;
    argv = ['-f', '%e %U %S %M', '-o', timeFile, '--', cmd, ...args];
  } else {
    argv0 = '/bin/sh';
    argv = ['-c', '"$@"; rc=$?; cat /proc/$$/stat > "$0"; exit $rc', timeFile, cmd, ...args];
  }
  const out = new Tail(); const err = new Tail();
  const t0 = process.hrtime.bigint();
  const child = track(spawn(argv0, argv, {
    cwd: opts.cwd, env: opts.env ?? process.env, detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  }), `${path.basename(cmd)} ${args[0] ?? ''}`);
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => err.push(c));
  const closed = Promise.all([new Promise((r) => child.stdout.once('close', r)), new Promise((r) => child.stderr.once('close', r))]);
  let timedOut = false;
  const timer = opts.timeoutMs ? setTimeout(() => { timedOut = true; killGroup(child, 'SIGKILL'); }, opts.timeoutMs) : null;
  const { code, signal } = await new Promise((resolve) => child.once('exit', (c, s) => resolve({ code: c, signal: s })));
  const t1 = process.hrtime.bigint();
  if (timer) clearTimeout(timer);
  // let the pipes drain (the tool's own children may hold them a moment longer)
  let drainTimer;
  await Promise.race([closed, new Promise((r) => { drainTimer = setTimeout(r, 2000); })]);
  clearTimeout(drainTimer);
  const res = { wallMs: Number(t1 - t0) / 1e6, userMs: null, sysMs: null, cpuMs: null, maxRssKb: null, code, signal, timedOut,
    stdout: out.toString(), stderr: err.toString() };
  try {
    const text = fs.readFileSync(timeFile, 'utf8');
    if (hasGnuTime) {
      // possible first line: "Command exited with non-zero status 2"; the numbers are on the last line
      const last = text.trim().split('\n').pop().trim().split(/\s+/).map(Number);
      if (last.length === 4 && last.every(Number.isFinite)) {
        res.userMs = last[1] * 1000; res.sysMs = last[2] * 1000; res.cpuMs = res.userMs + res.sysMs; res.maxRssKb = last[3];
      }
    } else {
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // fields after "(comm) ": index 0 = state (field 3); cutime = field 16, cstime = field 17
      const cu = Number(f[16 - 3]); const cs = Number(f[17 - 3]);
      res.userMs = (cu / CLK_TCK) * 1000; res.sysMs = (cs / CLK_TCK) * 1000; res.cpuMs = res.userMs + res.sysMs;
    }
  } catch { /* killed before the wrapper wrote it */ }
  fs.rmSync(timeFile, { force: true });
  return res;
}

/**
 * Run a command `warmup + runs` times; `setup(i)` (untimed, may be async) runs before each,
 * `check(i, result)` after. Warm-up results are kept separately and not in the medians.
 * Returns { runs, warmup, wallMs, cpuMs, userMs, sysMs, maxRssKb, samples, warmupSamples, codes }.
 */
export async function measure({ cmd, args, runs = 5, warmup = 1, setup, check, ...opts }) {
  const samples = []; const warmupSamples = [];
  for (let i = 0; i < warmup + runs; i++) {
    if (setup) await setup(i);
    const r = await runOnce(cmd, typeof args === 'function' ? args(i) : args, opts);
    if (check) await check(i, r);
    (i < warmup ? warmupSamples : samples).push(r);
  }
  const pick = (k) => samples.map((s) => s[k]);
  return {
    runs, warmup,
    wallMs: median(pick('wallMs')),
    cpuMs: median(pick('cpuMs')),
    userMs: median(pick('userMs')),
    sysMs: median(pick('sysMs')),
    maxRssKb: max(pick('maxRssKb')),
    medianRssKb: median(pick('maxRssKb')),
    codes: [...new Set([...warmupSamples, ...samples].map((s) => s.code))],
    samples: samples.map(slim), warmupSamples: warmupSamples.map(slim),
    lastStderr: samples.at(-1)?.stderr ?? warmupSamples.at(-1)?.stderr ?? '',
  };
}
const slim = (s) => ({ wallMs: round(s.wallMs, 2), cpuMs: s.cpuMs, maxRssKb: s.maxRssKb, code: s.code, signal: s.signal });
export const round = (x, d = 1) => (x == null || !Number.isFinite(x) ? x : Math.round(x * 10 ** d) / 10 ** d);

// ---------------------------------------------------------------------------------------------
// strace: syscall summary (-c)

/** Run under `strace -f -c -o FILE` and parse the summary table into { calls, errors, total }. */
export async function straceSummary(cmd, args, opts = {}) {
  const out = scratchFile(opts.scratchDir, 'strace-c');
  const r = await runPlain('strace', ['-f', '-c', '-o', out, '--', cmd, ...args], opts);
  let text = '';
  try { text = fs.readFileSync(out, 'utf8'); } catch { /* none */ }
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
export function parseStraceSummary(text) {
  const calls = {}; const errors = {}; let total = 0; let totalErrors = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^[\d.]+$/.test(f[0])) continue;
    const name = f.at(-1);
    // columns: pct seconds usecs/call calls [errors] name ; usecs/call may be missing in "total"
    const nums = f.slice(0, -1).map(Number);
    let c; let e = 0;
    if (nums.length === 5) { c = nums[3]; e = nums[4]; } else if (nums.length === 4) { c = nums[3]; } else { c = nums[2]; }
    if (name === 'total') { total = c; totalErrors = e; continue; }
    calls[name] = c; if (e) errors[name] = e;
  }
  if (!total) total = Object.values(calls).reduce((a, b) => a + b, 0);
  return { calls, errors, total, totalErrors };
}

/** Run a command without GNU time (used for strace wrappers); returns { code, stderr }. */
export async function runPlain(cmd, args, opts = {}) {
  const err = new Tail(8192); const out = new Tail(8192);
  const child = track(spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }), cmd);
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => err.push(c));
  const timer = opts.timeoutMs ? setTimeout(() => killGroup(child, 'SIGKILL'), opts.timeoutMs) : null;
  const { code, signal } = await new Promise((resolve) => child.once('exit', (c, s) => resolve({ code: c, signal: s })));
  if (timer) clearTimeout(timer);
  return { code, signal, stdout: out.toString(), stderr: err.toString() };
}

// ---------------------------------------------------------------------------------------------
// strace: mutating calls by path

/** Syscalls traced for the "writes" count (x86_64 names known to strace 6.x). */
export const MUTATING_TRACE = [
  'open', 'openat', 'openat2', 'creat', 'write', 'writev', 'pwrite64', 'pwritev', 'pwritev2',
  'truncate', 'ftruncate', 'rename', 'renameat', 'renameat2', 'mkdir', 'mkdirat', 'rmdir',
  'unlink', 'unlinkat', 'chmod', 'fchmod', 'fchmodat', 'chown', 'fchown', 'fchownat', 'lchown',
  'utimensat', 'utimes', 'utime', 'futimesat', 'symlink', 'symlinkat', 'link', 'linkat',
  'mknod', 'mknodat', 'copy_file_range', 'sendfile', 'setxattr', 'lsetxattr', 'fsetxattr',
  'execve', 'execveat', 'chdir', 'fchdir', 'clone', 'clone3', 'fork', 'vfork',
];

// Which arguments name the object a call mutates: [dirfdIndex|null, pathIndex] pairs, or fd indexes.
const SPEC = {
  open: { paths: [[null, 0]], flags: 1 }, creat: { paths: [[null, 0]] },
  openat: { paths: [[0, 1]], flags: 2 }, openat2: { paths: [[0, 1]], flags: 2 },
  write: { fds: [0] }, writev: { fds: [0] }, pwrite64: { fds: [0] }, pwritev: { fds: [0] }, pwritev2: { fds: [0] },
  ftruncate: { fds: [0] }, fchmod: { fds: [0] }, fchown: { fds: [0] }, fsetxattr: { fds: [0] },
  copy_file_range: { fds: [2] }, sendfile: { fds: [0] },
  truncate: { paths: [[null, 0]] }, chmod: { paths: [[null, 0]] }, chown: { paths: [[null, 0]] }, lchown: { paths: [[null, 0]] },
  mkdir: { paths: [[null, 0]] }, rmdir: { paths: [[null, 0]] }, unlink: { paths: [[null, 0]] }, mknod: { paths: [[null, 0]] },
  utimes: { paths: [[null, 0]] }, utime: { paths: [[null, 0]] }, setxattr: { paths: [[null, 0]] }, lsetxattr: { paths: [[null, 0]] },
  rename: { paths: [[null, 0], [null, 1]] }, link: { paths: [[null, 1]] }, symlink: { paths: [[null, 1]] },
  mkdirat: { paths: [[0, 1]] }, unlinkat: { paths: [[0, 1]] }, fchmodat: { paths: [[0, 1]] }, fchownat: { paths: [[0, 1]] },
  mknodat: { paths: [[0, 1]] }, futimesat: { paths: [[0, 1]] }, utimensat: { paths: [[0, 1]] },
  renameat: { paths: [[0, 1], [2, 3]] }, renameat2: { paths: [[0, 1], [2, 3]] }, linkat: { paths: [[2, 3]] }, symlinkat: { paths: [[1, 2]] },
};

/** Split a strace argument list at top-level commas (respecting quotes, [], {}, <>). */
export function splitArgs(s) {
  const out = []; let depth = 0; let q = false; let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) { cur += c; if (c === '\\') { cur += s[++i] ?? ''; } else if (c === '"') q = false; continue; }
    if (c === '"') { q = true; cur += c; continue; }
    if (c === '[' || c === '{' || c === '<' || c === '(') depth++;
    else if (c === ']' || c === '}' || c === '>' || c === ')') depth--;
    if (c === ',' && depth === 0) { out.push(cur.trim()); cur = ''; continue; }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function unquote(tok) {
  const m = /^"((?:[^"\\]|\\.)*)"/.exec(tok);
  if (!m) return null;
  return m[1].replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: '\n', t: '\t', r: '\r', v: '\v', f: '\f' })[e] ?? e;
  });
}
/** "5</a/b>" or "AT_FDCWD</cwd>" -> "/a/b" */
function fdPath(tok) {
  const m = /<([^>]*)>/.exec(tok ?? '');
  return m ? m[1] : null;
}

/**
 * Is a scandir-relative path part of a slot? Yes for anything inside a top-level directory other
 * than .s6-svscan (slots, and staging dirs that become slots), and for a top-level entry named
 * gateway-* itself (mkdir/rename of a slot). No for the scandir itself and for top-level files
 * such as a lock file.
 */
export function isSlotPath(rel) {
  if (!rel || rel === '.') return false;
  const i = rel.indexOf('/');
  const first = i < 0 ? rel : rel.slice(0, i);
  if (first === '.s6-svscan') return false;
  return i >= 0 || /^\.?gateway-/.test(first);
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
export async function parseMutationLog(file, roots) {
  const scandir = roots.scandir.replace(/\/+$/, '');
  const hh = roots.hermesHome?.replace(/\/+$/, '');
  const controlPath = `${scandir}/.s6-svscan/control`;
  const res = {
    slot: 0, scandirTop: 0, hermesHome: 0, failedInScandir: 0, unresolved: 0,
    byCall: { slot: {}, scandirTop: {}, hermesHome: {} },
    slotsTouched: 0, execs: {}, fifoCreates: 0, controlWrites: 0, examples: [], lines: 0,
  };
  const touched = new Set();
  const pending = new Map();

  // Per-task view of the cwd and the fd table, so that relative paths, chdir("/proc/self/fd/N"),
  // "/proc/self/fd/N/x" and "/proc/PID/fd/N/x" resolve to real paths. Tasks created by clone*
  // share (CLONE_FS / CLONE_FILES, i.e. threads) or copy (fork) their parent's. Learned from
  // every `N</path>` / `AT_FDCWD</path>` annotation that `strace -y` prints.
  const tasks = new Map();
  const task = (tid) => {
    let t = tasks.get(tid);
    if (!t) { t = { fs: { cwd: roots.cwd ?? '/' }, files: new Map() }; tasks.set(tid, t); }
    return t;
  };
  const clean = (p) => p.replace(/ \(deleted\)$/, '');
  const learn = (tid, text) => {
    const t = task(tid);
    for (const m of text.matchAll(/(AT_FDCWD|\b\d+)<(\/[^>]*)>/g)) {
      if (m[1] === 'AT_FDCWD') t.fs.cwd = clean(m[2]); else t.files.set(m[1], clean(m[2]));
    }
  };
  const resolve = (tid, raw, base) => {
    let m = /^\/(?:proc\/(self|thread-self|\d+)|dev)\/fd\/(\d+)(\/.*)?$/.exec(raw);
    if (m) {
      const owner = m[1] && /^\d+$/.test(m[1]) ? m[1] : tid;
      const dir = task(owner).files.get(m[2]);
      if (!dir) { res.unresolved++; return raw; }
      return path.normalize(dir + (m[3] ?? ''));
    }
    m = /^\/proc\/(self|\d+)\/cwd(\/.*)?$/.exec(raw);
    if (m) return path.normalize(task(m[1] === 'self' ? tid : m[1]).fs.cwd + (m[2] ?? ''));
    if (raw.startsWith('/')) return path.normalize(raw);
    return path.normalize(path.join(base ?? task(tid).fs.cwd, raw));
  };

  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    res.lines++;
    const m = /^(\d+)\s+(.*)$/.exec(line);
    let body = m ? m[2] : line; const tid = m ? m[1] : '0';
    if (body.startsWith('+++') || body.startsWith('---')) continue;
    if (body.endsWith('<unfinished ...>')) { pending.set(tid, body.slice(0, -'<unfinished ...>'.length)); continue; }
    const rm = /^<\.\.\. (\w+) resumed>(.*)$/.exec(body);
    if (rm) { body = (pending.get(tid) ?? `${rm[1]}(`) + rm[2]; pending.delete(tid); }
    const cm = /^(\w+)\((.*)\)\s+=\s+(-?\d+|\?|0x[0-9a-f]+)(<[^>]*>)?(.*)$/.exec(body);
    if (!cm) continue;
    const [, name, argText, retText, retAnn] = cm;
    const ok = retText !== '-1' && retText !== '?';
    const args = splitArgs(argText);

    if (/^(clone3?|fork|vfork)$/.test(name)) {
      if (ok && /^\d+$/.test(retText) && retText !== '0') {
        const parent = task(tid);
        const child = task(retText);
        child.fs = /CLONE_FS/.test(argText) ? parent.fs : { cwd: parent.fs.cwd };
        if (/CLONE_FILES/.test(argText)) { for (const [k, v] of child.files) parent.files.set(k, v); child.files = parent.files; }
        else child.files = new Map([...parent.files, ...child.files]);
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
      if (ok) { const p = unquote(args[name === 'execve' ? 0 : 1] ?? '') ?? ''; const b = path.basename(p); res.execs[b] = (res.execs[b] ?? 0) + 1; }
      continue;
    }
    const spec = SPEC[name];
    if (!spec) { learn(tid, body); continue; }
    const readOnly = spec.flags !== undefined && !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/.test(args[spec.flags] ?? '');
    const targets = [];
    if (!readOnly) {
      if (spec.fds) for (const i of spec.fds) { const p = fdPath(args[i]); if (p) targets.push(clean(p)); }
      if (spec.paths) {
        for (const [di, pi] of spec.paths) {
          const raw = unquote(args[pi] ?? '');
          const dir = di === null ? undefined : (fdPath(args[di]) ?? undefined);
          if (raw === null) { if (dir) targets.push(clean(dir)); continue; } // NULL path: the dirfd itself
          targets.push(resolve(tid, raw, raw.startsWith('/') ? undefined : (dir && clean(dir))));
        }
        if (ok && retAnn && spec.flags !== undefined) { targets.length = 0; targets.push(clean(retAnn.slice(1, -1))); }
        if (ok && retAnn && name === 'creat') { targets.length = 0; targets.push(clean(retAnn.slice(1, -1))); }
      }
    }
    learn(tid, body); // after resolving: a returned fd may reuse a number used in the arguments
    if (readOnly) continue;
    let cls = null; let slotKey = null;
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
    if (!ok) { if (cls !== 'hermesHome') res.failedInScandir++; continue; }
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
export async function straceMutations(cmd, args, roots, opts = {}) {
  const out = scratchFile(opts.scratchDir, 'strace-w');
  const r = await runPlain('strace', ['-f', ...(straceSeccomp ? ['--seccomp-bpf'] : []), '-y', '-s', '32', '-e', `trace=${MUTATING_TRACE.join(',')}`, '-o', out, '--', cmd, ...args],
    { ...opts, cwd: roots.cwd ?? opts.cwd });
  let res;
  try { res = await parseMutationLog(out, roots); } catch (e) { res = { error: String(e) }; }
  fs.rmSync(out, { force: true });
  return { ...res, code: r.code, stderr: r.stderr.slice(-2000) };
}

// ---------------------------------------------------------------------------------------------
// scandir snapshots

/**
 * Snapshot a tree: Map relPath -> { ino, mtimeNs, ctimeNs, size, mode }. lstat, no symlink
 * following. ctime is included: a chmod/chown to the same value still counts as a write.
 */
export function snapshotTree(root) {
  const snap = new Map();
  const walk = (rel) => {
    const abs = rel ? path.join(root, rel) : root;
    const st = fs.lstatSync(abs, { bigint: true });
    snap.set(rel || '.', { ino: st.ino, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, size: st.size, mode: st.mode });
    if (st.isDirectory()) for (const e of fs.readdirSync(abs)) walk(rel ? `${rel}/${e}` : e);
  };
  walk('');
  return snap;
}

/**
 * Compare two snapshots. Returns { added, removed, changed, inSlots, outsideSlots, examples }.
 * "In a slot" as defined by isSlotPath(); the scandir directory itself ('.') and top-level files
 * (e.g. a lock file) count as outside slots.
 */
export function diffSnapshots(a, b) {
  const added = []; const removed = []; const changed = [];
  for (const [k, v] of b) {
    const o = a.get(k);
    if (!o) added.push(k);
    else if (o.ino !== v.ino || o.mtimeNs !== v.mtimeNs || o.ctimeNs !== v.ctimeNs || o.size !== v.size || o.mode !== v.mode) changed.push(k);
  }
  for (const k of a.keys()) if (!b.has(k)) removed.push(k);
  const all = [...added.map((k) => `+ ${k}`), ...removed.map((k) => `- ${k}`), ...changed.map((k) => `~ ${k}`)];
  const isSlot = isSlotPath;
  const inSlots = [...added, ...removed, ...changed].filter(isSlot).length;
  return { added: added.length, removed: removed.length, changed: changed.length, inSlots,
    outsideSlots: added.length + removed.length + changed.length - inSlots, examples: all.slice(0, 12) };
}

// ---------------------------------------------------------------------------------------------
// /proc sampling (long-running processes)

/** utime, stime, cutime, cstime (ticks) and ppid of a pid, or null if gone. */
export function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] = field 3 (state); field k is f[k - 3]
    return { state: f[0], ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
  } catch { return null; }
}

/** Live descendants of pid (by ppid links in /proc). */
export function descendants(pid) {
  const kids = new Map();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(e);
    if (!st) continue;
    if (!kids.has(st.ppid)) kids.set(st.ppid, []);
    kids.get(st.ppid).push(Number(e));
  }
  const out = []; const stack = [Number(pid)];
  while (stack.length) { const p = stack.pop(); for (const c of kids.get(p) ?? []) { out.push(c); stack.push(c); } }
  return out;
}

/**
 * CPU ticks consumed so far by pid and its whole tree: its own utime+stime, the cutime+cstime
 * of children it already reaped, and utime+stime of live descendants. Returns seconds.
 */
export function treeCpuSeconds(pid) {
  const st = procStat(pid);
  if (!st) return null;
  let ticks = st.utime + st.stime + st.cutime + st.cstime;
  for (const d of descendants(pid)) { const s = procStat(d); if (s) ticks += s.utime + s.stime; }
  return ticks / CLK_TCK;
}

/** VmRSS of a pid in KiB (null if gone). */
export function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch { return null; }
}

export async function rmrf(p) { await fsp.rm(p, { recursive: true, force: true }); }
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
