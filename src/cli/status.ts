/** `status` command (issue 3). */
import type { Args } from './args.js';
import type { Io } from './run.js';
import type { Logger } from './logger.js';
import { UsageError } from '../errors.js';

/** Runs `status`. */
export async function runStatus(args: Args, io: Io, logger: Logger): Promise<number> {
  void args;
  void io;
  void logger;
  throw new UsageError('status is not available in this build yet');
}
