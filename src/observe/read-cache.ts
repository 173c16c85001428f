/**
 * Files as earlier passes of this process read them, for `watch`: a file whose inode, size, mtime,
 * ctime, mode and owner are what they were is not read again (one `lstat` instead of an open,
 * `fstat`, read and close), and what was parsed from it is not parsed again. Any write,
 * rename-over, chmod or chown changes one of them (ctime cannot be set by a user), so content is
 * never stale; a file that is not a regular file is read as before, to be refused with its reason.
 * Entries are grouped (a slot, a profile): a full pass forgets the groups it did not read, so the
 * cache holds at most one pass's files.
 *
 * Between deep passes a slot is not even looked into while its directory and its log directory
 * keep their stamps (inode, mode, owner, mtime, ctime: adding, removing, renaming or replacing any
 * entry in them changes a stamp): only its live status and its logger's are read. What that misses is an in-place
 * write, chmod or chown of a file in it, which only root can do to our root-owned slots; the next
 * deep pass sees it. Passes are deep when the caller asks (a start, SIGHUP, a retry, applying a
 * plan) and every DEEP_EVERY-th full pass.
 *
 * File times come from the kernel's coarse clock, which ticks every 1–10 ms (CONFIG_HZ), and some
 * file systems keep whole seconds only (ext3, an ext4 made with 128-byte inodes, FAT, some network
 * ones), so a same-size rewrite in the tick or second of our read would keep every key field (git's
 * "racily clean" entries). A file changed less than RACY_MS before it was read is therefore not
 * kept: it is read again until it has aged. Once its ctime is more than a tick older than the read,
 * any later change gets a later ctime. RACY_MS is ten of the slowest ticks, so the first pass of a
 * watcher started right after `boot` can already keep what it read (a longer window cost the
 * bench's idle watcher a full read of every slot on its first interval pass); a ctime of whole
 * seconds says the file system keeps no more, and gets COARSE_RACY_MS (`racyWindow`). A SIGHUP
 * pass (`clear`) keeps nothing it read before.
 */
import type { FileRead } from '../model.js';
import { type Dir, lstatAt, readFileAt, stampOf } from '../safe-fs/index.js';

const MISSING: FileRead = { kind: 'missing' };

/** A file whose ctime is this recent when read is read again next time. */
export const RACY_MS = 100;

/** The same for a file system that keeps whole seconds: a rewrite in the same second keeps the ctime. */
export const COARSE_RACY_MS = 3_000;

/** How long after a change (its ctime) a read of it is too early to keep. */
export function racyWindow(ctimeMs: number): number {
  return ctimeMs % 1000 === 0 ? COARSE_RACY_MS : RACY_MS;
}

/** Every this-many-th full pass is deep: it reads every file again (with the per-file cache). */
export const DEEP_EVERY = 10;

/**
 * A file read through the cache: where it is, what it is kept under and how much of it is read.
 * Callers hold these as constants (or build them once per pass), so a read allocates no key.
 */
export interface CachedFile {
  /** Its name in the directory it is read from. */
  readonly name: string;
  /** What it is kept under in its group: its path in the slot or profile (`log/run` for the logger's `run`). */
  readonly path: string;
  /** Largest size read (readFileAt's cap). */
  readonly cap: number;
}

interface Entry {
  readonly key: string;
  readonly read: FileRead;
  parsed?: { readonly parse: unknown; readonly value: unknown };
}

/** File reads kept between the passes of one long-running process. */
export class ReadCache {
  readonly #entries = new Map<string, Map<string, Entry>>();
  readonly #views = new Map<string, { readonly stamp: string; readonly view: unknown }>();
  #seen = new Set<string>();
  #deep = true;
  #fullPasses = 0;
  readonly #now: () => number;

  /** `now`: the clock a read's age is judged by (RACY_MS); tests set it. */
  constructor(now: () => number = () => Date.now()) {
    this.#now = now;
  }

  /** Starts a pass: deep when `deep`, or when it is the DEEP_EVERY-th full pass. */
  beginPass(deep: boolean, full: boolean): void {
    if (full) this.#fullPasses += 1;
    this.#deep = deep || (full && this.#fullPasses % DEEP_EVERY === 0);
  }

  /**
   * What a deep pass made of `group` (a slot) while its directories had `stamp`; undefined in a
   * deep pass, for another stamp, or when nothing was kept.
   */
  view<T>(group: string, stamp: string): T | undefined {
    this.#seen.add(group);
    if (this.#deep) return undefined;
    const kept = this.#views.get(group);
    return kept?.stamp === stamp ? (kept.view as T) : undefined;
  }

  /** Keeps `view` of `group` under `stamp`, unless its newest ctime is too recent to trust (RACY_MS). */
  keepView(group: string, stamp: string, view: unknown, newestCtimeMs: number): void {
    const now = this.#now();
    this.#seen.add(group);
    if (now - newestCtimeMs < racyWindow(newestCtimeMs)) this.#views.delete(group);
    else this.#views.set(group, { stamp, view });
  }

  /** `file` in `dir` (a file of `group`: a slot or a profile), from the cache when it is unchanged. */
  read(dir: Dir, file: CachedFile, group: string): FileRead {
    return this.#entry(dir, file, group, this.#now()).read;
  }

  /** Like read, parsed by `parse`; an unchanged file is not parsed again (by the same `parse`). */
  readParsed<T>(dir: Dir, file: CachedFile, group: string, parse: (read: FileRead) => T): T {
    const entry = this.#entry(dir, file, group, this.#now());
    if (entry.parsed?.parse === parse) return entry.parsed.value as T;
    const value = parse(entry.read);
    entry.parsed = { parse, value };
    return value;
  }

  #entry(dir: Dir, { name, path, cap }: CachedFile, group: string, now: number): Entry {
    this.#seen.add(group);
    let files = this.#entries.get(group);
    let st: ReturnType<typeof lstatAt>;
    let answered = true;
    try {
      st = lstatAt(dir, name);
    } catch {
      st = undefined; // readFileAt says what is wrong
      answered = false;
    }
    const key = st?.isFile() === true ? stampOf(st) : undefined;
    const cached = files?.get(path);
    if (key !== undefined && cached?.key === key) return cached;
    // Missing (lstat said so without an error): no open, whose ENOENT would cost an exception.
    const read: FileRead = st === undefined && answered ? MISSING : readFileAt(dir, name, cap);
    const entry: Entry = { key: key ?? '', read };
    if (key === undefined || entry.read.kind !== 'file' || st === undefined || now - st.ctimeMs < racyWindow(st.ctimeMs)) {
      files?.delete(path);
      return entry;
    }
    if (files === undefined) {
      files = new Map();
      this.#entries.set(group, files);
    }
    files.set(path, entry);
    return entry;
  }

  /** Forgets everything: the next pass reads every file again (SIGHUP, after a hand edit). */
  clear(): void {
    this.#entries.clear();
    this.#views.clear();
  }

  /** Ends a pass; a full one forgets every group it did not read. */
  endPass(full: boolean): void {
    if (full) {
      for (const group of [...this.#entries.keys()]) if (!this.#seen.has(group)) this.#entries.delete(group);
      for (const group of [...this.#views.keys()]) if (!this.#seen.has(group)) this.#views.delete(group);
    }
    this.#seen = new Set();
  }

  /** Number of groups with cached files or views (for tests). */
  get size(): number {
    return new Set([...this.#entries.keys(), ...this.#views.keys()]).size;
  }
}
