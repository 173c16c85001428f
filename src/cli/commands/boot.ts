/** `boot`: the container-start pass (cont-init), upstream's behaviour plus boot's housekeeping. */
import type { Args } from '../args.js';
import type { Logger } from '../logger.js';
import type { Io } from '../pass.js';
import { runOnce } from './once.js';

/** Runs `boot` and returns the exit code. */
export function runBoot(args: Args, io: Io, logger: Logger): Promise<number> {
  return runOnce('boot', args, io, logger);
}
