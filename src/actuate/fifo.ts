/**
 * FIFO creation for new slots. Node has no mkfifo(3), so one mkfifo(1) process per pass
 * (src/system-programs.ts) makes every supervise/control of every new slot (chunked so argv never
 * overflows), not one per slot.
 */
import { spawn } from 'node:child_process';
import { type Dir, errnoCode, pathForChild } from '../safe-fs/index.js';
import { systemProgram } from '../system-programs.js';

/** Bytes of argv per mkfifo process; far below ARG_MAX even with a large environment. */
const ARGV_BUDGET = 512 * 1024;

/** What makeFifos did: mkfifo's complaints ('' when every FIFO was made) and whether it ran with the group. */
export interface FifosMade {
  readonly errors: string;
  readonly withGroup: boolean;
}

/**
 * Creates FIFOs with exactly `mode` (mkfifo -m) at paths relative to `base`, which mkfifo reaches
 * through our open descriptor, so a path swapped in the meantime cannot redirect it. With `gid`
 * (root only) mkfifo runs with that group, so the FIFOs are made with it and need no chown; where
 * that is not allowed (root without CAP_SETGID: the spawn fails before mkfifo runs) they are made
 * as we are, and `withGroup` says so. Resolves, never rejects; `errors` has one line per failure
 * ('' when all were made: mkfifo exits 0 only then). mkfifo runs on its own while the caller goes
 * on (boot writes the slots' files meanwhile); the directory is resolved before this returns.
 */
export async function makeFifos(base: Dir, paths: readonly string[], mode: number, gid?: number): Promise<FifosMade> {
  let mkfifo: string;
  try {
    mkfifo = systemProgram('mkfifo');
  } catch (err) {
    return { errors: `${err instanceof Error ? err.message : String(err)}\n`, withGroup: false };
  }
  const cwd = pathForChild(base);
  const run = (group: number | undefined): Promise<Ran[]> =>
    Promise.all(chunks(paths).map((chunk) => runMkfifo(mkfifo, ['-m', mode.toString(8), '--', ...chunk], cwd, group)));
  if (gid !== undefined) {
    const ran = await run(gid);
    if (!ran.some((r) => r.spawnError === 'EPERM')) return { errors: ran.map((r) => r.errors).join(''), withGroup: true };
  }
  return { errors: (await run(undefined)).map((r) => r.errors).join(''), withGroup: false };
}

interface Ran {
  readonly errors: string;
  /** The errno code when the process could not be started at all. */
  readonly spawnError?: string;
}

/** The paths in argv-sized chunks (one, unless there are very many). */
function chunks(paths: readonly string[]): string[][] {
  const out: string[][] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const p of paths) {
    if (size + p.length + 1 > ARGV_BUDGET && chunk.length > 0) {
      out.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(p);
    size += p.length + 1;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}

/** One mkfifo process: no errors when it exits 0, else what it said. */
function runMkfifo(mkfifo: string, args: readonly string[], cwd: string, gid: number | undefined): Promise<Ran> {
  return new Promise((resolve) => {
    let stderr = '';
    let child: ReturnType<typeof spawn>;
    try {
      // Its own session: a Ctrl-C or a stop sent to our process group must not kill it halfway
      // (the watcher then stops after the pass, which must not fail for that). It never waits.
      child = spawn(mkfifo, args, { cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'], ...(gid === undefined ? {} : { gid }) });
    } catch (err) {
      resolve({ errors: `mkfifo: ${err instanceof Error ? err.message : String(err)}\n`, spawnError: errnoCode(err) });
      return;
    }
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => (stderr += text));
    child.on('error', (err) => resolve({ errors: `mkfifo: ${err.message}\n`, spawnError: errnoCode(err) }));
    child.on('close', (code, signal) => resolve({ errors: code === 0 ? '' : stderr || `mkfifo: exited with ${code ?? signal}\n` }));
  });
}
