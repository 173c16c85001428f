/**
 * Observe: reads the actual state (HERMES_HOME and the scandir) into an ObservedState. It returns
 * data and decides nothing; an unreadable profile is a value with a cause, not a throw.
 */
import type { ObservedState, Settings } from '../model.js';
import type { Dir } from '../safe-fs.js';
import { observeHome } from './home.js';
import { observeScandir } from './scandir.js';

export { observeHome } from './home.js';
export { observeScandir, isSvscanLive } from './scandir.js';
export { decodeStatus, readLiveStatus, hasFifoReader } from './s6-status.js';
export { parseJsonObject, STATE_FILE_CAP } from './parse.js';
export { RESTARTS_FILE } from './restarts.js';

/** Reads both trees; `scandir` is undefined when it does not exist yet. */
export function observe(home: Dir, scandir: Dir | undefined, settings: Pick<Settings, 'servicePrefix'>): ObservedState {
  return { home: observeHome(home), scandir: observeScandir(scandir, settings) };
}
