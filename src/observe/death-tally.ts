/**
 * Decodes s6 2.11's `supervise/death_tally` (s6-facts §5): 14-byte records, oldest first, each a
 * TAI64N stamp, an exit byte (128+signal when killed) and a signal byte. Read, never interpreted:
 * what counts as a crash loop is decided in src/desired/drift.ts.
 */
import type { DeathRecord, FileRead } from '../model.js';
import type { CachedFile, ReadCache } from './read-cache.js';
import { S6_DEATH_TALLY } from '../model/constants.js';
import { type Dir, readFileAt } from '../safe-fs/index.js';
import { taiToUnix } from './tai.js';

const RECORD_SIZE = 14;
/** s6 keeps at most 4096 records (`max-death-tally`). */
const TALLY_CAP = 4096 * RECORD_SIZE;

/**
 * Decodes the newest {@link S6_DEATH_TALLY} records (all a tally of ours holds); a trailing partial
 * record (a torn read) is ignored.
 */
export function decodeDeathTally(buf: Uint8Array): DeathRecord[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: DeathRecord[] = [];
  const records = Math.floor(buf.length / RECORD_SIZE);
  for (let at = Math.max(0, records - S6_DEATH_TALLY) * RECORD_SIZE; at + RECORD_SIZE <= buf.length; at += RECORD_SIZE) {
    const label = view.getBigUint64(at);
    const nanos = view.getUint32(at + 8);
    const code = view.getUint8(at + 12);
    const sig = view.getUint8(at + 13);
    const atUnix = taiToUnix(label, nanos);
    out.push(sig !== 0 ? { atUnix, exitcode: -1, signum: sig } : { atUnix, exitcode: code, signum: -1 });
  }
  return out;
}

/** A slot's `supervise/death_tally` as the read cache keeps it (under its path in the slot's group). */
export const TALLY: CachedFile = { name: 'death_tally', path: 'supervise/death_tally', cap: TALLY_CAP };
/** Its logger's. */
export const LOGGER_TALLY: CachedFile = { name: 'death_tally', path: 'log/supervise/death_tally', cap: TALLY_CAP };

const tallyOf = (read: FileRead): DeathRecord[] | undefined => (read.kind === 'file' ? decodeDeathTally(read.bytes) : undefined);

/**
 * The death records of an open `supervise/` directory, or undefined when there are none to read.
 * Through `watch`'s cache, a tally that has not changed (no death since) is neither read nor
 * decoded again: its records are shared between passes, and read only.
 */
export function readDeathTally(
  supervise: Dir,
  cached?: { readonly cache: ReadCache; readonly service: string; readonly file: CachedFile },
): readonly DeathRecord[] | undefined {
  if (cached === undefined) return tallyOf(readFileAt(supervise, TALLY.name, TALLY.cap));
  return cached.cache.readParsed(supervise, cached.file, cached.service, tallyOf);
}
