/**
 * Temp trees for the unit tests of the I/O layers (safe-fs, observe, actuate): a fresh directory
 * opened as the Dir the functions under test take, and a read-only view of a directory (a
 * read-only bind mount: root ignores mode bits, so chmod alone cannot make a directory unwritable).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { type Dir, closeDir, openRoot } from '../../src/safe-fs/index.js';

/** A fresh temp directory and its open Dir, both released at teardown. */
export interface TempRoot {
  readonly root: string;
  readonly dir: Dir;
}

/** Creates `os.tmpdir()/<prefix>XXXXXX`, opens it, and removes both at teardown. */
export function tempRoot(t: ExecutionContext, prefix = 'rg-unit-'): TempRoot {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dir = openRoot(root);
  t.teardown(() => {
    closeDir(dir);
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { root, dir };
}

/** Writes `content` at `root/rel`, making parent directories. */
export function put(root: string, rel: string, content: string | Uint8Array, mode = 0o644): string {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
  return file;
}

/** Makes `dir` read-only with a read-only bind mount over itself (root only); undone at teardown. */
export function makeReadOnly(t: ExecutionContext, dir: string): void {
  const run = (...args: string[]): void => {
    const r = spawnSync('mount', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
  };
  run('--bind', dir, dir);
  // Registered before the remount, so a failed remount still unmounts.
  t.teardown(() => {
    spawnSync('umount', ['-l', dir]);
  });
  run('-o', 'remount,ro,bind', dir);
}

/** Permission bits of a path (lstat, never followed). */
export function modeOf(file: string): number {
  return fs.lstatSync(file).mode & 0o7777;
}
