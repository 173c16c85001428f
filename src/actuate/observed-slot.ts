/**
 * Opens a slot for an operation on the directory observe saw: without following links, and only
 * when its device, inode and owner are still the ones in the plan. A directory the hermes user
 * renamed into the slot's name since (a root-owned service, say) is never changed (issue 16 #10).
 */
import type { DirIdentity } from '../model.js';
import { type Dir, FsError, closeDir, openDirAt } from '../safe-fs.js';
import { identityOf } from '../observe/scandir.js';

/** The open slot, checked against `expect` (unchecked when the plan carries none). */
export function openObservedSlot(scandir: Dir, service: string, expect: DirIdentity | undefined): Dir {
  const slot = openDirAt(scandir, service);
  if (expect === undefined) return slot;
  const seen = identityOf(slot);
  if (seen.dev === expect.dev && seen.ino === expect.ino && seen.uid === expect.uid) return slot;
  closeDir(slot);
  throw new FsError('open', `${scandir.path}/${service}`, new Error('the slot was replaced since this pass read it; left as it is'));
}
