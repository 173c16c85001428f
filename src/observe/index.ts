/**
 * Observe: reads the actual state (HERMES_HOME and the scandir) into an ObservedState. It returns
 * data and decides nothing; an unreadable profile is a value with a cause, not a throw.
 */
import type { ObservedState, Settings } from '../model.js';
import type { Dir } from '../safe-fs/index.js';
import { observeHome } from './home.js';
import { observeScandir } from './scandir.js';
import { ROOT_PROFILE } from '../model/constants.js';
import type { ReadCache } from './read-cache.js';

export { observeHome, observeStateFiles } from './home.js';
export { FOREIGN_LISTED_MAX, observeScandir, probeRemovals } from './scandir.js';
export { decodeStatus, readLiveStatus, hasFifoReader } from './s6-status.js';
export { parseJsonObject, STATE_FILE_CAP } from './parse.js';
export { RESTARTS_FILE } from './restarts.js';
export {
  type ConfigCache,
  CONFIG_YAML_CAP,
  accountOf,
  detectContainerArgv,
  hermesIds,
  hostEnv,
  observeConfig,
  type YamlLib,
} from './host.js';
export { observeTrash } from './trash.js';
export { ReadCache } from './read-cache.js';

/** Which profiles a targeted pass reads: the named ones and their slots (the root is always read). */
export interface Scope {
  readonly profiles: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
}

/** What a pass reads besides the defaults. */
export interface ObserveOptions {
  /** A targeted pass: only these profiles and their slots are read. */
  readonly scope?: Scope;
  /** List each profile's stale runtime files (boot). */
  readonly runtimeFiles?: boolean;
  /** Slot and state files read by earlier passes of this process (`watch`): unchanged ones are not read again. */
  readonly readCache?: ReadCache;
  /** Largest slot file read (observeScandir's ScandirOptions). */
  readonly slotFileCap?: number;
}

/** Reads both trees; `scandir` is undefined when it does not exist yet. */
export function observe(
  home: Dir,
  scandir: Dir | undefined,
  settings: Pick<Settings, 'servicePrefix'>,
  options: ObserveOptions = {},
): ObservedState {
  const observedHome = observeHome(home, options.scope?.profiles, options.runtimeFiles === true, options.readCache);
  // Slots of no profile directory are read shallowly (observeScandir), unless profiles/ could not
  // be listed: then no profile is known to be gone.
  const profiles = observedHome.profilesRoot.kind === 'ok' ? observedHome.presentDirs : undefined;
  const scandirOptions = {
    ...(options.readCache === undefined ? {} : { readCache: options.readCache }),
    ...(profiles === undefined ? {} : { profiles }),
    ...(options.slotFileCap === undefined ? {} : { slotFileCap: options.slotFileCap }),
  };
  return { home: observedHome, scandir: observeScandir(scandir, settings, options.scope?.services, scandirOptions) };
}

/** The scope of a targeted pass over `profiles`, the root profile included. */
export function scopeOf(profiles: Iterable<string>, settings: Pick<Settings, 'servicePrefix'>): Scope {
  const names = new Set([ROOT_PROFILE, ...profiles]);
  return { profiles: names, services: new Set([...names].map((p) => `${settings.servicePrefix}${p}`)) };
}
