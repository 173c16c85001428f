/**
 * The CLI program: runs `reconcile-gateways` on this process's argv and sets the exit code (no
 * process.exit, so stdout and stderr drain first). scripts/bundle.mjs bundles it, with every
 * dependency, into dist/reconcile-gateways.cjs, which bin/reconcile-gateways.cjs loads.
 */
import { runCli } from './run.js';

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
  process.exitCode = code;
});
