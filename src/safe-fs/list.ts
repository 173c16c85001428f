/**
 * Directory listings: whole, by raw names (not every name is UTF-8), streamed, or the first few of
 * a tree being deleted. Nothing is followed; the directory is read through its descriptor.
 */
import fs from 'node:fs';
import { type Dir, FsError, selfPath } from './core.js';

/** Directory entries with their types (from getdents; nothing is followed). */
export function listDir(dir: Dir): fs.Dirent[] {
  try {
    return fs.readdirSync(selfPath(dir), { withFileTypes: true });
  } catch (err) {
    throw new FsError('readdir', dir.path, err);
  }
}

/** A directory entry by its raw name, with its type as readdir gives it. */
export interface RawEntry {
  readonly name: Buffer;
  readonly isDir: boolean;
  readonly isSymlink: boolean;
  readonly isFile: boolean;
}

/** Entry names as raw bytes, for names that may not be valid UTF-8. */
export function listDirRaw(dir: Dir): RawEntry[] {
  try {
    return fs
      .readdirSync(selfPath(dir), { withFileTypes: true, encoding: 'buffer' })
      .map((d) => ({ name: Buffer.from(d.name), isDir: d.isDirectory(), isSymlink: d.isSymbolicLink(), isFile: d.isFile() }));
  } catch (err) {
    throw new FsError('readdir', dir.path, err);
  }
}

/**
 * The first `max` entries of a directory (readdir's order), read as a stream: a tree being deleted
 * is listed a batch at a time, never whole (a leftover of 500,000 entries took a pass to 440 MB).
 */
export function listDirRawFirst(dir: Dir, max: number): RawEntry[] {
  const out: RawEntry[] = [];
  if (max > 0)
    streamDir(dir, (entry) => {
      out.push(entry);
      return out.length < max;
    });
  return out;
}

/** Reads `dir` as a stream (fs.opendir, in batches), handing each entry to `visit` until it returns false. */
function streamDir(dir: Dir, visit: (entry: RawEntry) => boolean): void {
  let handle: fs.Dir;
  try {
    // Node accepts 'buffer' here (names as raw bytes, as readdir gives them); its types say strings only.
    handle = fs.opendirSync(selfPath(dir), { encoding: 'buffer' as BufferEncoding, bufferSize: 256 });
  } catch (err) {
    throw new FsError('readdir', dir.path, err);
  }
  try {
    for (;;) {
      let d: fs.Dirent<Buffer> | null;
      try {
        d = handle.readSync() as fs.Dirent<Buffer> | null;
      } catch (err) {
        throw new FsError('readdir', dir.path, err);
      }
      if (d === null || !visit({ name: d.name, isDir: d.isDirectory(), isSymlink: d.isSymbolicLink(), isFile: d.isFile() })) break;
    }
  } finally {
    handle.closeSync();
  }
}

/** Above this many subdirectories (by the link count) a listing is streamed rather than read whole. */
const STREAM_LISTING_ABOVE = 20_000;

/** Above this directory size a listing is streamed too: files and FIFOs add to the size, not the link count. */
const STREAM_LISTING_BYTES = 512 * 1024;

/**
 * Visits the entries of {@link listDirRaw}; says how it read them. A directory with more than
 * STREAM_LISTING_ABOVE subdirectories or larger than STREAM_LISTING_BYTES (a volume user's `mkdir`
 * or `touch` loop under `profiles/`: tmpfs counts ~20 bytes an entry, ext4 its blocks), or one
 * whose link count says nothing (btrfs keeps 1; ext4 too past 65,000), is read as a stream
 * (fs.opendir, in batches), never held whole: 300,000 entries took a pass to 310 MiB. A smaller one
 * is read in one call, which allocates less than the stream's objects (12 MB less peak RSS over
 * 10,000 profiles).
 */
export function forEachDirEntryRaw(dir: Dir, visit: (entry: RawEntry) => void, streamAbove = STREAM_LISTING_ABOVE): 'whole' | 'stream' {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(dir.fd);
  } catch (err) {
    throw new FsError('fstat', dir.path, err);
  }
  if (st.nlink >= 2 && st.nlink - 2 <= streamAbove && st.size <= STREAM_LISTING_BYTES) {
    for (const entry of listDirRaw(dir)) visit(entry);
    return 'whole';
  }
  streamDir(dir, (entry) => {
    visit(entry);
    return true;
  });
  return 'stream';
}
