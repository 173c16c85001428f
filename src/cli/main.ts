/**
 * The CLI program: runs `reconcile-gateways` on this process's argv and sets the exit code (no
 * process.exit, so stdout and stderr drain first). scripts/bundle.mjs bundles it, with every
 * dependency, into dist/reconcile-gateways.cjs, which bin/reconcile-gateways.cjs loads.
 */
import { describeErrno } from '../safe-fs/index.js';
import { EXIT, runCli } from './run.js';

// A reader that went away (`| head`) must not turn a pass that was applied into a crash with a
// stack trace and exit 1: the rest of the report is dropped and the run keeps its own exit code.
// Any other failure to write stdout (a full disk, EIO) loses the report the caller asked for: one
// line on stderr says so and the run exits 111. Nothing is left to tell when stderr itself fails.
let stdoutFailed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE' || stdoutFailed) return;
  stdoutFailed = true;
  process.exitCode = EXIT.fatal;
  process.stderr.write(`reconcile-gateways: error: cannot write to stdout (${describeErrno(err)}); the report is lost\n`);
});
process.stderr.on('error', () => undefined);

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
  process.exitCode = stdoutFailed ? EXIT.fatal : code;
});
