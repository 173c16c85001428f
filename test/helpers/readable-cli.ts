/**
 * The built CLI where any user can run it. A checkout under a 0700 directory (root's home, the
 * usual place for a clone) keeps an unprivileged user from reaching dist/, so a test that runs the
 * CLI as `nobody` gets a copy of what it needs at run time — dist/src, package.json and the
 * production packages of package-lock.json — in a 0755 temp dir, made once per test process.
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

/** The CLI entry point an unprivileged user can run: the build itself when reachable, else a copy. */
export function readableMain(): string {
  const root = repoRoot();
  const main = path.join(root, 'dist', 'src', 'cli', 'main.cjs');
  if (reachableByOthers(main)) return main;
  if (copied === undefined) {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-readable-cli-'));
    fs.chmodSync(dest, 0o755);
    fs.cpSync(path.join(root, 'dist', 'src'), path.join(dest, 'dist', 'src'), { recursive: true });
    fs.cpSync(path.join(root, 'package.json'), path.join(dest, 'package.json'));
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    for (const [where, meta] of Object.entries(lock.packages)) {
      if (where === '' || meta.dev === true || !fs.existsSync(path.join(root, where))) continue;
      fs.cpSync(path.join(root, where), path.join(dest, where), { recursive: true });
    }
    process.once('exit', () => fs.rmSync(dest, { recursive: true, force: true }));
    copied = dest;
  }
  return path.join(copied, 'dist', 'src', 'cli', 'main.cjs');
}
