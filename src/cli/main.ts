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
// line on stderr says so and a one-shot command exits 111; `watch` goes on (its status file and
// metrics still report) and keeps its exit code. Nothing is left to tell when stderr itself fails.
const argv = process.argv.slice(2);
const oneShot = argv[0] !== 'watch';
let stdoutFailed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE' || stdoutFailed) return;
  stdoutFailed = true;
  if (oneShot) process.exitCode = EXIT.fatal;
  const lost = oneShot ? 'the report is lost' : 'pass lines are lost from now on (the status file still reports)';
  process.stderr.write(`reconcile-gateways: error: cannot write to stdout (${describeErrno(err)}); ${lost}\n`);
});
process.stderr.on('error', () => undefined);

void runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
  // `watch` took SIGTERM or SIGINT as a clean stop; another one while the process winds down
  // (s6 or a shell may send two) must not turn its exit 0 into a death by signal. Only Node's own
  // teardown, its last milliseconds, restores the default action: no JavaScript can cover that.
  if (!oneShot) for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => undefined);
  process.exitCode = stdoutFailed && oneShot ? EXIT.fatal : code;
});
