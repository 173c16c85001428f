/**
 * The CLI program: runs `reconcile-gateways` on this process's argv and sets the exit code (no
 * process.exit, so stdout and stderr drain first). scripts/bundle.mjs bundles it, with every
 * dependency, into dist/reconcile-gateways.cjs, which bin/reconcile-gateways.cjs loads.
 */
import { runCli } from './run.js';

// A reader that went away (`| head`) must not turn a pass that was applied into a crash with a
// stack trace and exit 1: the rest of the report is dropped and the run keeps its own exit code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
  process.exitCode = code;
});
