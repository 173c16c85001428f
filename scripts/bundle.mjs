// Bundles the compiled CLI in place (dist/src/cli/main.js plus lazily loaded chunks for watch and
// status): a cont-init step starts on every boot, and resolving ~40 small ES modules cost a third
// of a small boot (bench/README.md). Packages stay external and dynamic imports stay dynamic, so
// winston, diff, yaml, immer and fast-glob are only loaded by the commands that need them.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = path.join(root, 'dist', 'src', 'cli');
for (const old of fs.readdirSync(dir).filter((n) => n.startsWith('chunk-') || /^(watch|status)-[A-Z0-9]+\.js$/.test(n))) {
  fs.rmSync(path.join(dir, old));
}
await build({
  entryPoints: [path.join(dir, 'main.js')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir: dir,
  allowOverwrite: true,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
fs.chmodSync(path.join(dir, 'main.js'), 0o755);
