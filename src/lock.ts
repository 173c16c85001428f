/**
 * The run lock: an exclusive flock(2) on `<scandir>/.reconcile-gateways.lock`, held by our
 * descriptor, so the kernel releases it when we die — a killed run never blocks the next one. The
 * file is never deleted. Node has no flock(2), so flock(1) (src/system-programs.ts) locks a
 * descriptor we pass it: flock locks belong to the open file description we share, so the lock
 * stays ours after flock(1) exits.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { FatalError, LockHeldError } from './errors.js';
import { systemProgram } from './system-programs.js';

/** A held lock; release by closing (or by exiting). */
export interface HeldLock {
  readonly fd: number;
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock; with `wait` blocks until it is free, else throws LockHeldError at once. An abort
 * of `signal` (watch shutting down) ends the wait with the signal's reason.
 */
export async function acquireLock(path: string, wait: boolean, signal?: AbortSignal): Promise<HeldLock> {
  const fd = openLockFile(path);
  const held = (): LockHeldError => new LockHeldError(`another reconcile-gateways run holds ${path}`);
  try {
    const code = await runFlock(fd, wait, signal);
    if (signal?.aborted === true) throw signal.reason;
    if (code === 1 && !wait) throw held();
    if (code !== 0) throw new FatalError(`flock on ${path} failed (exit ${code})`);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
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

/**
 * Opens (creating) the lock file 0600: flock(2) needs only an open descriptor, so a lock file any
 * user can open for reading lets any user hold the lock and block every run (exit 3 forever).
 */
function openLockFile(path: string): number {
  const C = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(path, C.O_RDWR | C.O_CREAT | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY, 0o600);
  } catch (err) {
    throw new FatalError(`cannot open lock file ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new FatalError(`lock file ${path} is not a regular file`);
  }
  // A lock file from an older version (0644): tighten it; one someone else owns is left alone.
  if ((st.mode & 0o077) !== 0 && st.uid === process.geteuid?.()) fs.fchmodSync(fd, 0o600);
  return fd;
}

/** Runs flock(1) on `fd` (its descriptor 3): exit 0 when taken, 1 when held elsewhere without `wait`. */
function runFlock(fd: number, wait: boolean, signal: AbortSignal | undefined): Promise<number> {
  const flock = systemProgram('flock');
  const args = wait ? ['--exclusive', '3'] : ['--exclusive', '--nonblock', '3'];
  return new Promise((resolve, reject) => {
    const child = spawn(flock, args, { stdio: ['ignore', 'ignore', 'inherit', fd], ...(signal === undefined ? {} : { signal }) });
    child.on('error', (err) => {
      if (signal?.aborted === true) resolve(128);
      else reject(new FatalError(`cannot run flock(1): ${err.message}`, { cause: err }));
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 111 : 128)));
  });
}
