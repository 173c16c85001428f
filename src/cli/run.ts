/**
 * The CLI's dispatcher: parses arguments, creates the logger, runs one command, and maps errors
 * to exit codes (src/cli/report.ts, and nowhere else). Each command lives in src/cli/commands/.
 */
import { type Parsed, parseCliArgs } from './args.js';
import { commandHelp, packageVersion, usageText } from './help.js';
import { createLogger } from './logger.js';
import type { Io } from './pass.js';
import { EXIT, reportError } from './report.js';

export { EXIT } from './report.js';
export type { Io } from './pass.js';

/** Runs the CLI and returns the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseCliArgs(argv, io.env);
  } catch (err) {
    return reportError(err, { json: jsonRequested(argv), logFormat: 'text' }, io, createLogger('info', 'text'));
  }
  if (parsed.kind !== 'run') {
    io.stdout.write(
      parsed.kind === 'version'
        ? `reconcile-gateways ${packageVersion()}\n`
        : parsed.command === undefined
          ? usageText()
          : commandHelp(parsed.command),
    );
    return EXIT.ok;
  }
  const args = parsed.args;
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
    return reportError(err, { json: args.output === 'json', logFormat: args.logFormat, command: args.command }, io, logger);
  }
}

function jsonRequested(argv: readonly string[]): boolean {
  const i = argv.indexOf('--output');
  return argv.includes('--output=json') || (i >= 0 && argv[i + 1] === 'json');
}
