/**
 * Boot's operations outside the slots: the sweep of stale runtime files, the removal of
 * upstream's staging leftovers and the seed of the root state. Pure.
 */
import type { DesiredState, Operation } from '../model.js';
import { ROOT_PROFILE, STATE_FILE } from '../model/constants.js';

/** The housekeeping operations `desired` asks for. */
export function planHousekeeping(desired: DesiredState): Operation[] {
  const ops: Operation[] = [];
  if (desired.seed !== undefined) {
    const { reason, content } = desired.seed;
    ops.push({ kind: 'seed', service: desired.seed.service, profile: ROOT_PROFILE, reason, path: STATE_FILE, content });
  }
  for (const s of desired.sweep) {
    ops.push({
      kind: 'sweep',
      service: s.service,
      profile: s.profile,
      reason: 'stale runtime files of the previous container',
      dir: s.dir,
      files: s.files,
    });
  }
  for (const c of desired.cleanup) {
    ops.push({ kind: 'cleanup', service: c.service, profile: c.profile, reason: 'upstream staging leftover', entry: c.entry });
  }
  return ops;
}
