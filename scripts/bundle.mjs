// Bundles the CLI (src/cli/main.ts and everything it imports, dependencies included) into one
// CommonJS file, dist/reconcile-gateways.cjs, with its source map beside it. Nothing is loaded
// from node_modules at run time, so that file alone, copied anywhere next to a node, is the tool.
// Type checking is tsc's job (npm run build runs it first); esbuild only strips the types.
import { build } from 'esbuild-wasm';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outfile = path.join(root, 'dist', 'reconcile-gateways.cjs');
const generated = path.join(root, 'dist', 'src', 'generated');
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

await build({
  entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  banner: { js: '#!/usr/bin/env node' },
  // import.meta.url only serves createRequire in tsc's ES build, where the bundle has `require`.
  // The version is baked in, so the bundle copied alone still knows it (src/cli/help.ts).
  define: { 'import.meta.url': '__filename', RECONCILE_GATEWAYS_VERSION: JSON.stringify(version) },
  // Names stay (stack traces read well even without the map); the map's paths point into src/.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  // The ajv validators that scripts/build-validators.mjs generated into dist/src/generated.
  plugins: [
    {
      name: 'generated-validators',
      setup(b) {
        b.onResolve({ filter: /^\.\.\/generated\/\w+\.cjs$/ }, (args) => ({ path: path.join(generated, path.basename(args.path)) }));
      },
    },
  ],
});
fs.chmodSync(outfile, 0o755);
