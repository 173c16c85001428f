/**
 * Decodes s6 2.11's `supervise/death_tally` (s6-facts §5): 14-byte records, oldest first, each a
 * TAI64N stamp, an exit byte (128+signal when killed) and a signal byte. Read, never interpreted:
 * what counts as a crash loop is decided in src/desired/drift.ts.
 */
import type { DeathRecord } from '../model.js';
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

/** The death records of an open `supervise/` directory, or undefined when there are none to read. */
export function readDeathTally(supervise: Dir): DeathRecord[] | undefined {
  const read = readFileAt(supervise, 'death_tally', TALLY_CAP);
  return read.kind === 'file' ? decodeDeathTally(read.bytes) : undefined;
}
