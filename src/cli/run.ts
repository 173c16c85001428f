/**
 * The CLI's dispatcher: parses arguments, creates the logger, runs one command, and maps errors
 * to exit codes (here and nowhere else). Each command lives in src/cli/commands/.
 */
import { FatalError, LockHeldError, UsageError } from '../errors.js';
import { type Args, USAGE, parseCliArgs } from './args.js';
import { type Logger, createLogger } from './logger.js';
import { EXIT, type Io } from './pass.js';

export { EXIT, type Io } from './pass.js';

/** Runs the CLI and returns the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let args: Args | null;
  try {
    args = parseCliArgs(argv, io.env);
  } catch (err) {
    return reportError(err, jsonRequested(argv), io, createLogger('info', 'text'));
  }
  if (args === null) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const logger = createLogger(args.logLevel, args.logFormat);
  try {
    switch (args.command) {
      case 'watch':
        return await (await import('./commands/watch.js')).runWatch(args, io, logger);
      case 'status':
        return await (await import('./commands/status.js')).runStatus(args, io, logger);
      case 'sync':
        return await (await import('./commands/sync.js')).runSync(args, io, logger);
      default:
        return await (await import('./commands/boot.js')).runBoot(args, io, logger);
    }
  } catch (err) {
    return reportError(err, args.output === 'json', io, logger);
  }
}

function jsonRequested(argv: readonly string[]): boolean {
  const i = argv.indexOf('--output');
  return argv.includes('--output=json') || (i >= 0 && argv[i + 1] === 'json');
}

function reportError(err: unknown, json: boolean, io: Io, logger: Logger): number {
  const [code, exit] =
    err instanceof UsageError ? (['usage', EXIT.usage] as const)
    : err instanceof LockHeldError ? (['locked', EXIT.locked] as const)
    : (['fatal', EXIT.fatal] as const);
  const message = err instanceof Error ? err.message : String(err);
  if (json) io.stdout.write(`${JSON.stringify({ formatVersion: '2', error: { code, message, exitCode: exit } })}\n`);
  logger.error(message);
  if (!(err instanceof UsageError || err instanceof LockHeldError || err instanceof FatalError) && err instanceof Error && err.stack) {
    logger.debug(err.stack);
  }
  return exit;
}
