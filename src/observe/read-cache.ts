/**
 * Slot files as earlier passes of this process read them, for `watch`: a file whose inode, size,
 * mtime, ctime, mode and owner are what they were is not read again (one `lstat` instead of an
 * open, `fstat`, read and close). Any write, rename-over, chmod or chown changes one of them (ctime
 * cannot be set by a user), so content is never stale; a file that is not a regular file is read
 * as before, to be refused with its reason. A full pass forgets the services it did not read, so
 * the cache holds at most one pass's slots.
 *
 * File times tick coarsely (a few milliseconds), so a same-size rewrite in the tick of our read
 * would keep every key field (git's "racily clean" entries). A file changed less than RACY_MS
 * before it was read is therefore not kept: it is read again until it has aged.
 */
import type { FileRead } from '../model.js';
import { type Dir, lstatAt, readFileAt } from '../safe-fs/index.js';

/** A file whose ctime is this recent when read is read again next time. */
export const RACY_MS = 1000;

interface Entry {
  readonly key: string;
  readonly read: FileRead;
}

/** Slot file reads kept between the passes of one long-running process. */
export class SlotReadCache {
  readonly #entries = new Map<string, Map<string, Entry>>();
  #seen = new Set<string>();

  /** `name` in `dir` (slot file `path` of `service`), from the cache when it is unchanged. */
  read(dir: Dir, name: string, service: string, path: string, cap: number, now: number = Date.now()): FileRead {
    this.#seen.add(service);
    let files = this.#entries.get(service);
    let st: ReturnType<typeof lstatAt>;
    try {
      st = lstatAt(dir, name);
    } catch {
      st = undefined; // readFileAt says what is wrong
    }
    const key = st?.isFile() === true ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}:${st.uid}` : undefined;
    const cached = files?.get(path);
    if (key !== undefined && cached?.key === key) return cached.read;
    const read = readFileAt(dir, name, cap);
    if (key === undefined || read.kind !== 'file' || now - (st?.ctimeMs ?? now) < RACY_MS) {
      files?.delete(path);
      return read;
    }
    if (files === undefined) {
      files = new Map();
      this.#entries.set(service, files);
    }
    files.set(path, { key, read });
    return read;
  }

  /** Ends a pass; a full one forgets every service it did not read. */
  endPass(full: boolean): void {
    if (full) for (const service of [...this.#entries.keys()]) if (!this.#seen.has(service)) this.#entries.delete(service);
    this.#seen = new Set();
  }

  /** Number of services with cached files (for tests). */
  get size(): number {
    return this.#entries.size;
  }
}
