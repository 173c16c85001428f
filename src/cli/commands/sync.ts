/** `sync`: a live re-sync on a running container; never sweeps runtime files, prunes by default. */
import type { Args } from '../args.js';
import type { Logger } from '../logger.js';
import type { Io } from '../pass.js';
import { runOnce } from './once.js';

/** Runs `sync` and returns the exit code. */
export function runSync(args: Args, io: Io, logger: Logger): Promise<number> {
  return runOnce('sync', args, io, logger);
}
