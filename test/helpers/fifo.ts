/**
 * Stand-ins for s6's control FIFOs on a temp tree: a real FIFO with this process as its reader, so
 * the tool's O_WRONLY|O_NONBLOCK open succeeds and the bytes it writes (the s6-svc / s6-svscanctl
 * command letters) can be read back. No s6 process is involved.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

/** A FIFO at `dir/control` with an open, non-blocking reader. */
export interface ControlFifo {
  readonly path: string;
  /** Everything written to the FIFO since the last call, as text. */
  received(): string;
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
  t.teardown(() => fs.closeSync(fd));
  return {
    path: file,
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
