/**
 * Reads the persisted list of restarts that a pass decided but may not have finished (the journal
 * in the scandir's private state directory, src/state-dir.ts; schemas/restarts.schema.json). One
 * hermes could write is never read: it would let them restart whatever they list (issue 16 #11).
 */
import { type Dir, closeDir, readFileAt } from '../safe-fs.js';
import { journalName, openStateDir } from '../state-dir.js';
import { parseJsonObject } from './parse.js';

/** Services whose restart was persisted and not yet cleared; a damaged journal reads as empty. */
export function readPendingRestarts(scandir: Dir): ReadonlySet<string> {
  const state = openStateDir(scandir, false);
  if (state === undefined) return new Set();
  let read: ReturnType<typeof readFileAt>;
  try {
    read = readFileAt(state, journalName(), 1024 * 1024);
  } finally {
    closeDir(state);
  }
  if (read.kind !== 'file') return new Set();
  const parsed = parseJsonObject(read.bytes);
  if (!parsed.ok) return new Set();
  const services = parsed.value['services'];
  return new Set(Array.isArray(services) ? services.filter((s): s is string => typeof s === 'string') : []);
}
