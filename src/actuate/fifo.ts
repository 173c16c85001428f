/**
 * FIFO creation for new slots. Node has no mkfifo(3), so one mkfifo(1) process per pass
 * (src/system-programs.ts) makes every supervise/control of every new slot (chunked so argv never
 * overflows), not one per slot.
 */
import { spawnSync } from 'node:child_process';
import { type Dir, pathForChild } from '../safe-fs/index.js';
import { systemProgram } from '../system-programs.js';

/** Bytes of argv per mkfifo process; far below ARG_MAX even with a large environment. */
const ARGV_BUDGET = 512 * 1024;

/**
 * Creates FIFOs with exactly `mode` (mkfifo -m) at paths relative to `base`, which mkfifo reaches
 * through our open descriptor, so a path swapped in the meantime cannot redirect it. With `gid`
 * (root only) mkfifo runs with that group, so the FIFOs are made with it and need no chown. Returns
 * the error text, one line per failure ('' when all were made: mkfifo exits 0 only then).
 */
export function makeFifos(base: Dir, paths: readonly string[], mode: number, gid?: number): string {
  return spawnMkfifo(pathForChild(base), paths, mode, gid);
}

function spawnMkfifo(cwd: string, paths: readonly string[], mode: number, gid: number | undefined): string {
  let mkfifo: string;
  try {
    mkfifo = systemProgram('mkfifo');
  } catch (err) {
    return `${err instanceof Error ? err.message : String(err)}\n`;
  }
  let errors = '';
  let chunk: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (chunk.length === 0) return;
    const r = spawnSync(mkfifo, ['-m', mode.toString(8), '--', ...chunk], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(gid === undefined ? {} : { gid }),
    });
    if (r.error !== undefined) errors += `mkfifo: ${r.error.message}\n`;
    else if (r.status !== 0) errors += r.stderr;
    chunk = [];
    size = 0;
  };
  for (const p of paths) {
    if (size + p.length + 1 > ARGV_BUDGET) flush();
    chunk.push(p);
    size += p.length + 1;
  }
  flush();
  return errors;
}
