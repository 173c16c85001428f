/**
 * Reads HERMES_HOME: the root profile, the named candidates under `profiles/`, their state and
 * lifecycle files, and deletion tombstones. Never follows a symlink; one bad profile becomes a
 * value with a reason, never an exception.
 */
import type { FileRead, Lifecycle, ObservedHome, ObservedProfile, ProfilesRoot, RootStateEntry, StateFile } from '../model.js';
import { PASS_USER, ROOT_PROFILE, STALE_RUNTIME_FILES, STATE_FILE } from '../model/constants.js';
import { invalidNameReason } from '../model/names.js';
import {
  type Dir,
  type RawEntry,
  closeDir,
  describeErrno,
  describeType,
  errnoCode,
  forEachDirEntryRaw,
  lstatAt,
  openDirAt,
  openDirIfExists,
  readFileAt,
} from '../safe-fs/index.js';
import { STATE_FILE_CAP, parseLifecycle, parseStateFile } from './parse.js';
import type { CachedFile, ReadCache } from './read-cache.js';

const TOMBSTONES = '.deleted';

/**
 * Reads every profile under an open HERMES_HOME. With `only`, named profiles outside it are not
 * read (their directories still count as present): the root profile is always read. With
 * `runtimeFiles`, each profile's stale runtime files are listed too (boot's sweep needs them).
 */
export function observeHome(home: Dir, only?: ReadonlySet<string>, runtimeFiles = false, cache?: ReadCache): ObservedHome {
  const read = reader(cache, '/'); // a group no service or profiles/<name> can be
  const root: ObservedProfile = {
    name: ROOT_PROFILE,
    isRoot: true,
    state: read(home, STATE, parseStateFile),
    lifecycle: readLifecycle(home, read),
    ...(runtimeFiles ? { runtimeFiles: listRuntimeFiles(home) } : {}),
  };
  const listing = listProfiles(home, only, runtimeFiles, cache);
  return { ...listing, profiles: [root, ...listing.profiles], rootStateEntry: rootStateEntry(home) };
}

/** Reads and parses a profile's small files, through `watch`'s cache when there is one (`group`: the profile's path). */
type Reader = <T>(dir: Dir, file: CachedFile, parse: (read: FileRead) => T) => T;

function reader(cache: ReadCache | undefined, group: string): Reader {
  if (cache === undefined) return (dir, file, parse) => parse(readFileAt(dir, file.name, file.cap));
  return (dir, file, parse) => cache.readParsed(dir, file, group, parse);
}

/** A profile's state file, kept under its name. */
const STATE: CachedFile = { name: STATE_FILE, path: STATE_FILE, cap: STATE_FILE_CAP };

/** A profile's lifecycle file, in its `state/` directory, kept under its name. */
const LIFECYCLE: CachedFile = { name: 'gateway.lifecycle.json', path: 'gateway.lifecycle.json', cap: STATE_FILE_CAP };

/** Which stale runtime files exist in a profile directory (any type: a symlink is unlinked, not followed). */
function listRuntimeFiles(dir: Dir): string[] {
  return STALE_RUNTIME_FILES.filter((name) => {
    try {
      return lstatAt(dir, name) !== undefined;
    } catch {
      return false;
    }
  });
}

/** What is at the root state file's path: seeds write only where nothing is. */
function rootStateEntry(home: Dir): RootStateEntry {
  let st: ReturnType<typeof lstatAt>;
  try {
    st = lstatAt(home, STATE_FILE);
  } catch (err) {
    return { kind: 'blocked', reason: `cannot be inspected (${describeErrno(err)})` };
  }
  if (st === undefined) return { kind: 'absent' };
  return st.isFile() ? { kind: 'file' } : { kind: 'blocked', reason: `is ${describeType(st)}` };
}

interface Listing {
  readonly profilesRoot: ProfilesRoot;
  readonly profiles: readonly ObservedProfile[];
  readonly tombstones: ReadonlyMap<string, number>;
  readonly presentDirs: ReadonlySet<string>;
  readonly notProfiles: ReadonlySet<string>;
  readonly profileOutOfScope: boolean;
  readonly shadowedDefault: boolean;
}

/** What a pass lists `profiles/` with: built once, for every entry. */
interface ListingPass {
  /** The open `profiles/`. */
  readonly profiles: Dir;
  /** A targeted pass's profiles: the others are not read (their directories still count as present). */
  readonly only: ReadonlySet<string> | undefined;
  readonly runtimeFiles: boolean;
  readonly cache: ReadCache | undefined;
}

/** What the readdir of `profiles/` found, filled in entry by entry (observeEntry). */
interface Found {
  readonly profiles: ObservedProfile[];
  readonly presentDirs: Set<string>;
  readonly notProfiles: Set<string>;
  /** `.deleted` is a directory: its tombstones are read once the listing is done. */
  tombstonesDir: boolean;
  /** Why `.deleted` is not read, when it is there but is no directory. */
  tombstonesUnread: string | undefined;
  shadowedDefault: boolean;
}

/** The profiles under `profiles/`; when it cannot be listed, what it is instead, and no profile. */
function listProfiles(home: Dir, only: ReadonlySet<string> | undefined, runtimeFiles: boolean, cache: ReadCache | undefined): Listing {
  const dir = openProfiles(home);
  if ('kind' in dir) return emptyListing(dir);
  try {
    return readListing({ profiles: dir, only, runtimeFiles, cache });
  } catch (err) {
    return emptyListing({ kind: 'unreadable', reason: describeErrno(err) });
  } finally {
    closeDir(dir);
  }
}

/** The open `profiles/`, or why it cannot be listed (a symlink in its place is not followed). */
function openProfiles(home: Dir): Dir | ProfilesRoot {
  try {
    const st = lstatAt(home, 'profiles');
    if (st === undefined) return { kind: 'missing' };
    if (!st.isDirectory()) return { kind: 'unreadable', reason: `is ${describeType(st)}` };
    return openDirAt(home, 'profiles');
  } catch (err) {
    return { kind: 'unreadable', reason: describeErrno(err) };
  }
}

/** The listing of a `profiles/` that could not be listed: no profile, no tombstone. */
function emptyListing(profilesRoot: ProfilesRoot): Listing {
  return {
    profiles: [],
    tombstones: new Map<string, number>(),
    presentDirs: new Set<string>(),
    notProfiles: new Set<string>(),
    profileOutOfScope: false,
    shadowedDefault: false,
    profilesRoot,
  };
}

/** Lists the open `profiles/`: every entry, then the tombstones of the profile directories found. */
function readListing(pass: ListingPass): Listing {
  const found: Found = {
    profiles: [],
    presentDirs: new Set<string>(),
    notProfiles: new Set<string>(),
    tombstonesDir: false,
    tombstonesUnread: undefined,
    shadowedDefault: false,
  };
  forEachDirEntryRaw(pass.profiles, (entry) => observeEntry(pass, found, entry));
  let tombstones = new Map<string, number>();
  let tombstonesUnread = found.tombstonesUnread;
  let tombstonesSkipped = 0;
  if (found.tombstonesDir) {
    const read = readTombstones(pass.profiles, found.presentDirs);
    tombstones = read.tombstones;
    tombstonesUnread = read.unread;
    tombstonesSkipped = read.skipped ?? 0;
  }
  // readdir's order is the file system's: the rest of the pass sorts what it needs.
  const { profiles, presentDirs, notProfiles, shadowedDefault } = found;
  const profileOutOfScope = isProfileOutOfScope(pass, presentDirs, tombstones);
  const unread = tombstonesUnread === undefined ? {} : { tombstonesUnread };
  const skipped = tombstonesSkipped === 0 ? {} : { tombstonesSkipped };
  return {
    profilesRoot: { kind: 'ok' },
    profiles,
    tombstones,
    presentDirs,
    notProfiles,
    profileOutOfScope,
    shadowedDefault,
    ...unread,
    ...skipped,
  };
}

/** Records one entry of `profiles/` in `found`: the tombstones, a profile, or a directory that is none. */
function observeEntry(pass: ListingPass, found: Found, entry: RawEntry): void {
  const { only } = pass;
  const name = entry.name.toString('utf8');
  // Tombstones, never a profile: a symlinked `.deleted` is not followed (its tombstones are not
  // read, so no profile counts as deleted by them), and not reported as a profile either.
  if (name === TOMBSTONES) {
    // Read once every profile directory is known: only theirs need a time.
    if (entry.isDir) found.tombstonesDir = true;
    else found.tombstonesUnread = entry.isSymlink ? 'a symlink, never followed' : 'not a directory';
    return;
  }
  if (entry.isSymlink && name === ROOT_PROFILE) {
    found.shadowedDefault = true; // never used, whatever it points at: upstream's warning says so
    return;
  }
  if (entry.isSymlink) {
    found.presentDirs.add(name);
    if (only === undefined || only.has(name))
      found.profiles.push(
        unusable(name, 'the profile directory is a symlink, which is never followed: move the directory itself into profiles/'),
      );
    return;
  }
  if (!entry.isDir) return;
  found.presentDirs.add(name);
  if (only !== undefined && !only.has(name)) return;
  const candidate = observeCandidate(pass, entry.name, name);
  if (candidate === undefined) {
    if (name !== ROOT_PROFILE) found.notProfiles.add(name); // profiles/default is ignored either way
    return;
  }
  if (name === ROOT_PROFILE) {
    found.shadowedDefault = true;
    return;
  }
  found.profiles.push(candidate);
}

/** A targeted pass: whether a directory outside its scope holds a profile (ObservedHome.profileOutOfScope). */
function isProfileOutOfScope(pass: ListingPass, presentDirs: ReadonlySet<string>, tombstones: ReadonlyMap<string, number>): boolean {
  const { only } = pass;
  // The empty-set guard of a targeted pass asks whether any profile remains beyond the ones it
  // read; it matters only when one of those vanished (a stray directory per profile would
  // otherwise make every such pass open them all).
  const vanished = only !== undefined && [...only].some((name) => name !== ROOT_PROFILE && !presentDirs.has(name));
  return vanished && [...presentDirs].some((name) => !only.has(name) && holdsProfile(pass.profiles, name, tombstones.get(name)));
}

/**
 * Reads only some profiles' state files (the watcher's cheap check after state-file events);
 * anything unexpected on the way reads as unreadable, never as an exception. `opened` may hand
 * over a profile's directory already open (the root profile's is HERMES_HOME): then the file is
 * read in it directly, which saves opening the directory again.
 */
export function observeStateFiles(home: Dir, names: Iterable<string>, opened?: (name: string) => Dir | undefined): Map<string, StateFile> {
  const out = new Map<string, StateFile>();
  let profiles: Dir | undefined;
  let listing: string | undefined;
  const rest: string[] = [];
  for (const name of names) {
    // A profile directory the caller holds open (watch: the very inode its inotify watch is on).
    const dir = opened?.(name);
    if (dir === undefined) rest.push(name);
    else out.set(name, parseStateFile(readFileAt(dir, 'gateway_state.json', STATE_FILE_CAP)));
  }
  if (rest.length === 0) return out;
  try {
    profiles = openDirAt(home, 'profiles');
  } catch (err) {
    listing = describeErrno(err);
  }
  for (const name of rest) {
    if (name === ROOT_PROFILE) {
      out.set(name, parseStateFile(readFileAt(home, 'gateway_state.json', STATE_FILE_CAP)));
      continue;
    }
    let dir: Dir | undefined;
    try {
      if (profiles === undefined) throw new Error(listing ?? 'profiles/ unavailable');
      dir = openDirAt(profiles, name);
      out.set(name, parseStateFile(readFileAt(dir, 'gateway_state.json', STATE_FILE_CAP)));
    } catch (err) {
      out.set(name, { kind: 'unreadable', reason: describeErrno(err) });
    } finally {
      closeDir(dir);
    }
  }
  closeDir(profiles);
  return out;
}

/**
 * Whether `profiles/<name>` is a profile a full pass would use: a valid name, a directory (not a
 * symlink) with a regular SOUL.md newer than its tombstone, if it has one.
 */
function holdsProfile(profiles: Dir, name: string, tombstone: number | undefined): boolean {
  if (name === ROOT_PROFILE || invalidNameReason(name) !== undefined) return false;
  let dir: Dir | undefined;
  try {
    dir = openDirAt(profiles, name);
    const soul = lstatAt(dir, 'SOUL.md');
    return soul?.isFile() === true && (tombstone === undefined || soul.mtimeMs > tombstone);
  } catch {
    return false;
  } finally {
    closeDir(dir);
  }
}

function unusable(name: string, why: string): ObservedProfile {
  return { name, isRoot: false, unusable: why, state: { kind: 'missing' }, lifecycle: { kind: 'missing' } };
}

/** Tombstones one pass reads at most (a Hermes volume holds one per deleted profile). */
export const TOMBSTONES_MAX = 100_000;

/** One directory under `profiles/`: a candidate iff it holds SOUL.md. */
function observeCandidate(pass: ListingPass, raw: Buffer, name: string): ObservedProfile | undefined {
  const read = reader(pass.cache, `profiles/${name}`);
  if (!Buffer.from(name, 'utf8').equals(raw)) {
    // Shown decoded, with U+FFFD for each bad byte: the bytes say which directory to rename.
    const bytes = [...raw].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    return unusable(name, `the directory name is not valid UTF-8 (its bytes, in hex: ${bytes}): rename the profile`);
  }
  let dir: Dir | undefined;
  try {
    dir = openDirAt(pass.profiles, name);
    const soul = lstatAt(dir, 'SOUL.md');
    if (soul === undefined) return undefined;
    if (soul.isSymbolicLink()) return unusable(name, 'SOUL.md is a symlink, which is never followed: make it a regular file');
    return {
      name,
      isRoot: false,
      soulMtimeMs: soul.mtimeMs,
      state: read(dir, STATE, parseStateFile),
      lifecycle: readLifecycle(dir, read),
      ...(pass.runtimeFiles ? { runtimeFiles: listRuntimeFiles(dir) } : {}),
    };
  } catch (err) {
    const code = errnoCode(err);
    const fix =
      code === 'EACCES' || code === 'EPERM'
        ? `make it readable and searchable by the user running the tool (${PASS_USER})`
        : 'it is skipped until it can be read';
    return unusable(name, `${describeErrno(err)}; ${fix}`);
  } finally {
    closeDir(dir);
  }
}

function readLifecycle(profile: Dir, read: Reader): Lifecycle {
  let state: Dir | undefined;
  try {
    state = openDirIfExists(profile, 'state');
    if (state === undefined) return { kind: 'missing' };
    return read(state, LIFECYCLE, parseLifecycle);
  } catch (err) {
    return { kind: 'unreadable', reason: describeErrno(err) };
  } finally {
    closeDir(state);
  }
}

/** The tombstones and their mtimes, or why they could not be read (then there are none). */
function readTombstones(
  profiles: Dir,
  present: ReadonlySet<string>,
): { readonly tombstones: Map<string, number>; readonly unread?: string; readonly skipped?: number } {
  const out = new Map<string, number>();
  let dir: Dir | undefined;
  try {
    dir = openDirAt(profiles, TOMBSTONES);
    const tombs = dir;
    let skipped = 0;
    // Streamed when long, and bounded: the volume user can make millions of entries here (500,000
    // took a pass to 450 MB and 9 s). Only a tombstone whose profile directory is still there needs
    // its time (NaN for the others: their profile is gone whatever the tombstone says).
    forEachDirEntryRaw(tombs, (entry) => {
      if (out.size >= TOMBSTONES_MAX) {
        skipped += 1;
        return;
      }
      const name = entry.name.toString('utf8');
      if (!present.has(name)) {
        out.set(name, Number.NaN);
        return;
      }
      const st = lstatAt(tombs, name);
      if (st !== undefined) out.set(name, st.mtimeMs);
    });
    return skipped === 0 ? { tombstones: out } : { tombstones: out, skipped };
  } catch (err) {
    // Unreadable tombstones are no evidence of deletion: the profiles are treated as present.
    return { tombstones: new Map(), unread: describeErrno(err) };
  } finally {
    closeDir(dir);
  }
}
