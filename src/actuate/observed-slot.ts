/**
 * Opens a slot for an operation on the directory observe saw: without following links, and only
 * when its device, inode and owner are still the ones in the plan. A directory the hermes user
 * renamed into the slot's name since (a root-owned service, say) is never changed (issue 16 #10).
 */
import type { DirIdentity } from '../model.js';
import { type Dir, FsError, closeDir, identityOf, openDirAt } from '../safe-fs/index.js';

/** Whether two identities name the same directory with the same owner. */
export function isSameIdentity(a: DirIdentity, b: DirIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.uid === b.uid;
}

/** The open slot, checked against `expect` (unchecked when the plan carries none). */
export function openObservedSlot(scandir: Dir, service: string, expect: DirIdentity | undefined): Dir {
  const slot = openDirAt(scandir, service);
  if (expect === undefined || isSameIdentity(identityOf(slot), expect)) return slot;
  closeDir(slot);
  throw new FsError('open', `${scandir.path}/${service}`, new Error('the slot was replaced since this pass read it; left as it is'));
}
