/**
 * Decodes s6 2.11's 35-byte `supervise/status` (s6-facts §5), so `status` over 1000 services
 * needs no process per service. Field derivations match `s6-svstat.c`.
 */
import type { DeathRecord, LiveStatus } from '../model.js';
import { type Dir, closeDir, fifoReader, openSearchableDirAt, readFileAt } from '../safe-fs/index.js';
import { LOGGER_TALLY, TALLY, readDeathTally } from './death-tally.js';
import { taiToUnix } from './tai.js';
import type { CachedFile, ReadCache } from './read-cache.js';

export { hasFifoReader } from '../safe-fs/index.js';

const STATUS_SIZE = 35;

/** A supervisor's two files as the read cache keeps them, under their paths in the slot's group. */
interface SuperviseFiles {
  readonly status: CachedFile;
  readonly tally: CachedFile;
}

/** A slot's `supervise/status` (read up to 64 bytes) and death tally. */
const SLOT_FILES: SuperviseFiles = { status: { name: 'status', path: 'supervise/status', cap: 64 }, tally: TALLY };
/** Its logger's, kept beside them in the same group. */
const LOGGER_FILES: SuperviseFiles = { status: { name: 'status', path: 'log/supervise/status', cap: 64 }, tally: LOGGER_TALLY };

/** Decodes a status buffer; undefined when it is not 35 bytes. */
export function decodeStatus(buf: Uint8Array, supervised: boolean): LiveStatus | undefined {
  if (buf.length !== STATUS_SIZE) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const label = view.getBigUint64(0);
  const nanos = view.getUint32(8);
  const pid = Number(view.getBigUint64(24));
  const wstat = view.getUint16(32);
  const flags = buf[34] ?? 0;
  const finishing = (flags & 2) !== 0;
  const up = pid !== 0 && !finishing;
  const signaled = (wstat & 0x7f) !== 0 && (wstat & 0x7f) !== 0x7f;
  const exited = (wstat & 0x7f) === 0;
  return {
    supervised,
    up,
    wantedUp: (flags & 4) !== 0,
    ready: pid !== 0 && (flags & 8) !== 0,
    finishing,
    pid: up ? pid : -1,
    exitcode: up ? -1 : exited ? (wstat >> 8) & 0xff : -1,
    signum: up ? -1 : signaled ? wstat & 0x7f : -1,
    // A label before 1970 (all zeros: a status no s6-supervise wrote) reads as the epoch, one past
    // 9999 (forged) as 9999: every duration and date made from it stays one a Date can hold.
    updownSinceUnix: taiToUnix(label, nanos),
  };
}

/**
 * Live state of a slot (or its logger), or undefined when s6 never supervised it, or `denied` when
 * this user may not read it (a non-root pass outside `supervise/`'s group). Through `watch`'s
 * cache (grouped under the slot's service), an unchanged status file is not read again:
 * s6-supervise replaces it (rename) at every change.
 */
export function readLiveStatus(
  slot: Dir,
  cached?: { readonly cache: ReadCache; readonly service: string },
  files: SuperviseFiles = SLOT_FILES,
): LiveStatus | 'denied' | undefined {
  // supervise/ is 0710: a member of its group (a non-root pass) may only search it, and reads the
  // state by name; anyone else cannot read it (unknown, not broken).
  const supervise = openSearchableDirAt(slot, 'supervise');
  if (supervise === undefined) return undefined;
  try {
    const { status, tally } = files;
    const read =
      cached === undefined ? readFileAt(supervise, status.name, status.cap) : cached.cache.read(supervise, status, cached.service);
    if (read.kind === 'refused' && (read.code === 'EACCES' || read.code === 'EPERM')) return 'denied';
    if (read.kind !== 'file') return undefined;
    // A control this user may not open: whether a supervisor listens is unknown, and counts as yes.
    const live = decodeStatus(read.bytes, fifoReader(supervise, 'control') !== 'none');
    // Deaths count only for a supervised service (drift looks at no other): a `supervise/` nobody
    // listens on, one the hermes user made, say, is not decoded.
    const deaths =
      live === undefined || !live.supervised
        ? undefined
        : readDeathTally(supervise, cached === undefined ? undefined : { ...cached, file: tally });
    return live === undefined || deaths === undefined ? live : withDeaths(live, deaths);
  } finally {
    closeDir(supervise);
  }
}

/**
 * Live state of a slot's logger (`log/supervise/status`), read as readLiveStatus reads the slot's,
 * from its `log/` (opened by `openLog`, which the caller closes); undefined when it cannot be read:
 * a logger's state only adds drift (LoggerDown), so unknown is none.
 */
export function readLoggerStatus(
  openLog: () => Dir,
  cached?: { readonly cache: ReadCache; readonly service: string },
): LiveStatus | undefined {
  try {
    const live = readLiveStatus(openLog(), cached, LOGGER_FILES);
    return live === 'denied' ? undefined : live;
  } catch {
    return undefined; // a log/ swapped for something else meanwhile, or one this user may not open
  }
}

/**
 * `live` with its deaths, as a literal: `{ ...live, deaths }` gave every slot's status (and its
 * logger's) a hidden class of its own, ~12 MB of a sync's peak at 10,000 slots (bench, 2026-12-08).
 */
function withDeaths(live: LiveStatus, deaths: readonly DeathRecord[]): LiveStatus {
  const { supervised, up, wantedUp, ready, finishing, pid, exitcode, signum, updownSinceUnix } = live;
  return { supervised, up, wantedUp, ready, finishing, pid, exitcode, signum, updownSinceUnix, deaths };
}
