/**
 * Reads the persisted list of restarts that a pass decided but may not have finished
 * (`<scandir>/.reconcile-gateways.restarts.json`, schemas/restarts.schema.json).
 */
import { type Dir, readFileAt } from '../safe-fs/index.js';
import { parseJsonObject } from './parse.js';

/** File name of the pending-restart journal inside the scandir (a dot name: s6 ignores it). */
export const RESTARTS_FILE = '.reconcile-gateways.restarts.json';

/** Services whose restart was persisted and not yet cleared; a damaged journal reads as empty. */
export function readPendingRestarts(scandir: Dir): ReadonlySet<string> {
  const read = readFileAt(scandir, RESTARTS_FILE, 1024 * 1024);
  if (read.kind !== 'file') return new Set();
  const parsed = parseJsonObject(read.bytes);
  if (!parsed.ok) return new Set();
  const services = parsed.value['services'];
  return new Set(Array.isArray(services) ? services.filter((s): s is string => typeof s === 'string') : []);
}
