#!/usr/bin/env node
/**
 * Entry point of the `reconcile-gateways` binary: runs the CLI and sets the exit code (no
 * process.exit, so stdout and stderr drain first).
 */
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
