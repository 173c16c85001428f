/**
 * The two system programs the tool runs: flock(1) (util-linux) for the run lock and mkfifo(1)
 * (coreutils) for new slots' FIFOs. They run as root, so each is spawned by absolute path, found
 * once per process in a fixed list of system directories and never through PATH: a directory on
 * root's PATH that another user can write would otherwise turn into root running their program.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FatalError } from './errors.js';

/** Where the programs are looked for, in order. */
export const SYSTEM_DIRS: readonly string[] = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/** The programs the tool runs, each with the Debian package that ships it. */
const PACKAGES = { flock: 'util-linux', mkfifo: 'coreutils' } as const;

/** A program the tool runs. */
export type SystemProgram = keyof typeof PACKAGES;

const found = new Map<SystemProgram, string>();

/**
 * The absolute path of `name` in {@link SYSTEM_DIRS}, looked up on the first call and remembered;
 * throws a FatalError naming the program, the directories searched and the package to install.
 */
export function systemProgram(name: SystemProgram): string {
  let file = found.get(name);
  if (file === undefined) {
    file = findProgram(name, SYSTEM_DIRS);
    found.set(name, file);
  }
  return file;
}

/** The first executable regular file named `name` in `dirs` (tests pass their own list). */
export function findProgram(name: SystemProgram, dirs: readonly string[]): string {
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here (or not executable): try the next directory
    }
  }
  throw new FatalError(
    `${name}(1) was not found in ${dirs.join(', ')} (it is never looked up on PATH): install ${PACKAGES[name]} in the image`,
  );
}
