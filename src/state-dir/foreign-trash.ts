/**
 * Reading a foreign state directory's trash: which of its entries a supervisor still runs on. It
 * only opens and looks, never through a link; moving what it finds into our trash is takeOver's.
 */
import { type Dir, closeDir, errnoCode, forEachDirEntryRaw, type ProcessTable, isSupervised, openDirIfExists } from '../safe-fs/index.js';
import { STATE_DIR, TRASH_DIR } from './private-dir.js';

/** A foreign directory's trash, or undefined when there is none or it is no directory (a file or a symlink holds no supervisor). */
export function openTrashDir(state: Dir): Dir | undefined {
  try {
    return openDirIfExists(state, TRASH_DIR);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw err;
  }
}

/** Most entries of a foreign trash looked at: a hostile one may hold millions. */
export const FOREIGN_TRASH_MAX = 10_000;

/** What a service directory's name may be to be taken over: what a prefix and a profile name make. */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/**
 * The entries of a foreign state directory's trash on which a supervisor still runs (isSupervised
 * with a process table), by name: directories among the first
 * {@link FOREIGN_TRASH_MAX}, named like a service (a name that could forge an output field is never
 * taken over). Whose the FIFO is says nothing: a slot the Hermes CLI registered, or one of
 * `superviseOwner: user`, has a hermes-owned control under a real supervisor. Never throws.
 */
export function runningRemovals(trash: Dir, table: ProcessTable): string[] {
  return scanTrash(trash, false, table).running;
}

/**
 * The supervised directories of a trash ({@link runningRemovals}), and whether some could not be
 * checked: past the first {@link FOREIGN_TRASH_MAX} entries, or named with bytes that are not
 * UTF-8 (looked at by name, such a directory would be another one), or an unreadable trash.
 */
export function scanTrash(trash: Dir, anyName: boolean, table: ProcessTable): { readonly running: string[]; readonly unchecked: boolean } {
  const running: string[] = [];
  let unchecked = false;
  let seen = 0;
  try {
    forEachDirEntryRaw(trash, (entry) => {
      if (!entry.isDir) return;
      if (++seen > FOREIGN_TRASH_MAX) {
        unchecked = true;
        return;
      }
      const name = entry.name.toString('utf8');
      if (!Buffer.from(name).equals(entry.name)) {
        unchecked = true;
        return;
      }
      if ((anyName || SERVICE_NAME.test(name)) && isSupervised(trash, name, true, table)) running.push(name);
    });
  } catch {
    unchecked = true;
  }
  return { running: running.sort(), unchecked };
}

/** The trash of a foreign state directory, opened to read (never through a link); undefined when there is none or it is unreadable. */
export function openForeignTrash(scandir: Dir): Dir | undefined {
  let state: Dir | undefined;
  try {
    state = openDirIfExists(scandir, STATE_DIR);
    return state === undefined ? undefined : openDirIfExists(state, TRASH_DIR);
  } catch {
    return undefined;
  } finally {
    closeDir(state);
  }
}
