/**
 * Making a state directory: under a temporary dot name, where it gets its marker, then renamed into
 * place; and deleting the temporary directories of runs killed meanwhile. It replaces nothing but an
 * empty directory, and deletes no live run's temporary directory, nor one that holds more than a marker.
 */
import fs from 'node:fs';
import {
  type Dir,
  REMOVAL_BUDGET,
  closeDir,
  forEachDirEntryRaw,
  isProcessAlive,
  listDirRaw,
  lstatAt,
  mkdirAt,
  pathAt,
  removeTreeAt,
  renameAt,
  unlinkAt,
  writeFileAt,
} from '../safe-fs/index.js';
import { STATE_DIR, STATE_MARKER, openPrivateIfExists } from './private-dir.js';

/** What the marker ({@link STATE_MARKER}) says to whoever finds the directory. */
const MARKER_TEXT =
  'The private state of reconcile-gateways (docs/security.md): the run lock, staging directories, trash and restart journal.\n';

/** Prefix of the temporary names a state directory is made under (`.reconcile-gateways.new.<pid>.<random>`). */
const TEMP_PREFIX = `${STATE_DIR}.new.`;

/**
 * Deletes the temporary directories of runs killed while making the state directory (their pid is
 * gone): a run makes one only when there is none, so the next one to make it finds them. Only a
 * private directory of ours holding nothing but the marker (or nothing yet) is one: a state
 * directory renamed to such a name (its scandir's owner can) holds a lock, a trash or a journal,
 * and stays. Never throws; what it cannot delete stays, under its dot name.
 */
function clearDeadTemps(scandir: Dir): void {
  try {
    const dead: string[] = [];
    forEachDirEntryRaw(scandir, (entry) => {
      const name = entry.name.toString('latin1');
      const pid = /^\.reconcile-gateways\.new\.([1-9][0-9]{0,9})\.[a-z0-9]+$/.exec(name)?.[1];
      if (pid !== undefined && entry.isDir && dead.length < DEAD_TEMPS_MAX && !isProcessAlive(Number(pid))) dead.push(name);
    });
    for (const name of dead) {
      try {
        clearBareTemp(scandir, name);
      } catch {
        // Left for the next run that makes the state directory.
      }
    }
  } catch {
    // An unreadable scandir: making the state directory says what is wrong with it.
  }
}

/**
 * Deletes `name` when it is a private directory of ours holding at most the marker (and its temp
 * file): they are unlinked through the directory checked, and then the name is rmdir(2)ed, which
 * removes only an empty directory, so one swapped in under the name meanwhile (a state directory)
 * stays. Throws what goes wrong.
 */
function clearBareTemp(scandir: Dir, name: string): void {
  const dir = openPrivateIfExists(scandir, name);
  if (dir === undefined) return;
  try {
    const entries = listDirRaw(dir);
    if (!entries.every((e) => e.isFile && MARKER_NAMES.has(e.name.toString('latin1')))) return;
    for (const e of entries) unlinkAt(dir, e.name.toString('latin1'));
  } finally {
    closeDir(dir);
  }
  fs.rmdirSync(pathAt(scandir, name));
}

const MARKER_NAMES: ReadonlySet<string> = new Set([STATE_MARKER, `.${STATE_MARKER}.rg-tmp`]);

/** Most dead runs' temporary directories one run deletes. */
const DEAD_TEMPS_MAX = 100;

/**
 * Makes a state directory: under a temporary dot name first, where it gets its marker, then renamed
 * to the state directory's name. That replaces nothing there but an empty directory (someone
 * else's: ours are never empty), and fails when anything else is there. What the name leads to
 * afterwards must be the directory made: in a scandir that is not sticky, its writers could rename
 * another one under the temporary name meanwhile (EEXIST: look again).
 */
export function makeStateDir(scandir: Dir): Dir {
  clearDeadTemps(scandir);
  const temp = `${TEMP_PREFIX}${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  const made = mkdirAt(scandir, temp, 0o700);
  try {
    writeFileAt(made, STATE_MARKER, MARKER_TEXT, { mode: 0o600, fsync: false });
    renameAt(scandir, temp, scandir, STATE_DIR);
    const held = fs.fstatSync(made.fd);
    const named = lstatAt(scandir, STATE_DIR);
    if (named?.ino !== held.ino || named.dev !== held.dev)
      throw Object.assign(new Error(`EEXIST: ${scandir.path}/${STATE_DIR} was replaced while being made`), { code: 'EEXIST' });
    return { fd: made.fd, path: `${scandir.path}/${STATE_DIR}` };
  } catch (err) {
    closeDir(made);
    try {
      removeTreeAt(scandir, temp, { left: REMOVAL_BUDGET });
    } catch {
      // Left under its dot name, which s6-svscan skips.
    }
    throw err;
  }
}
