/**
 * Loads the YAML parser for Hermes' config.yaml. The build (scripts/bundle.mjs) ships the `yaml`
 * package's own ES build as one classic script with a V8 code cache next to it; compiled from the
 * cache it loads in ~4 ms instead of ~30 ms for the package's CommonJS files, and this runs on
 * every boot. Without the vendored copy (a tsc-only build) it falls back to the package.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

type Parse = (text: string) => unknown;

let loaded: Parse | undefined;

export function loadYamlParse(): Parse {
  loaded ??= loadVendored() ?? (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse;
  return loaded;
}

function loadVendored(): Parse | undefined {
  const file = fileURLToPath(new URL('../vendor/yaml.js', import.meta.url));
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(file.replace(/\.js$/, '.cache'));
  } catch {
    cachedData = undefined; // compiles without the cache
  }
  const script = new vm.Script(source, { filename: file, ...(cachedData === undefined ? {} : { cachedData }) });
  const namespace = script.runInThisContext() as { parse?: unknown };
  return typeof namespace.parse === 'function' ? (namespace.parse as Parse) : undefined;
}
