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
    // The flags that shape the report are honoured even on a command line that failed to parse.
    const logFormat = optionRequested(argv, '--log-format', 'json') ? 'json' : 'text';
    return reportError(err, { json: optionRequested(argv, '--output', 'json'), logFormat }, io, createLogger('info', logFormat));
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

/** Whether the last value given to `flag` is `value` (a flag given twice takes its last value, as parsing does). */
function optionRequested(argv: readonly string[], flag: string, value: string): boolean {
  let last: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--' && i > 0) break; // what follows is no option
    if (token === flag) last = argv[++i];
    else if (token.startsWith(`${flag}=`)) last = token.slice(flag.length + 1);
  }
  return last === value;
}
