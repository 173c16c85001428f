// Bundles the CLI (src/cli/main.ts and everything it imports, dependencies included) into one
// CommonJS file, dist/reconcile-gateways.cjs, with its source map beside it. Nothing is loaded
// from node_modules at run time, so that file alone, copied anywhere next to a node, is the tool.
// Type checking is tsc's job (npm run build runs it first); esbuild only strips the types.
import { build } from 'esbuild-wasm';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outfile = path.join(root, 'dist', 'reconcile-gateways.cjs');
const src = path.join(root, 'src') + path.sep;
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
  logOverride: { 'import-is-undefined': 'error' },
  banner: { js: '#!/usr/bin/env node' },
  // import.meta.url only serves createRequire in tsc's ES build, where the bundle has `require`.
  // The version is baked in, so the bundle copied alone still knows it (src/cli/help.ts).
  // A production build of the dependencies: winston's @dabh/diagnostics otherwise loads a colour
  // library (~3 ms) on the first warning, for a DEBUG=winston:* trace nobody reads; immer drops its
  // development-only checks (the unit tests run the unbundled build, where they stay on).
  define: {
    'import.meta.url': '__filename',
    RECONCILE_GATEWAYS_VERSION: JSON.stringify(version),
    'process.env.NODE_ENV': '"production"',
  },
  // Names stay (stack traces read well even without the map); the map's paths point into src/.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  // The ajv validators that scripts/build-validators.mjs generated into dist/src/generated.
  plugins: [
    // `import fs from 'node:fs'` in each of 20 modules got its own copy of fs's ~100 properties
    // (esbuild's ESM interop for a CommonJS module): ~700 KB of garbage and a few ms at every start.
    // src/ only default-imports these two, and that default is the module itself: required once.
    // A named or namespace import of them would find no export: the build fails (logOverride).
    {
      name: 'fs-and-path-as-they-are',
      setup(b) {
        b.onResolve({ filter: /^node:(fs|path)$/ }, (args) =>
          args.kind === 'import-statement' && args.importer.startsWith(src) ? { path: args.path, namespace: 'builtin' } : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
          contents: `export default require(${JSON.stringify(args.path)});`,
          loader: 'js',
        }));
      },
    },
    {
      name: 'generated-validators',
      setup(b) {
        b.onResolve({ filter: /^\.\.\/generated\/\w+\.cjs$/ }, (args) => ({ path: path.join(generated, path.basename(args.path)) }));
      },
    },
  ],
});
fs.chmodSync(outfile, 0o755);
