/**
 * A child process for the crash tests: replaces one file with writeFileAt (the primitive every
 * persisted file goes through: scripts, ownership records, the restart journal, the legacy seed)
 * over and over, alternating two contents, until it is killed. Prints `ready` after the first
 * replacement. Usage: node write-driver.js DIR NAME FILE_A FILE_B.
 */
import fs from 'node:fs';
import { closeDir, openRoot, writeFileAt } from '../../../src/safe-fs/index.js';

const [dirPath, name, fileA, fileB] = process.argv.slice(2);
if (dirPath === undefined || name === undefined || fileA === undefined || fileB === undefined)
  throw new Error('usage: DIR NAME FILE_A FILE_B');
const contents = [fs.readFileSync(fileA), fs.readFileSync(fileB)];
const dir = openRoot(dirPath);
for (let i = 0; ; i += 1) {
  writeFileAt(dir, name, contents[i % 2] ?? '', { mode: 0o644, fsync: i % 3 === 0 });
  if (i === 0) process.stdout.write('ready\n');
  if (i === Number.MAX_SAFE_INTEGER) break;
}
closeDir(dir);
