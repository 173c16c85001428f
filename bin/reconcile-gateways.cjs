#!/usr/bin/env node
// The `reconcile-gateways` command. The tool itself is one file, dist/reconcile-gateways.cjs
// (scripts/bundle.mjs); this only asks Node (22.1+) to keep V8's compiled code for it between
// runs. The cache lives beside the bundle, not in Node's default under the shared /tmp: whoever
// can write the cache can make root run their code, and only who can change the bundle may.
'use strict';
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'reconcile-gateways.cjs');
require('node:module').enableCompileCache?.(path.join(dist, '.compile-cache'));
// At --log-level debug, stack traces go through the source map, into src/ (read at load time).
const argv = process.argv;
if (argv.some((a, i) => a === '--log-level=debug' || (a === '--log-level' && argv[i + 1] === 'debug'))) process.setSourceMapsEnabled(true);
try {
  require(bundle);
} catch (err) {
  if (err?.code !== 'MODULE_NOT_FOUND' || require('node:fs').existsSync(bundle)) throw err;
  const message = `${bundle} is missing: this is a source checkout that was not built; run \`npm ci && npm run build\` in ${path.dirname(dist)}`;
  process.stderr.write(`reconcile-gateways: error: ${message}\n`);
  // The error document --output json promises (cli.md), for the last --output given.
  const outputs = argv.flatMap((a, i) => (a === '--output' ? [argv[i + 1]] : a.startsWith('--output=') ? [a.slice(9)] : []));
  if (outputs.at(-1) === 'json') process.stdout.write(`${JSON.stringify({ formatVersion: '2', error: { code: 'fatal', message, exitCode: 111 } })}\n`);
  process.exitCode = 111;
}
