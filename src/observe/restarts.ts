/**
 * Reads the persisted list of restarts that a pass decided but may not have finished (the journal
 * in the scandir's private state directory, src/journal.ts; schemas/restarts.schema.json). One
 * hermes could write is never read: it would let them restart whatever they list (issue 16 #11).
 */
import { type Dir, closeDir, readFileAt } from '../safe-fs/index.js';
import { parseJsonObject } from './parse.js';
import { restartJournal } from '../journal.js';

export { RESTARTS_FILE } from '../journal.js';

/**
 * Services whose restart was persisted and not yet cleared, and the journal's owner; a damaged
 * journal reads as empty. Whether to trust an entry is diff's decision, not this reader's.
 */
export function readPendingRestarts(scandir: Dir): { services: ReadonlySet<string>; uid?: number } {
  const journal = restartJournal(scandir, false);
  if (journal === undefined) return { services: new Set() };
  let read: ReturnType<typeof readFileAt>;
  try {
    read = readFileAt(journal.dir, journal.name, 1024 * 1024);
  } finally {
    closeDir(journal.dir);
  }
  if (read.kind !== 'file') return { services: new Set() };
  const parsed = parseJsonObject(read.bytes);
  if (!parsed.ok) return { services: new Set(), uid: read.uid };
  const services = parsed.value['services'];
  return { services: new Set(Array.isArray(services) ? services.filter((s): s is string => typeof s === 'string') : []), uid: read.uid };
}
