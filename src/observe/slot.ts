/**
 * Reads one slot of the scandir, as observeScandir (scandir.ts) asks: its managed files, foreign
 * entries, `down` marker, ownership record (whether the slot is ours) and live status. A slot of no
 * profile is read shallowly (its record but no other file, no foreign entries); one that cannot be
 * read is refused.
 */
import type { FileRead, ObservedSlot } from '../model.js';
import { OWNERSHIP_FILE } from '../model/constants.js';
import { LOG_ENTRIES, SLOT_ENTRIES, isKnownEntry } from '../model/adoption.js';
import { keepFirst, nameShown } from '../model/text.js';
import {
  type Dir,
  closeDir,
  describeErrno,
  describeDir,
  forEachDirEntryRaw,
  lstatAt,
  openDirAt,
  readDirAt,
  readFileAt,
} from '../safe-fs/index.js';
import { parseJsonObject } from './parse.js';
import { readLiveStatus, readLoggerStatus } from './s6-status.js';
import type { CachedFile, ReadCache } from './read-cache.js';

/** What a pass reads every slot with: built once per pass. */
export interface ScandirPass {
  readonly scandir: Dir;
  readonly prefix: string;
  /** A targeted pass's services: no other slot is read, and no stray looked into (otherPrefix). */
  readonly only: ReadonlySet<string> | undefined;
  /** `watch`'s cache; a slot read shallowly does without it. */
  readonly cache: ReadCache | undefined;
  /** The directories under `profiles/` (ScandirOptions.profiles). */
  readonly profiles: ReadonlySet<string> | undefined;
  /** Whether each slot's live status is read: s6-svscan runs, or this user cannot tell. */
  readonly readLive: boolean;
  /** The slot's own managed files readContents reads, with the pass's cap. */
  readonly slotFiles: readonly CachedFile[];
  /** Its logger's `run`, with the pass's cap. */
  readonly logRun: CachedFile;
}

/** Which slot a scandir entry is: its service, its profile and what the entry is. */
type SlotEntry = Pick<ObservedSlot, 'service' | 'profile' | 'entry'>;

/** Reads one slot: refused unless a directory; read shallowly (its record and `down` marker) when `shallow`. */
export function observeSlot(pass: ScandirPass, key: SlotEntry, shallow: boolean): ObservedSlot {
  const { service, profile, entry } = key;
  if (entry !== 'dir') return refusedSlot(key, `is a ${entry}`);
  const cache = shallow ? undefined : pass.cache;
  let slot: Dir | undefined;
  let log: Dir | undefined;
  try {
    slot = openDirAt(pass.scandir, service);
    const opened = slot;
    const { meta: dir, identity, stamp, ctimeMs } = describeDir(slot);
    const logRead = readDirAt(slot, 'log');
    const logDir = logRead.meta;
    // log/ is opened once, when first needed: for its run, and for its logger's live state.
    const openLog = logDir.kind === 'dir' ? (): Dir => (log ??= openDirAt(opened, 'log')) : undefined;
    const stamps = `${stamp}/${logRead.stamp}`;
    const contents = shallow
      ? readShallow(slot, service, profile)
      : (cache?.view<SlotContents>(service, stamps) ?? readContents(pass, slot, openLog, key));
    if (!shallow) cache?.keepView(service, stamps, contents, Math.max(ctimeMs, logRead.ctimeMs));
    const cached = cache === undefined ? undefined : { cache, service };
    const live = pass.readLive ? readLiveStatus(slot, cached) : undefined;
    // Literals, not spreads: spread-built slots each got a hidden class of their own (~330 bytes a
    // slot, 3 MB at 10 000 slots, in a heap snapshot).
    const { files, hasDownMarker, owned, foreignEntries } = contents;
    if (live === 'denied') {
      return { service, profile, entry, dir, logDir, files, hasDownMarker, owned, foreignEntries, identity, liveDenied: true };
    }
    if (live === undefined) return { service, profile, entry, dir, logDir, files, hasDownMarker, owned, foreignEntries, identity };
    const loggerLive = shallow || openLog === undefined ? undefined : readLoggerStatus(openLog, cached);
    return loggerLive === undefined
      ? { service, profile, entry, dir, logDir, files, hasDownMarker, owned, foreignEntries, identity, live }
      : { service, profile, entry, dir, logDir, files, hasDownMarker, owned, foreignEntries, identity, live, loggerLive };
  } catch (err) {
    return refusedSlot(key, describeErrno(err));
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}

/** A slot that could not be looked into, for `reason`: it holds nothing. */
function refusedSlot({ service, profile, entry }: SlotEntry, reason: string): ObservedSlot {
  return {
    service,
    profile,
    entry,
    dir: { kind: 'refused', reason },
    logDir: { kind: 'missing' },
    files: new Map<string, FileRead>(),
    hasDownMarker: false,
    owned: false,
    foreignEntries: NONE,
  };
}

/** What a slot holds: everything observeSlot reads but the directories and the live status. */
interface SlotContents {
  readonly files: ReadonlyMap<string, FileRead>;
  readonly hasDownMarker: boolean;
  readonly owned: boolean;
  readonly foreignEntries: readonly string[];
}

const NONE: readonly string[] = [];

/**
 * Counts the entries of `dir` outside `known` and keeps the first few in sort order (so a message
 * names the same ones whatever the file system's order), as `prefix` + name, with any byte that is
 * not UTF-8 as `\xNN`. A long listing is streamed, never held.
 */
function foreignIn(dir: Dir, known: ReadonlySet<string>, prefix: string, out: Foreign): void {
  forEachDirEntryRaw(
    dir,
    (entry) => {
      const name = entry.name.toString('utf8');
      if (isKnownEntry(name, known)) return;
      out.count += 1;
      const shown = `${prefix}${nameShown(entry.name)}`;
      keepFirst(out.names, shown, FOREIGN_NAMED);
    },
    64,
  );
}

/** How many foreign entries a slot's message names; the rest are counted. */
const FOREIGN_NAMED = 5;

interface Foreign {
  readonly names: string[];
  count: number;
}

/** What a slot holds, read whole: its managed files, its `down` marker, and, unless it is ours, its foreign entries. */
function readContents(pass: ScandirPass, slot: Dir, openLog: (() => Dir) | undefined, { service, profile }: SlotEntry): SlotContents {
  const files = new Map<string, FileRead>();
  for (const file of pass.slotFiles) files.set(file.path, readSlotFile(pass, slot, file, service));
  const owned = isOwnershipRecord(files.get(OWNERSHIP_FILE), service, profile);
  const foreign: Foreign = { names: [], count: 0 };
  if (!owned) foreignIn(slot, SLOT_ENTRIES, '', foreign);
  if (openLog !== undefined) {
    const log = openLog();
    files.set(pass.logRun.path, readSlotFile(pass, log, pass.logRun, service));
    if (!owned) foreignIn(log, LOG_ENTRIES, 'log/', foreign);
  }
  const more = foreign.count - foreign.names.length;
  const foreignEntries = foreign.count === 0 ? NONE : more > 0 ? [...foreign.names, `+${more} more`] : foreign.names;
  return { files, hasDownMarker: lstatAt(slot, 'down') !== undefined, owned, foreignEntries };
}

/** A slot file, through the pass's cache (kept under the slot's service) when there is one. */
function readSlotFile(pass: ScandirPass, dir: Dir, file: CachedFile, service: string): FileRead {
  return pass.cache === undefined ? readFileAt(dir, file.name, file.cap) : pass.cache.read(dir, file, service);
}

/** A slot of no profile: its record (whether it is ours) and `down` marker; no other file. */
function readShallow(slot: Dir, service: string, profile: string): SlotContents {
  const record = readFileAt(slot, OWNERSHIP_FILE, 4096);
  const files = new Map<string, FileRead>([[OWNERSHIP_FILE, record]]);
  return {
    files,
    hasDownMarker: lstatAt(slot, 'down') !== undefined,
    owned: isOwnershipRecord(record, service, profile),
    foreignEntries: NONE,
  };
}

/**
 * A record counts when it parses and names this tool, this service and this profile, and, for a
 * pass run as root, when root wrote it. One the hermes user wrote into a directory it made is no
 * proof of anything: counted as ours, it made root adopt a slot holding hermes' `log/finish` (run
 * as root), and slip past the bound on foreign slots. A pass run as another user (hermes, or an
 * operator's `status` or `--diff`) has nothing of root's to give away, and reads records whoever
 * wrote them (root's slots look as they are, and hermes-mode slots are hermes').
 */
function isOwnershipRecord(read: FileRead | undefined, service: string, profile: string): boolean {
  if (read?.kind !== 'file' || !isTrustedRecord(read)) return false;
  const record = ownershipRecord(read);
  return record?.service === service && record.profile === profile;
}

/**
 * Which records count (isOwnershipRecord): root's, and for a pass not run as root anyone's. One
 * with another name too is not root's word for this directory: a hard link the hermes user kept
 * to a record of root's (where `protected_hardlinks` is off), put in a directory of its own.
 */
export const isTrustedRecord = (read: Extract<FileRead, { kind: 'file' }>): boolean =>
  (read.uid === 0 && read.links === undefined) || (process.geteuid?.() ?? 0) !== 0;

/** The service and profile an ownership record of this tool names. */
export function ownershipRecord(read: FileRead | undefined): { readonly service: string; readonly profile: string } | undefined {
  if (read === undefined || read.kind !== 'file') return undefined;
  const parsed = parseJsonObject(read.bytes);
  if (!parsed.ok || parsed.value['managedBy'] !== 'reconcile-gateways') return undefined;
  const { service, profile } = parsed.value;
  return typeof service === 'string' && typeof profile === 'string' ? { service, profile } : undefined;
}
