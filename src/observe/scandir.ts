/**
 * Reads the scandir: which `<prefix><valid name>` entries exist, their managed files, `down`
 * markers, ownership records and (with a live s6-svscan, or where this user cannot tell whether one
 * runs) their live status. Everything else in the scandir is foreign and only counted, but for
 * slots of ours under another prefix, which are named (otherPrefix). One slot is read by slot.ts.
 */
import type { FileRead, ObservedScandir, ObservedSlot, ObservedState, Settings } from '../model.js';
import { MANAGED_FILES, OWNERSHIP_FILE, ROOT_PROFILE } from '../model/constants.js';
import { isValidProfileName } from '../model/names.js';
import {
  type Dir,
  type RawEntry,
  closeDir,
  describeErrno,
  fifoReader,
  forEachDirEntryRaw,
  isControlDenied,
  isDenied,
  lstatAt,
  openDirAt,
  openSearchableDirAt,
  readFileAt,
} from '../safe-fs/index.js';
import { readPendingRestarts } from './restarts.js';
import { observeTrash } from './trash.js';
import type { ReadCache } from './read-cache.js';
import { type ScandirPass, isTrustedRecord, observeSlot, ownershipRecord } from './slot.js';

/**
 * Largest slot file read for comparison unless the pass says less (ObserveOptions.slotFileCap:
 * what the config renders, with room); anything bigger simply differs, and is rewritten unread.
 */
const SLOT_FILE_CAP = 64 * 1024;

/** What observeScandir may be told besides its scope. */
export interface ScandirOptions {
  /** The directories under `profiles/`: a slot of none is read shallowly (below). */
  readonly profiles?: ReadonlySet<string>;
  /** Largest slot file read (default SLOT_FILE_CAP). */
  readonly slotFileCap?: number;
  /** `watch`'s reads of earlier passes: an unchanged slot or file is not read again. */
  readonly readCache?: ReadCache;
}

/**
 * Reads an open scandir (undefined: the scandir does not exist yet). With `only`, slots of other
 * services are not read and `serviceCount` counts only what one readdir shows. With `profiles`
 * (the directories under `profiles/`), a slot whose profile has none is read shallowly: its
 * record, `down` marker and live state, not its files, which nothing but a slot's own profile
 * uses (it is removed or kept as it is). Thousands of directories the hermes user made, each
 * with its files hard-linked to one 64 KiB file, took a pass past a gigabyte.
 */
export function observeScandir(
  scandir: Dir | undefined,
  settings: Pick<Settings, 'servicePrefix'>,
  only?: ReadonlySet<string>,
  { readCache, profiles, slotFileCap = SLOT_FILE_CAP }: ScandirOptions = {},
): ObservedScandir {
  if (scandir === undefined) {
    return { exists: false, slots: new Map(), svscanLive: false, serviceCount: 0, pendingRestarts: new Set(), upstreamLeftovers: [] };
  }
  const svscan = svscanState(scandir);
  // When this user cannot tell, a pass reads each slot's live state where its supervise/ allows,
  // as s6-svstat run as this user would: planned (--diff) or applied, it sees the same gateways
  // up, and what it sends goes to those supervisors' control FIFOs, which their group may write.
  const readLive = svscan.live || svscan.unknown !== undefined;
  const pass: ScandirPass = {
    scandir,
    prefix: settings.servicePrefix,
    only,
    cache: readCache,
    profiles,
    readLive,
    ...slotFilesOf(slotFileCap),
  };
  const listed: Listed = {
    slots: new Map(),
    serviceCount: 0,
    upstreamLeftovers: [],
    otherPrefix: [],
    foreignListed: 0,
    foreignUnlisted: 0,
  };
  // Streamed when long: the hermes user may fill the scandir with dot files (a million of them
  // held whole took a pass to 720 MB), which are skipped at once.
  forEachDirEntryRaw(scandir, (entry) => observeEntry(pass, listed, entry));
  return completeScandir(pass, svscan, listed);
}

/** The slot files of a pass that reads at most `cap` bytes of each: built once, not per slot. */
function slotFilesOf(cap: number): Pick<ScandirPass, 'slotFiles' | 'logRun'> {
  return {
    slotFiles: MANAGED_FILES.filter((path) => !path.startsWith('log/')).map((path) => ({ name: path, path, cap })),
    logRun: { name: 'run', path: 'log/run', cap },
  };
}

/** What the scandir's listing found, filled in entry by entry (observeEntry). */
interface Listed {
  readonly slots: Map<string, ObservedSlot>;
  serviceCount: number;
  readonly upstreamLeftovers: string[];
  readonly otherPrefix: { service: string; profile: string }[];
  /** Slots of no profile and not ours met so far: past FOREIGN_LISTED_MAX they are only counted. */
  foreignListed: number;
  foreignUnlisted: number;
}

/** Records one scandir entry in `listed`: a slot in scope is read; anything else is counted or noted. */
function observeEntry(pass: ScandirPass, listed: Listed, entry: RawEntry): void {
  const name = entry.name.toString('utf8');
  if (name.startsWith('.')) {
    if (listed.upstreamLeftovers.length < UPSTREAM_LEFTOVERS_MAX && isUpstreamStaging(name, pass.prefix))
      listed.upstreamLeftovers.push(name);
    return;
  }
  if (entry.isDir || entry.isSymlink) listed.serviceCount += 1;
  const profile = name.startsWith(pass.prefix) ? name.slice(pass.prefix.length) : '';
  if (!isValidProfileName(profile)) {
    if (entry.isDir) noteStray(pass, listed, name);
    return;
  }
  if (pass.only !== undefined && !pass.only.has(name)) return;
  const shallow = pass.profiles !== undefined && profile !== ROOT_PROFILE && !pass.profiles.has(profile);
  const kind = entry.isDir ? 'dir' : entry.isSymlink ? 'symlink' : entry.isFile ? 'file' : 'other';
  const slot = observeSlot(pass, { service: name, profile, entry: kind }, shallow);
  if (!slot.owned && slot.entry === 'dir') noteStray(pass, listed, name, slot.files.get(OWNERSHIP_FILE) ?? { kind: 'missing' });
  // Nothing is ever done to a slot of no profile that is not ours: past a bound it is counted,
  // not kept (the hermes user may make a million of them in a scandir it can write).
  if (shallow && !slot.owned && ++listed.foreignListed > FOREIGN_LISTED_MAX) listed.foreignUnlisted += 1;
  else listed.slots.set(name, slot);
}

/**
 * Notes a directory of ours under another prefix (otherPrefix), in a full pass. `record`: the
 * ownership record observeSlot already read, else it is read here.
 */
function noteStray(pass: ScandirPass, listed: Listed, name: string, record?: FileRead): void {
  if (pass.only !== undefined) return;
  const profile = ownedElsewhere(record ?? readRecord(pass.scandir, name), name, pass.prefix);
  if (profile !== undefined) listed.otherPrefix.push({ service: name, profile });
}

/** The observed scandir: what its listing found, with s6-svscan's state, the restart journal and the trash. */
function completeScandir(pass: ScandirPass, svscan: ReturnType<typeof svscanState>, listed: Listed): ObservedScandir {
  const { slots, serviceCount, upstreamLeftovers, otherPrefix, foreignUnlisted } = listed;
  upstreamLeftovers.sort();
  const journal = readPendingRestarts(pass.scandir);
  const journalUid = journal.uid === undefined ? {} : { journalUid: journal.uid };
  const trash = observeTrash(pass.scandir, pass.prefix, pass.only);
  const unknown = svscan.unknown === undefined ? {} : { svscanUnknown: svscan.unknown };
  return {
    exists: true,
    slots,
    svscanLive: svscan.live,
    ...unknown,
    serviceCount,
    pendingRestarts: journal.services,
    ...journalUid,
    upstreamLeftovers,
    trash,
    ...(otherPrefix.length === 0 ? {} : { otherPrefix: otherPrefix.sort((a, b) => (a.service < b.service ? -1 : 1)) }),
    ...(foreignUnlisted === 0 ? {} : { foreignUnlisted }),
  };
}

/**
 * The profile a directory's ownership record names when the record is ours and names the directory,
 * but the name is not the service prefix and that profile (a slot an earlier `servicePrefix` made:
 * `gateway-coder` under `gw-`, or under `gate`, where it reads as profile `way-coder`); never throws.
 */
function ownedElsewhere(read: FileRead, name: string, prefix: string): string | undefined {
  if (read.kind !== 'file' || !isTrustedRecord(read)) return undefined; // as isOwnershipRecord
  const record = ownershipRecord(read);
  return record?.service === name && name !== `${prefix}${record.profile}` ? record.profile : undefined;
}

/** The ownership record of a directory observeSlot does not read (no slot name); never throws. */
function readRecord(scandir: Dir, name: string): FileRead {
  let dir: Dir | undefined;
  try {
    dir = openDirAt(scandir, name);
    return lstatAt(dir, OWNERSHIP_FILE) === undefined ? { kind: 'missing' } : readFileAt(dir, OWNERSHIP_FILE, 4096);
  } catch (err) {
    return { kind: 'refused', reason: describeErrno(err), code: 'EUNKNOWN' };
  } finally {
    closeDir(dir);
  }
}

/** Upstream's staging name `.<prefix><valid name>.tmp` (#54834). */
function isUpstreamStaging(name: string, prefix: string): boolean {
  const stem = `.${prefix}`;
  return name.startsWith(stem) && name.endsWith('.tmp') && isValidProfileName(name.slice(stem.length, -4));
}

/**
 * Whether an s6-svscan listens on `<scandir>/.s6-svscan/control`, and why this user cannot tell
 * when it may not look: s6-svscan makes `.s6-svscan` 0700, so a non-root user gets EACCES there,
 * whether or not s6-svscan runs.
 */
export function svscanState(scandir: Dir): { readonly live: boolean; readonly unknown?: string } {
  const denied = { live: false, unknown: '.s6-svscan/control: permission denied' };
  let control: Dir | undefined;
  try {
    // Search-only (0711) with a control this user may write (the cont-init example hands `control`
    // to hermes) counts as live for it, as s6-svscanctl run as that user finds it.
    control = openSearchableDirAt(scandir, '.s6-svscan');
    if (control === undefined) return { live: false };
    const reader = fifoReader(control, 'control');
    return reader === 'denied' ? denied : { live: reader === 'reader' };
  } catch (err) {
    return isDenied(err) ? denied : { live: false };
  } finally {
    closeDir(control);
  }
}

/** Upstream staging leftovers one boot collects at most (the next boot deletes the rest). */
const UPSTREAM_LEFTOVERS_MAX = 10_000;
/** Slot-named entries of no profile and not ours that one pass keeps (ObservedScandir.foreignUnlisted). */
export const FOREIGN_LISTED_MAX = 1000;

/**
 * Marks the slots a pass would remove whose or whose logger's `supervise/control` this user may not
 * open (ObservedSlot.controlDenied): it could not stop their supervisors, so diff plans their
 * removal refused. Only those slots are probed (a non-root pass's few removals, not every slot);
 * root is never denied and is not asked.
 */
export function probeRemovals(scandir: Dir, observed: ObservedState, services: readonly string[]): ObservedState {
  const denied = services.filter((service) => isControlDenied(scandir, service));
  if (denied.length === 0) return observed;
  const slots = new Map(observed.scandir.slots);
  for (const service of denied) {
    const slot = slots.get(service);
    if (slot !== undefined) slots.set(service, { ...slot, controlDenied: true });
  }
  return { ...observed, scandir: { ...observed.scandir, slots } };
}
