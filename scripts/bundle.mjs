// Packs the compiled CLI for start-up speed (a cont-init step starts on every boot; see
// bench/README.md, "What we tried"):
//
// * dist/src/cli/cli-bundle.js — the whole CLI (dist/src/cli/run.js and everything it imports,
//   watch and status included) as one classic script, wrapped as a function of (url, require).
//   Packages stay external and are loaded when a command needs them (winston, immer, fast-glob),
//   except diff, which is inlined. dist/src/cli/load.cjs (the bin, main.cjs, calls it) compiles it
//   with vm.Script.
// * dist/src/cli/cli-bundle.cache — a V8 code cache of that script, made here by running a cold
//   boot and a converged sync over a small scratch HERMES_HOME, so that the functions a pass runs
//   come precompiled instead of being compiled on first call. V8 ignores a cache that does not
//   match its version, flags or the source, and compiles as usual then.
//
// dist/src/cli/main.cjs and load.cjs stay the tsc output; load.cjs falls back to the plain modules
// when the bundle is absent.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const cliDir = path.join(root, 'dist', 'src', 'cli');
const vendorDir = path.join(root, 'dist', 'src', 'vendor');
// Packages inlined into the CLI bundle behind lazy requires: diff (--diff) and ajv's runtime
// helpers (the generated validators, inlined too). immer and fast-glob (watch) load from
// node_modules. yaml and winston are vendored: see src/cli/vendor.ts.
const INLINE = new Set(['diff', 'ajv']);
const VENDORED = ['yaml', 'winston'];
// node:fs and node:path, once each: esbuild gives every `import fs from 'node:fs'` its own
// interop copy of the module's properties (16 copies of fs's ~100, a millisecond or two of every
// start). This resolves them to one ES module per built-in that re-exports its properties.
const builtinOnce = {
  name: 'builtin-once',
  setup(b) {
    b.onResolve({ filter: /^node:(fs|path)$/ }, (args) =>
      // The shim's own require() is the real built-in.
      args.namespace === 'builtin-once' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtin-once' },
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-once' }, (args) => {
      // Data properties only: reading an accessor (fs.promises) would load what it guards.
      const mod = require(args.path);
      const names = Object.keys(mod).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default' && !Object.getOwnPropertyDescriptor(mod, k)?.get);
      return {
        contents: `const m = require(${JSON.stringify(args.path)});\nexport default m;\nexport const { ${names.join(', ')} } = m;\n`,
        loader: 'js',
      };
    });
  },
};
// yaml's "node" export is CommonJS that requires `process` dynamically; its ES build (the
// package's "default" export) bundles cleanly.
const yamlEsm = {
  name: 'yaml-esm',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: path.join(root, 'node_modules', 'yaml', 'browser', 'index.js') }));
  },
};
const common = {
  bundle: true,
  target: 'node20',
  logLevel: 'warning',
  // Whitespace and syntax only: names stay, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
};

// --- the CLI as one classic script -------------------------------------------------------------
const cliScript = path.join(cliDir, 'cli-bundle.js');
await build({
  ...common,
  stdin: { contents: "export { runCli } from './run.js'; export { loadYamlParse } from './yaml.js'; export { vendoredScripts } from './vendor.js';", resolveDir: cliDir, sourcefile: 'cli-bundle-entry.js' },
  format: 'iife',
  globalName: '__reconcileGatewaysCli',
  platform: 'node',
  external: Object.keys(pkg.dependencies ?? {}).filter((name) => !INLINE.has(name)),
  // import.meta.url of every module becomes the bundle's own URL (all of them lived in dist/src/cli
  // or one level down, and what they resolve from it is dist/src/generated and node_modules).
  define: { 'import.meta.url': '__reconcileGatewaysUrl' },
  plugins: [builtinOnce],
  banner: { js: '(function (__reconcileGatewaysUrl, require) {' },
  footer: { js: 'return __reconcileGatewaysCli;\n})' },
  outfile: cliScript,
});

fs.chmodSync(path.join(cliDir, 'main.cjs'), 0o755);
for (const old of fs.readdirSync(cliDir).filter((n) => /^(main\.js|load\.js|chunk-.*\.js)$/.test(n))) fs.rmSync(path.join(cliDir, old)); // older builds

// --- vendored packages: each a classic script, a function of `require` returning the exports ---
fs.rmSync(vendorDir, { recursive: true, force: true });
fs.mkdirSync(vendorDir, { recursive: true });
for (const name of VENDORED) {
  await build({
    ...common,
    stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: root, sourcefile: `${name}-entry.js` },
    format: 'iife',
    globalName: '__reconcileGatewaysVendored',
    platform: 'node',
    plugins: [yamlEsm],
    banner: { js: '(function (require) {' },
    footer: { js: 'return __reconcileGatewaysVendored;\n})' },
    outfile: path.join(vendorDir, `${name}.js`),
  });
}

// --- code caches -------------------------------------------------------------------------------
// The CLI: a cold boot and converged syncs, as the cont-init step and the timer run them, one
// with JSON logs.
{
  const { bundleFiles, compileBundle } = await import(pathToFileURL(path.join(cliDir, 'load.cjs')).href);
  const files = bundleFiles(cliDir);
  fs.rmSync(files.cache, { force: true });
  const compiled = compileBundle(files, false);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reconcile-gateways-build-'));
  try {
    const home = path.join(work, 'home');
    const scandir = path.join(work, 'scan');
    const config = path.join(work, 'config.json');
    const state = (desired) => JSON.stringify({ gateway_state: desired, desired_state: desired, updated_at: '2026-01-01T00:00:00Z' });
    fs.mkdirSync(path.join(home, 'profiles'), { recursive: true });
    fs.writeFileSync(path.join(home, 'gateway_state.json'), state('running'));
    // Hermes' config.yaml, with what such files use: nested maps, lists, quoted, block and flow
    // values, comments, anchors.
    fs.writeFileSync(
      path.join(home, 'config.yaml'),
      '# Hermes\nmodel:\n  provider: openrouter\n  default: "hermes-4-70b"\n  temperature: 0.7\nterminal:\n  backend: local\n  env: [A, B]\ntools:\n  - name: web\n    enabled: true\n  - {name: shell, enabled: false}\nprompt: |\n  Be brief.\nbase: &b {x: 1}\nderived: *b\ngateway:\n  multiplex_profiles: false\n',
    );
    // A corrupt state file too: its warning is how most real runs load the logger.
    for (const [name, content] of [['alpha', state('running')], ['beta', state('stopped')], ['gamma', undefined], ['delta', '{"desired_state": "runn']]) {
      fs.mkdirSync(path.join(home, 'profiles', name));
      fs.writeFileSync(path.join(home, 'profiles', name, 'SOUL.md'), '');
      if (content !== undefined) fs.writeFileSync(path.join(home, 'profiles', name, 'gateway_state.json'), content);
    }
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    fs.writeFileSync(config, JSON.stringify({ shebang: '#!/bin/sh', gatewayCommand: '/bin/true', user: 'nobody', uid, gid }));
    const sink = () => new Writable({ write: (_chunk, _enc, done) => done() });
    const io = { stdout: sink(), stderr: sink(), env: {} };
    const common = ['--hermes-home', home, '--scandir', scandir, '--config', config, '--container-argv', '[]'];
    const codes = [];
    // The logger writes to the process's stderr itself (winston's console transport): keep the
    // training run's warnings out of the build output.
    const write = process.stderr.write;
    process.stderr.write = () => true;
    try {
      for (const argv of [['boot'], ['sync'], ['sync', '--log-format', 'json']]) codes.push(await compiled.module.runCli([...argv, ...common], io));
    } finally {
      process.stderr.write = write;
    }
    if (codes.some((c) => c !== 0)) throw new Error(`training runs exited ${codes.join(', ')}`);
    // A pass sets --semi-space-growth-factor (src/cli/heap.ts); V8 stamps a cache with the hash of
    // the flags at serialization, so put the default back or every run would reject this cache.
    v8.setFlagsFromString('--semi-space-growth-factor=2');
    fs.writeFileSync(files.cache, compiled.script.createCachedData());
    for (const [name, script] of compiled.module.vendoredScripts()) fs.writeFileSync(path.join(vendorDir, `${name}.cache`), script.createCachedData());
    const missing = VENDORED.filter((name) => !fs.existsSync(path.join(vendorDir, `${name}.cache`)));
    if (missing.length > 0) throw new Error(`the training run never loaded ${missing.join(', ')}`);
    const check = spawnSync(process.execPath, ['-e', `process.exitCode = require(${JSON.stringify(path.join(cliDir, 'load.cjs'))}).compileBundle().script.cachedDataRejected ? 1 : 0`]);
    if (check.status !== 0) throw new Error('a fresh node rejects the code cache');
  } catch (err) {
    // Without the cache the CLI works, only slower to start; the tests still run the bundle.
    process.stderr.write(`bundle: no code cache for the CLI (${err instanceof Error ? err.message : String(err)})\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
