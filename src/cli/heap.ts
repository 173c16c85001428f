/**
 * Heap policy for a pass. Nearly everything a pass allocates (the observed tree, the rendered
 * slots, the plan) lives until the pass ends, so V8's default of doubling the young generation
 * as survival stays high (up to 16 MB semi-spaces) only adds copying and resident memory: at
 * 10,000 profiles peak RSS was ~147 MB with the default and ~112 MB with the young generation
 * kept at its initial size, at the same speed (bench/README.md). Command-line flags would do the
 * same but would also make V8 reject the code cache built without them (load.cts), so the
 * growth factor, which V8 reads each time it would grow, is set at run time — after the cached
 * scripts are compiled, since a changed flag also changes the hash V8 checks caches against (the
 * build puts the default back before it serializes the caches: scripts/bundle.mjs).
 *
 * A small pass never grows the young generation, and loading node:v8 (which loads the stream
 * modules) cost ~2.5 ms of a 10-profile run, so the flag is set only for passes over many
 * profiles, and node:v8 is loaded only then.
 */
import fs from 'node:fs';
import path from 'node:path';
import type v8 from 'node:v8';
import { requireLazily } from '../native.js';

/** From this many profiles on, a pass keeps the young generation small. */
export const LARGE_PASS_PROFILES = 256;

let applied = false;

function setFlags(flags: string): void {
  (requireLazily('node:v8') as typeof v8).setFlagsFromString(flags);
}

/**
 * Keeps the young generation small from now on if HERMES_HOME holds many profiles, judged by the
 * link count of `profiles/` (2 + its subdirectories; lstat, so a symlink counts as small). A file
 * system that reports 1 for every directory (btrfs) counts as large, which only costs loading
 * node:v8.
 */
export function applyHeapPolicy(hermesHome: string): void {
  let nlink: number;
  try {
    nlink = fs.lstatSync(path.join(hermesHome, 'profiles'), { throwIfNoEntry: false })?.nlink ?? 0;
  } catch {
    return;
  }
  if (nlink === 1 || nlink >= LARGE_PASS_PROFILES + 2) keepYoungGenerationSmall();
}

/** Keeps the young generation at its initial size from now on; idempotent. */
function keepYoungGenerationSmall(): void {
  if (applied) return;
  applied = true;
  setFlags('--semi-space-growth-factor=1');
}

/**
 * Runs `compile` (a vm.Script with a code cache) under V8's default flags, so the cache, made
 * under them, is accepted even when a pass has already set the growth factor.
 */
export function withDefaultHeapFlags<T>(compile: () => T): T {
  if (!applied) return compile();
  setFlags('--semi-space-growth-factor=2');
  try {
    return compile();
  } finally {
    setFlags('--semi-space-growth-factor=1');
  }
}
