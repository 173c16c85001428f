/**
 * Reads the persisted list of restarts that a pass decided but may not have finished
 * (`<scandir>/.reconcile-gateways.restarts.json`, schemas/restarts.schema.json).
 */
import { type Dir, readFileAt } from '../safe-fs/index.js';
import { parseJsonObject } from './parse.js';
import { restartJournal } from '../journal.js';

export { RESTARTS_FILE } from '../journal.js';

/**
 * Services whose restart was persisted and not yet cleared, and the journal's owner; a damaged
 * journal reads as empty. Whether to trust an entry is diff's decision, not this reader's.
 */
export function readPendingRestarts(scandir: Dir): { services: ReadonlySet<string>; uid?: number } {
  const { dir, name } = restartJournal(scandir);
  const read = readFileAt(dir, name, 1024 * 1024);
  if (read.kind !== 'file') return { services: new Set() };
  const parsed = parseJsonObject(read.bytes);
  if (!parsed.ok) return { services: new Set(), uid: read.uid };
  const services = parsed.value['services'];
  return { services: new Set(Array.isArray(services) ? services.filter((s): s is string => typeof s === 'string') : []), uid: read.uid };
}
