/**
 * Owns the tool's private state directory in the scandir: opening it (making it, or replacing a
 * foreign one) and the warnings a pass gives about it. It never uses as ours a directory under its
 * name that is not this user's and 0700.
 *
 * The tool's own state inside the scandir: `<scandir>/.reconcile-gateways/`, a directory owned by
 * the running user (root) with mode 0700, holding the run lock, the per-run staging directories,
 * the trash and the restart journal (src/journal.ts). It must sit on the scandir's file system (a slot is published
 * and removed by rename(2)), and the hermes user, who may write the scandir, must not be able to
 * reach, rename or replace it: 0700 keeps them out of it, and a sticky scandir (`chmod +t`, done by
 * the example cont-init) keeps them from renaming it (issue 16 #8, #11). A directory under that
 * name someone else owns, or with another mode, is never used: it is renamed aside, deleted and
 * made again. A slot pending removal in its trash whose supervisor still runs (a pass run as
 * another user left it) is taken over first: it moves into the new trash, whose purge stops it.
 *
 * `private-dir.ts` holds the names and what makes a directory ours; `make.ts` makes one under a
 * temporary name; `take-over.ts` replaces a foreign one, taking over its running removals, which
 * `foreign-trash.ts` finds.
 */
import fs from 'node:fs';
import { type Dir, closeDir, describeType, errnoCode, lstatAt, pathAt } from '../safe-fs/index.js';
import { makeStateDir } from './make.js';
import { STATE_DIR, isOthersDir, openPrivateIfExists } from './private-dir.js';
import { type TakeOverReport, setForeignAside, takeOver } from './take-over.js';

export { FOREIGN_TRASH_MAX, openForeignTrash, runningRemovals } from './foreign-trash.js';
export {
  STAGING_PREFIX,
  STATE_DIR,
  STATE_MARKER,
  TRASH_DIR,
  defaultLockPath,
  openPrivateIfExists,
  openPrivateSubdir,
} from './private-dir.js';
export type { TakeOverReport } from './take-over.js';

/**
 * Opens the state directory of `scandir`. With `create` a missing one is made and a foreign one
 * (someone else's, or not 0700) is replaced (what happened to its running removals goes to
 * `report`); without it (observe, dry runs) a missing or foreign one is `undefined`: nothing in it
 * is trusted.
 */
export function openStateDir(scandir: Dir, create: boolean, report?: TakeOverReport): Dir | undefined {
  // Foreign directories renamed aside, whose running removals are taken over once ours is open.
  const asides: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const existing = openPrivateIfExists(scandir, STATE_DIR);
    if (existing !== undefined) return takeOver(scandir, asides, existing, report);
    if (!create) return undefined;
    // Runs that start together on a new scandir all find it missing: one makes it, the others
    // cannot rename theirs onto it (ENOTEMPTY) and use it. An entry there is replaced only when it is still not ours on a second look
    // (a concurrent run may have made it just now), and it is renamed aside first, so that of two
    // runs that both judged it foreign only one moves it: the other finds it gone and goes round.
    const seen = lstatAt(scandir, STATE_DIR);
    if (seen !== undefined) {
      const made = openPrivateIfExists(scandir, STATE_DIR);
      if (made !== undefined) return takeOver(scandir, asides, made, report);
      const aside = setForeignAside(scandir, seen);
      if (aside !== undefined) asides.push(aside);
    }
    let made: Dir;
    try {
      made = makeStateDir(scandir);
    } catch (err) {
      // EEXIST, ENOTEMPTY, ENOTDIR: something was put under the name meanwhile (a concurrent run's
      // directory, or another entry). ENOENT: the temporary directory was renamed away (a scandir
      // that is not sticky). Look again.
      const code = errnoCode(err);
      if (!RETRIED.has(code) || attempt >= STATE_DIR_ATTEMPTS) throw err;
      continue;
    }
    return takeOver(scandir, asides, made, report);
  }
}

/** What making the state directory meets when someone else changed the name meanwhile: look again. */
const RETRIED: ReadonlySet<string> = new Set(['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'ENOENT']);

/**
 * Throws what `openStateDir(scandir, true)` would meet, without making or replacing anything (a
 * watcher checks this at start, and over a converged scandir writes nothing): EACCES for another
 * user's directory, or for a missing one in a scandir this user cannot write.
 */
export function checkStateDir(scandir: Dir): void {
  const existing = openStateDir(scandir, false);
  if (existing !== undefined) return closeDir(existing);
  const seen = lstatAt(scandir, STATE_DIR);
  if (seen === undefined) fs.accessSync(`/proc/self/fd/${scandir.fd}`, fs.constants.W_OK);
  else if (isOthersDir(seen)) fs.accessSync(pathAt(scandir, STATE_DIR), fs.constants.W_OK | fs.constants.X_OK);
}

/** How often making the state directory meets one made meanwhile before giving up. */
const STATE_DIR_ATTEMPTS = 5;

/**
 * What is under the state directory's name when it is not this user's private directory and a
 * pass of this user would replace it, for the warning that says so (`a directory of uid 1000`, `a
 * symlink`); undefined when there is none, it is ours, or it is another user's that a user other
 * than root cannot replace (its pass stops, exit 111). Never throws.
 */
export function foreignStateOf(scandir: Dir): string | undefined {
  try {
    const own = openPrivateIfExists(scandir, STATE_DIR);
    if (own !== undefined) {
      closeDir(own);
      return undefined;
    }
    const st = lstatAt(scandir, STATE_DIR);
    if (st === undefined || isOthersDir(st)) return undefined;
    if (!st.isDirectory()) return describeType(st);
    return st.uid !== process.geteuid?.()
      ? `a directory of uid ${st.uid}`
      : `a directory of mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
  } catch {
    return undefined;
  }
}

/**
 * A warning when root runs over a scandir the hermes user can write that is not sticky: hermes
 * can then rename root's entries (the state directory, slots) and swap in others (issue 16 #8).
 * The sticky bit does not bind a directory's owner, so a scandir root does not own is warned about
 * whatever its mode: its owner can rename the state directory, and with it the run lock.
 */
export function stickyWarning(scandir: Dir, hermes: { readonly uid: number; readonly gid: number }): string | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  const st = fs.fstatSync(scandir.fd);
  if (st.uid !== 0)
    return `scandir ${scandir.path} is owned by uid ${st.uid}, not root: its owner can rename the slots and the tool's state directory (its trash, and the run lock unless --lock-file puts it elsewhere), sticky bit or not; run chown root on it (root:hermes with mode 1775 lets hermes register slots, as the cont-init example sets)`;
  // Gateways run as root (uid and gid 0 in the config) write what they like: only others count then.
  const byHermes = (hermes.uid !== 0 && st.uid === hermes.uid) || (hermes.gid !== 0 && st.gid === hermes.gid && (st.mode & 0o020) !== 0);
  const byAll = (st.mode & 0o002) !== 0;
  if (!(byHermes || byAll) || (st.mode & 0o1000) !== 0) return undefined;
  const [who, they] = byHermes ? [`uid ${hermes.uid}`, 'that user'] : ['every user', 'any user'];
  return `scandir ${scandir.path} is writable by ${who} and not sticky: ${they} can rename the slots and the tool's state; run chmod +t on it`;
}
