/**
 * Loads the CLI for the `reconcile-gateways` binary. A cont-init step starts on every boot, and
 * at 10 profiles most of a run used to be Node compiling our code: the ES module loader
 * translating the bundle's chunks and V8 compiling each function on its first call. So the build
 * (scripts/bundle.mjs) ships the CLI as one classic script, `cli-bundle.js`, plus a V8 code cache,
 * `cli-bundle.cache`, made by running a boot and a sync at build time, and this CommonJS module
 * (CommonJS, so that Node never starts its ES module loader) compiles the pair with vm.Script. V8
 * checks the cache against its version, flags and the source and, when they do not match, ignores
 * it and compiles as usual. Without the bundle (a tsc-only build) this imports the modules.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import type { runCli } from './run.js';
import type { loadYamlParse } from './yaml.js';

/** What the bundle exports (the parser for tests: it is the package's ES build, inlined). */
export interface CliModule {
  readonly runCli: typeof runCli;
  readonly loadYamlParse?: typeof loadYamlParse;
}

/** The bundle's files, in `dir` (this module's directory by default). */
export function bundleFiles(dir: string = __dirname): { readonly script: string; readonly cache: string } {
  return { script: path.join(dir, 'cli-bundle.js'), cache: path.join(dir, 'cli-bundle.cache') };
}

/**
 * Compiles the bundle (with its code cache when there is one and `useCache`) and runs its top
 * level; returns the script (the build makes the cache from it) and the module, or undefined when
 * there is no bundle.
 */
export function compileBundle(files = bundleFiles(), useCache = true): { readonly script: vm.Script; readonly module: CliModule } | undefined {
  let source: string;
  try {
    source = fs.readFileSync(files.script, 'utf8');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  if (useCache) {
    try {
      cachedData = fs.readFileSync(files.cache);
    } catch {
      cachedData = undefined; // compiles without it
    }
  }
  const script = new vm.Script(source, { filename: files.script, ...(cachedData === undefined ? {} : { cachedData }) });
  const url = pathToFileURL(files.script).href;
  const factory = script.runInThisContext() as (url: string, require: NodeJS.Require) => CliModule;
  return { script, module: factory(url, createRequire(url)) };
}

/** The CLI: the bundle when it was built, else the modules. */
export async function loadCli(): Promise<CliModule> {
  return compileBundle()?.module ?? (await import('./run.js'));
}
