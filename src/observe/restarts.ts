/**
 * Reads the persisted list of restarts that a pass decided but may not have finished
 * (`<scandir>/.reconcile-gateways.restarts.json`, schemas/restarts.schema.json).
 */
import { type Dir, readFileAt } from '../safe-fs/index.js';
import { parseJsonObject } from './parse.js';
import { restartJournal } from '../journal.js';

export { RESTARTS_FILE } from '../journal.js';

/** Services whose restart was persisted and not yet cleared; a damaged journal reads as empty. */
export function readPendingRestarts(scandir: Dir): ReadonlySet<string> {
  const { dir, name } = restartJournal(scandir);
  const read = readFileAt(dir, name, 1024 * 1024);
  if (read.kind !== 'file') return new Set();
  const parsed = parseJsonObject(read.bytes);
  if (!parsed.ok) return new Set();
  const services = parsed.value['services'];
  return new Set(Array.isArray(services) ? services.filter((s): s is string => typeof s === 'string') : []);
}
