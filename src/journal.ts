/**
 * Where the pending-restart journal lives. One function, so moving it (for example into a
 * root-owned state directory) changes one place; observe reads it, actuate writes it.
 */
import type { Dir } from './safe-fs/index.js';

/** File name of the pending-restart journal (a dot name: s6-svscan ignores it). */
export const RESTARTS_FILE = '.reconcile-gateways.restarts.json';

/** The directory and name of the restart journal for a scandir. */
export function restartJournal(scandir: Dir): { readonly dir: Dir; readonly name: string } {
  return { dir: scandir, name: RESTARTS_FILE };
}
