#!/usr/bin/env node
/**
 * Entry point of the `reconcile-gateways` binary: runs the CLI and sets the exit code (no
 * process.exit, so stdout and stderr drain first). CommonJS on purpose: see load.cts.
 */
import { loadCli } from './load.cjs';
import { directSink } from './stdio.cjs';

// Not process.stdout/stderr themselves: their getters build Node's streams (see stdio.cts).
const stdout = directSink(1, () => process.stdout);
const stderr = directSink(2, () => process.stderr);

void loadCli()
  .then(({ runCli }) => runCli(process.argv.slice(2), { stdout, stderr, env: process.env }))
  .then((code) => {
    process.exitCode = code;
  });
