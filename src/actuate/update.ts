/**
 * update: fixes only the files of a live slot that differ, each replaced atomically (temp file in
 * the same directory + fsync + rename). A live slot is never removed or rebuilt (s6 would run old
 * and new side by side), and an existing supervise/ is never touched.
 */
import type { OperationResult, UpdateOp } from '../model.js';
import {
  type Dir,
  FsError,
  type Owner,
  chmodFileAt,
  closeDir,
  describeErrno,
  describeType,
  fixDir,
  forEachDirEntryRaw,
  lstatAt,
  mkdirAt,
  openDirAt,
  unlinkAt,
  writeFileAt,
} from '../safe-fs/index.js';
import fs from 'node:fs';
import { LOG_ENTRIES, SLOT_ENTRIES, isKnownEntry } from '../model/adoption.js';
import { keepFirst, nameShown } from '../model/text.js';
import { openObservedSlot } from './observed-slot.js';

/** How many of the entries that appeared an adoption's error names; the rest are counted. */
const NAMED = 5;

/**
 * An adoption run as root chowns the slot's directories first. Observe saw only what the Hermes
 * CLI writes there (diff refuses any other adoption), but until the chown their owner could add
 * to them (a `log/finish`, which s6 runs as root) or swap `log/` for another directory of theirs.
 * Once the slot is root's nobody else can change its entries, so they are looked at again now:
 * the slot and its `log/` must be root's and writable by root alone, and hold only what the
 * Hermes CLI writes. Anything else fails the update before the record, or any file, is written;
 * the next pass then refuses the adoption, naming what it found.
 */
function refuseWhatAppeared(slot: Dir, owner: Owner): void {
  const appeared: Appeared = { first: [], count: 0 };
  refuseIfReplaced(slot, 'the slot', owner);
  noteUnknownEntries(slot, SLOT_ENTRIES, '', appeared);
  const logType = lstatAt(slot, 'log');
  // A `log` that is no directory now (a symlink s6-svscan would follow) was swapped in since the
  // look: a missing one was made by this update, and one observe saw as no directory was replaced.
  if (logType !== undefined && !logType.isDirectory()) {
    appeared.count += 1;
    keepFirst(appeared.first, `log (${describeType(logType)})`, NAMED);
  }
  const log = logType?.isDirectory() === true ? openDirAt(slot, 'log') : undefined;
  try {
    if (log !== undefined) {
      refuseIfReplaced(log, 'log/', owner);
      noteUnknownEntries(log, LOG_ENTRIES, 'log/', appeared);
    }
  } finally {
    closeDir(log);
  }
  const { first, count } = appeared;
  if (count === 0) return;
  const shown = first.join(', ') + (count > first.length ? ` and ${count - first.length} more` : '');
  throw new FsError(
    'adopt',
    slot.path,
    new Error(
      `${shown} appeared while the slot was being adopted (which the Hermes CLI never writes); not adopted, nothing was written (its directories are root's now): move those out of it, and the next pass adopts it`,
    ),
  );
}

/** The entries an adoption found that the Hermes CLI never writes: the first {@link NAMED} by name, and how many in all. */
interface Appeared {
  readonly first: string[];
  count: number;
}

/** Counts into `appeared` each entry of `dir` not in `known` (or not named in UTF-8), shown after `prefix`. */
function noteUnknownEntries(dir: Dir, known: ReadonlySet<string>, prefix: string, appeared: Appeared): void {
  forEachDirEntryRaw(dir, (entry) => {
    const name = entry.name.toString('utf8');
    if (Buffer.from(name).equals(entry.name) && isKnownEntry(name, known)) return;
    appeared.count += 1;
    keepFirst(appeared.first, `${prefix}${nameShown(entry.name)}`, NAMED);
  });
}

/** Fails the adoption when the open `dir` (`name` in the error) is not the owner's, or others may write it. */
function refuseIfReplaced(dir: Dir, name: string, owner: Owner): void {
  const st = fs.fstatSync(dir.fd);
  if (st.uid !== owner.uid || (st.mode & 0o022) !== 0)
    throw new FsError(
      'adopt',
      dir.path,
      new Error(
        `${name} was replaced while the slot was being adopted (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); not adopted, nothing was written: the next pass looks again`,
      ),
    );
}

/** Applies one update inside the scandir. `owner` is set when running as root. */
export function applyUpdate(scandir: Dir, op: UpdateOp, owner: Owner | undefined): OperationResult {
  if (op.refused === true) return { op, status: 'failed', error: op.reason };
  let dirs: SlotDirs | undefined;
  try {
    // Everything below goes through `slot`, the directory observe read.
    dirs = { slot: openObservedSlot(scandir, op.service, op.expect) };
    fixDirs(dirs, op.dirs, owner);
    if (owner !== undefined && op.adopt === true) refuseWhatAppeared(dirs.slot, owner);
    writeChanges(dirs, op.changes, owner);
    return { op, status: 'applied' };
  } catch (err) {
    return { op, status: 'failed', error: describeErrno(err) };
  } finally {
    closeDir(dirs?.log);
    closeDir(dirs?.slot);
  }
}

/**
 * The directories an update holds open: the slot observe read, and its `log/` once this update
 * made or first needed it. applyUpdate closes both, whatever its steps threw.
 */
interface SlotDirs {
  readonly slot: Dir;
  log?: Dir;
}

/** Fixes the mode and owner of the slot and its `log/`, or makes `log/` where there is none. */
function fixDirs(dirs: SlotDirs, changes: UpdateOp['dirs'], owner: Owner | undefined): void {
  for (const change of changes) {
    if (change.path === '') {
      fixDir(dirs.slot, change.mode, change.fix === 'chown' ? owner : undefined);
    } else if (change.fix === 'mkdir') {
      // A symlink or file where log/ goes is unlinked, never followed; a directory that
      // appeared since observe is not (unlink fails on it, and the update with it).
      if (change.replace === true) unlinkAt(dirs.slot, 'log');
      dirs.log = mkdirAt(dirs.slot, 'log', change.mode, owner);
    } else {
      const dir = openDirAt(dirs.slot, 'log');
      try {
        fixDir(dir, change.mode, change.fix === 'chown' ? owner : undefined);
      } finally {
        closeDir(dir);
      }
    }
  }
}

/** Rewrites the files that differ (or only fixes their mode), each replaced atomically. */
function writeChanges(dirs: SlotDirs, changes: UpdateOp['changes'], owner: Owner | undefined): void {
  for (const change of changes) {
    const inLog = change.path.startsWith('log/');
    if (inLog && dirs.log === undefined) dirs.log = openDirAt(dirs.slot, 'log');
    const dir = inLog && dirs.log !== undefined ? dirs.log : dirs.slot;
    const name = inLog ? change.path.slice(4) : change.path;
    if (change.fix === 'chmod') chmodFileAt(dir, name, change.spec.mode);
    else {
      const keep = change.keepMtimeMs === undefined ? {} : { mtimeMs: change.keepMtimeMs };
      writeFileAt(dir, name, change.spec.content, {
        mode: change.spec.mode,
        fsync: true,
        ...keep,
        ...(owner === undefined ? {} : { owner }),
      });
    }
  }
}
