/**
 * Packages the CLI loads only when a run needs them, shipped by the build (scripts/bundle.mjs) as
 * classic scripts in dist/src/vendor, each with its own V8 code cache: yaml (config.yaml, read by
 * almost every boot) and winston (any run that logs a warning). As CommonJS files from
 * node_modules they took ~30 ms and ~40 ms to resolve and compile; from a cached script, a few.
 * They are kept out of the CLI's own cache because V8 deserializes a cache whole: a run that
 * needs neither would pay for both. Without the vendored copy (a tsc-only build) the package is
 * required from node_modules.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { withDefaultHeapFlags } from './heap.js';

/** The vendored packages. */
export type VendoredName = 'yaml' | 'winston';

const requireHere = createRequire(import.meta.url);
const VENDOR_DIR = fileURLToPath(new URL('../vendor/', import.meta.url));
const loaded = new Map<VendoredName, unknown>();
const scripts = new Map<VendoredName, vm.Script>();

/** `require(name)`, from the vendored script when the build made one. */
export function requireVendored<T>(name: VendoredName): T {
  if (loaded.has(name)) return loaded.get(name) as T;
  const value = loadScript(name) ?? requireHere(name);
  loaded.set(name, value);
  return value as T;
}

/** The scripts compiled so far, for the build to make their caches from after its training run. */
export function vendoredScripts(): ReadonlyMap<VendoredName, vm.Script> {
  return scripts;
}

function loadScript(name: VendoredName): unknown {
  const file = path.join(VENDOR_DIR, `${name}.js`);
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(path.join(VENDOR_DIR, `${name}.cache`));
  } catch {
    cachedData = undefined; // compiles without it
  }
  // winston is first needed in the middle of a pass, after heap.ts changed a V8 flag.
  const script = withDefaultHeapFlags(() => new vm.Script(source, { filename: file, ...(cachedData === undefined ? {} : { cachedData }) }));
  scripts.set(name, script);
  const factory = script.runInThisContext() as (require: NodeJS.Require) => unknown;
  return factory(createRequire(file));
}
