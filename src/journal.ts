/**
 * Where the pending-restart journal lives: `restarts.json` in the scandir's private state
 * directory (`<scandir>/.reconcile-gateways/`, src/state-dir/), which the hermes user can neither
 * read, write nor replace (issue 16 #11). One function, so its location has one owner; observe
 * reads it, actuate writes it.
 */
import { type Dir } from './safe-fs/index.js';
import { openStateDir } from './state-dir/index.js';

/** File name of the pending-restart journal inside the state directory. */
export const RESTARTS_FILE = 'restarts.json';

/** An open journal location; the caller closes `dir`. */
export interface JournalLocation {
  readonly dir: Dir;
  readonly name: string;
}

/**
 * The directory and name of the restart journal for a scandir. With `create` a missing (or
 * foreign) state directory is made; without it, `undefined` when there is none of ours: nothing
 * in a directory someone else owns is trusted.
 */
export function restartJournal(scandir: Dir, create: boolean): JournalLocation | undefined {
  const dir = openStateDir(scandir, create);
  return dir === undefined ? undefined : { dir, name: RESTARTS_FILE };
}
