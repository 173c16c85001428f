/**
 * Stand-ins for s6's control FIFOs on a temp tree: a real FIFO with this process as its reader, so
 * the tool's O_WRONLY|O_NONBLOCK open succeeds and the bytes it writes (the s6-svc / s6-svscanctl
 * command letters) can be read back. A supervisor stand-in also holds `supervise/lock` locked, as
 * s6-supervise does (a POSIX lock, taken by a perl child: Node has no fcntl). No s6 process is
 * involved.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

/** A FIFO at `dir/control` with an open, non-blocking reader. */
export interface ControlFifo {
  readonly path: string;
  /** Everything written to the FIFO since the last call, as text. */
  received(): string;
  /** Stops reading it (once; teardown does it otherwise). */
  close(): void;
}

/** Creates a FIFO (and its parent directories) with nobody reading it. */
export function makeFifo(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const made = spawnSync('mkfifo', ['-m', '0600', file], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`mkfifo ${file}: ${made.stderr}`);
}

/** Creates `dir` (if missing) and a FIFO `dir/control` read by this process; closed at teardown. */
export function listenOnControl(t: ExecutionContext, dir: string): ControlFifo {
  const file = path.join(dir, 'control');
  makeFifo(file);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  let open = true;
  const close = (): void => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  t.teardown(close);
  return {
    path: file,
    close,
    received(): string {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(256);
      for (;;) {
        let n: number;
        try {
          n = fs.readSync(fd, buf, 0, buf.length, null);
        } catch (err) {
          // EAGAIN: the FIFO is empty right now (writers exist or existed).
          if (err instanceof Error && 'code' in err && err.code === 'EAGAIN') break;
          throw err;
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks).toString('latin1');
    },
  };
}

/** A supervisor stand-in: its control FIFO, and `exit()`, which is the supervisor exiting. */
export interface SupervisorStandIn extends ControlFifo {
  /** Releases the lock and closes the FIFO, as an exiting s6-supervise does; returns once the lock is gone. */
  exit(): void;
}

/**
 * Creates `dir` (a `supervise/`) with a FIFO `control` this process reads and a file `lock` a child
 * process, working in the service directory, holds a POSIX write lock on, as s6-supervise does for
 * its whole life; returns once the lock is held. Both are released at teardown, if `exit()` was not
 * called. With `uid` (root only) the child runs as that user: a process of another user holding
 * such a lock, no supervisor. With `worksElsewhere` it works in `/`: only its lock tells it.
 */
export function superviseStandIn(
  t: ExecutionContext,
  dir: string,
  opts: { readonly uid?: number; readonly worksElsewhere?: boolean } = {},
): SupervisorStandIn {
  const fifo = listenOnControl(t, dir);
  const lock = path.join(dir, 'lock');
  fs.writeFileSync(lock, '');
  if (opts.uid !== undefined) fs.chownSync(lock, opts.uid, opts.uid);
  const script =
    'use Fcntl; open(my $f, ">>", $ARGV[0]) or die "open: $!"; my $fl = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0); ' +
    'fcntl($f, F_SETLK, $fl) or die "lock: $!"; sleep 100000';
  const as = opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid };
  // In the service directory, as s6-supervise works (the tool looks for that before deleting one).
  const cwd = opts.worksElsewhere === true ? '/' : path.dirname(dir);
  const child = spawn('perl', ['-e', script, lock], { cwd, stdio: ['ignore', 'ignore', 'inherit'], ...as });
  const pid = child.pid;
  if (pid === undefined) throw new Error('perl could not be started to hold a lock');
  const ino = String(fs.statSync(lock).ino);
  waitUntil(() => isLockedBy(ino, pid), `the lock on ${lock}`);
  let running = true;
  const exit = (): void => {
    if (!running) return;
    running = false;
    process.kill(pid, 'SIGKILL');
    waitUntil(() => !isLockedBy(ino, pid), `the release of ${lock}`);
    fifo.close();
  };
  t.teardown(exit);
  return { ...fifo, exit };
}

/**
 * An s6-svscan stand-in on the scandir `root`: `.s6-svscan/control` read by this process,
 * `.s6-svscan/lock` held locked by a child, and a process named `s6-svscan` working in the scandir,
 * as s6-svscan does (what shows the tool that it sees the supervisors' processes at all).
 */
export function svscanStandIn(t: ExecutionContext, root: string): SupervisorStandIn {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-svscan-'));
  fs.symlinkSync(fs.realpathSync('/bin/sleep'), path.join(bin, 's6-svscan'));
  const named = spawn(path.join(bin, 's6-svscan'), ['100000'], { cwd: root, stdio: 'ignore' });
  const pid = named.pid;
  if (pid === undefined) throw new Error('the s6-svscan stand-in could not be started');
  const ino = fs.statSync(root).ino;
  waitUntil(() => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 's6-svscan' && fs.statSync(`/proc/${pid}/cwd`).ino === ino;
    } catch {
      return false;
    }
  }, 'the s6-svscan stand-in');
  t.teardown(() => {
    named.kill('SIGKILL');
    fs.rmSync(bin, { recursive: true, force: true });
  });
  return superviseStandIn(t, path.join(root, '.s6-svscan'));
}

/**
 * A process working in `dir` (a `sleep`), as `uid` when given (root only), as an s6-supervise works
 * in its service directory, even one that holds no lock (an s6 that locks only while starting);
 * returns once /proc shows it there, and kills it at teardown (or at `exit()`).
 */
export function workerIn(t: ExecutionContext, dir: string, opts: { readonly uid?: number } = {}): { readonly pid: number; exit(): void } {
  const as = opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid };
  const child = spawn('sleep', ['100000'], { cwd: dir, stdio: 'ignore', ...as });
  const pid = child.pid;
  if (pid === undefined) throw new Error('sleep could not be started');
  const ino = fs.statSync(dir).ino;
  const there = (): boolean => {
    try {
      return fs.statSync(`/proc/${pid}/cwd`).ino === ino && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  };
  waitUntil(there, `a process working in ${dir}`);
  let running = true;
  const exit = (): void => {
    if (!running) return;
    running = false;
    process.kill(pid, 'SIGKILL');
    waitUntil(() => !there(), `the exit of the process working in ${dir}`);
  };
  t.teardown(exit);
  return { pid, exit };
}

/** Whether /proc/locks lists a POSIX lock of `pid` on inode `ino`. */
function isLockedBy(ino: string, pid: number): boolean {
  return fs
    .readFileSync('/proc/locks', 'latin1')
    .split('\n')
    .some((line) => new RegExp(`^\\d+:\\s+POSIX\\s+\\S+\\s+WRITE\\s+${pid}\\s+[0-9a-f]+:[0-9a-f]+:${ino}\\s`).test(line));
}

/** Polls `done` every 10 ms for up to 10 s (synchronously: the helpers' callers are). */
function waitUntil(done: () => boolean, what: string): void {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

/**
 * A detached process (its own group: stop it with killGroup) holding the FIFO `file` open for
 * reading, as anyone who may open it can, as `uid` when given (root only); resolves once it does.
 */
export async function holdOpen(file: string, opts: { readonly uid?: number } = {}): Promise<ChildProcess> {
  const script =
    "const fs=require('fs');fs.openSync(process.argv[1],fs.constants.O_RDONLY|fs.constants.O_NONBLOCK);process.stdout.write('held\\n');setInterval(()=>{},1e6);";
  const as = opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid };
  return started(spawn(process.execPath, ['-e', script, file], { detached: true, stdio: ['ignore', 'pipe', 'inherit'], ...as }));
}

/** Resolves with `child` once it printed its first line; rejects if it exits first. */
function started(child: ChildProcess): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code, signal) => reject(new Error(`the holder exited (${code ?? signal}) before it held anything`)));
  });
}
