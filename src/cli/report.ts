/**
 * How a failed command is reported: the error as log lines on stderr (a multi-line message not of
 * ours, such as Node's `Cannot find module …\nRequire stack:`, as real lines, each continuation
 * indented so it cannot pass for a record of its own; ours are one line, whatever value they
 * name), the usage after a command-line mistake, and with `--output json` the error document on
 * stdout.
 */
import { FatalError, LockHeldError, UsageError } from '../errors.js';
import { escapeLine } from '../escape.js';
import { NOT_REPLACED, describeErrno, errnoCode } from '../safe-fs/index.js';
import { ArgumentError } from './args.js';
import { type Command, usageText } from './help.js';
import type { Logger } from './logger.js';

/** Exit codes (README and docs/cli.md, "Exit codes"). */
export const EXIT = { ok: 0, pending: 1, partial: 2, locked: 3, usage: 100, fatal: 111 } as const;

/** Where a report goes. */
export interface ReportIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

/** What the report needs to know about the run that failed. */
export interface ReportContext {
  readonly json: boolean;
  readonly logFormat: 'text' | 'json';
  /** The command that ran (the lock hint differs for watch). */
  readonly command?: Command;
}

/** Reports `err` and returns its exit code. */
export function reportError(err: unknown, ctx: ReportContext, io: ReportIo, logger: Logger): number {
  const [code, exit] =
    err instanceof UsageError
      ? (['usage', EXIT.usage] as const)
      : err instanceof LockHeldError
        ? (['locked', EXIT.locked] as const)
        : (['fatal', EXIT.fatal] as const);
  const message = messageOf(err, ctx.command);
  if (ctx.json) io.stdout.write(`${JSON.stringify({ formatVersion: '2', error: { code, message, exitCode: exit } })}\n`);
  // Only a message not of ours has lines of its own (Node's `Require stack:`): a line break in
  // one of ours came from a value it names (a flag's value, a path), and is escaped with the rest.
  const ours = err instanceof UsageError || err instanceof LockHeldError || err instanceof FatalError;
  const [first = '', ...rest] = ctx.logFormat === 'text' && !ours ? message.split(/\r?\n/) : [message];
  logger.error(first);
  for (const line of rest) io.stderr.write(`  ${escapeLine(line)}\n`);
  // For a person, the commands follow an error without one (a short list); an error in a
  // command's flags points at its help, which would push the error off a terminal. A JSON log
  // stream gets the one record only.
  if (err instanceof ArgumentError && ctx.logFormat === 'text') {
    io.stderr.write(err.command === undefined ? `\n${usageText()}` : `Run 'reconcile-gateways ${err.command} --help' for its options.\n`);
  }
  if (!ours && err instanceof Error && err.stack) logger.debug(err.stack);
  return exit;
}

function messageOf(err: unknown, command: Command | undefined): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof LockHeldError && (command === 'boot' || command === 'sync')) {
    return `${message}; add --wait to wait for it, or retry when it has finished`;
  }
  return message;
}

/** What to do about an output file (`--metrics-file`, `--status-file`) that could not be written, by errno. */
const OUTPUT_FILE_FIXES: Readonly<Record<string, string>> = {
  ENOENT: 'its directory does not exist: create it, or choose another path',
  ENOTDIR: 'a part of its path is a file, not a directory: choose another path',
  EACCES: 'this user cannot write there: choose a directory it can write',
  EPERM: 'this user cannot write there: choose a directory it can write',
  EROFS: 'its file system is read-only: choose another path',
  ENOSPC: 'its file system is full: free space there, or choose another path',
  [NOT_REPLACED]: 'remove what is there, or choose another path',
  EISDIR: 'a directory is there: remove it, or choose another path',
  EMFILE: 'the process has too many files open: raise its limit (ulimit -n), or fewer things open',
  ENFILE: 'the system has too many files open',
};

/** The warning for a `--metrics-file` write that failed; the pass's own exit code stands. */
export function metricsFileWarning(file: string, err: unknown): string {
  return `cannot write --metrics-file ${file} (${describeErrno(err)}); ${OUTPUT_FILE_FIXES[errnoCode(err)] ?? 'choose another path'}`;
}

/**
 * The warning for a watcher's status file that could not be written: the fix for its errno, and
 * that `status` shows what the file last said until a later pass writes it.
 */
export function statusFileWarning(file: string, dir: string, err: unknown): string {
  const code = errnoCode(err);
  const fix =
    code === 'ENOENT'
      ? `its directory ${dir} is gone (removed while the watcher runs): restart the watcher, which makes it again and takes its lock there`
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `make ${dir} writable, or point --status-file elsewhere`
        : (OUTPUT_FILE_FIXES[code] ?? 'point --status-file elsewhere if it persists');
  return `cannot write status file ${file} (${describeErrno(err)}); ${fix}; each pass tries again, and until one succeeds status shows what the file last said`;
}
