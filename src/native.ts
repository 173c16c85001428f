/**
 * The two system calls Node lacks, from optional native packages: flock(2) from `fs-ext` and
 * mkfifo(3) from `mkfifo`. Both are optionalDependencies that node-gyp compiles at install. When a
 * package is missing or did not build, callers spawn flock(1) and mkfifo(1) instead. That is
 * correct, only slower: at 10 profiles a boot spent ~8 ms of its ~50 loading node:child_process
 * (with net, streams and dgram) and forking the two helpers. `RECONCILE_GATEWAYS_NATIVE=0` forces
 * the spawned helpers (for tests, or if a native build ever misbehaves).
 */
import { createRequire } from 'node:module';

/** A `require` the bundler leaves alone: what it loads is loaded only when a call needs it. */
export const requireLazily = createRequire(import.meta.url);

/** The part of fs-ext we use. */
export interface NativeFlock {
  /** flock(2) with LOCK_EX|LOCK_NB; throws an errno error, `code` EAGAIN when held elsewhere. */
  flockSync(fd: number, flags: 'exnb'): void;
}

/** The part of mkfifo we use. */
export interface NativeMkfifo {
  /** mkfifo(3) (the umask applies); throws an Error whose message names the path and the cause. */
  mkfifoSync(path: string, mode: number): void;
}

const cache = new Map<string, unknown>();

function load<T>(name: string): T | undefined {
  if (cache.has(name)) return cache.get(name) as T | undefined;
  let value: T | undefined;
  if (process.env.RECONCILE_GATEWAYS_NATIVE !== '0') {
    try {
      value = requireLazily(name) as T;
    } catch {
      value = undefined; // not installed or not built: the caller spawns the command instead
    }
  }
  cache.set(name, value);
  return value;
}

/** flock(2), or undefined when fs-ext is unavailable. */
export function nativeFlock(): NativeFlock | undefined {
  return load<NativeFlock>('fs-ext');
}

/** mkfifo(3), or undefined when the mkfifo package is unavailable. */
export function nativeMkfifo(): NativeMkfifo | undefined {
  return load<NativeMkfifo>('mkfifo');
}
