/**
 * FIFO creation for new slots. Node has no mkfifo(3): we call it through the `mkfifo` package
 * (src/native.ts) and, without it, run one `mkfifo` process per pass for every supervise/control
 * of every new slot (chunked so argv never overflows), not one per slot.
 */
import type { spawnSync as SpawnSync } from 'node:child_process';
import { nativeMkfifo, requireLazily } from '../native.js';
import { type Dir, pathForChild, selfPath } from '../safe-fs/index.js';

/** Bytes of argv per mkfifo process; far below ARG_MAX even with a large environment. */
const ARGV_BUDGET = 512 * 1024;

/**
 * Creates FIFOs with `mode` (less the umask) at paths relative to `base`, which is reached through
 * our open descriptor or is the working directory, so a path swapped in the meantime cannot
 * redirect it. Returns the error text, one line per failure ('' when all were made).
 */
export function makeFifos(base: Dir, paths: readonly string[], mode: number): string {
  const where = base.here === true || base.rel !== undefined ? selfPath(base) : pathForChild(base);
  const native = nativeMkfifo();
  if (native === undefined) return spawnMkfifo(where, paths, mode);
  let errors = '';
  for (const p of paths) {
    try {
      native.mkfifoSync(`${where}/${p}`, mode);
    } catch (err) {
      errors += `mkfifo: ${err instanceof Error ? err.message : String(err)}\n`;
    }
  }
  return errors;
}

function spawnMkfifo(cwd: string, paths: readonly string[], mode: number): string {
  const spawnSync = (requireLazily('node:child_process') as { spawnSync: typeof SpawnSync }).spawnSync;
  let errors = '';
  let chunk: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (chunk.length === 0) return;
    const r = spawnSync('mkfifo', ['-m', mode.toString(8), '--', ...chunk], { cwd, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
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
