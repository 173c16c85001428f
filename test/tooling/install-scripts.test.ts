/**
 * Issue 12: `npm ci` runs no package's install script and needs no compiler. npm records in
 * package-lock.json which packages have one (`hasInstallScript`), dev dependencies included, so
 * a dependency that brings one back fails here, before anyone's `npm ci` runs it.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { repoRoot } from '../helpers/s6.js';

interface LockEntry {
  readonly hasInstallScript?: boolean;
  readonly version?: string;
}

test('no package in the lock file, dev dependencies included, has an install script', (t) => {
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  t.true(Object.keys(lock.packages).length > 10, 'the lock file lists the installed packages');
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript === true)
    .map(([where, entry]) => `${where}@${entry.version ?? '?'}`);
  t.deepEqual(withScripts, []);
});
