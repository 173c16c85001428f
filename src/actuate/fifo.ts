/**
 * Batched FIFO creation: Node has no mkfifo(3), so one `mkfifo` process per pass creates every
 * supervise/control of every new slot (chunked so argv never overflows), not one per slot.
 */
import { spawnSync } from 'node:child_process';
import { type Dir, pathForChild } from '../safe-fs.js';

/** Bytes of argv per mkfifo process; far below ARG_MAX even with a large environment. */
const ARGV_BUDGET = 512 * 1024;

/**
 * Creates FIFOs (mode 0660) at paths relative to `base`; the child starts in `base` through our
 * open descriptor, so a path swapped in the meantime cannot redirect it. Returns stderr text.
 */
export function makeFifos(base: Dir, paths: readonly string[]): string {
  let errors = '';
  let chunk: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (chunk.length === 0) return;
    const r = spawnSync('mkfifo', ['-m', '0660', '--', ...chunk], { cwd: pathForChild(base), encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
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
