/**
 * The built CLI where any user can run it. A checkout under a 0700 directory (root's home, the
 * usual place for a clone) keeps an unprivileged user from reaching dist/, so a test that runs the
 * CLI as `nobody` gets a copy of the bundle (one self-contained file) in a 0755 temp dir, made once
 * per test process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './s6.js';

let copied: string | undefined;

/** Whether every directory from / down to `file`'s own allows others to pass (mode o+x). */
export function reachableByOthers(file: string): boolean {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

/** The CLI file an unprivileged user can run: the bundle itself when reachable, else a copy. */
export function readableMain(): string {
  const bundle = path.join(repoRoot(), 'dist', 'reconcile-gateways.cjs');
  if (reachableByOthers(bundle)) return bundle;
  if (copied === undefined) {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-readable-cli-'));
    fs.chmodSync(dest, 0o755);
    fs.copyFileSync(bundle, path.join(dest, 'reconcile-gateways.cjs'));
    fs.chmodSync(path.join(dest, 'reconcile-gateways.cjs'), 0o644);
    process.once('exit', () => fs.rmSync(dest, { recursive: true, force: true }));
    copied = path.join(dest, 'reconcile-gateways.cjs');
  }
  return copied;
}
