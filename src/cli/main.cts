#!/usr/bin/env node
/**
 * Entry point of the `reconcile-gateways` binary: runs the CLI and sets the exit code (no
 * process.exit, so stdout and stderr drain first). CommonJS on purpose: see load.cts.
 */
import { loadCli } from './load.cjs';

void loadCli()
  .then(({ runCli }) => runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }))
  .then((code) => {
    process.exitCode = code;
  });
