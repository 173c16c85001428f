/**
 * Boot's housekeeping decisions: whose stale runtime files to delete, and the warning that boot
 * runs on a live system. Pure.
 */
import type { CleanupSpec, ObservedSlot, ObservedState, ProfileDecision, SweepSpec } from '../model.js';
import { ROOT_PROFILE } from '../model/constants.js';

/** Whether s6 supervises the slot right now and its service is up. */
export function isLiveUp(slot: ObservedSlot | undefined): boolean {
  return slot?.live !== undefined && slot.live.supervised && slot.live.up;
}

/**
 * Profiles whose stale runtime files (`gateway.pid`, `processes.json`) boot deletes: the root and
 * every profile that is not skipped, unless its gateway is up under a live supervisor (then the
 * files are its own, not the previous container's).
 */
export function planSweep(observed: ObservedState, decisions: readonly ProfileDecision[]): SweepSpec[] {
  const out: SweepSpec[] = [];
  for (const d of decisions) {
    if (d.action === 'skipped') continue;
    // Names are unique: a named `default` is never a candidate (it would shadow the root).
    const files = observed.home.profiles.find((x) => x.name === d.profile)?.runtimeFiles ?? [];
    if (files.length === 0 || isLiveUp(observed.scandir.slots.get(d.service))) continue;
    out.push({ service: d.service, profile: d.profile, dir: d.profile === ROOT_PROFILE ? '' : `profiles/${d.profile}`, files });
  }
  return out;
}

/** Upstream's staging leftovers (`.<prefix><name>.tmp`, #54834), which boot deletes. */
export function planCleanup(observed: ObservedState, prefix: string): CleanupSpec[] {
  return observed.scandir.upstreamLeftovers.map((entry) => {
    const profile = entry.slice(1 + prefix.length, -'.tmp'.length);
    return { service: `${prefix}${profile}`, profile, entry };
  });
}

/** The warning boot prints once when s6 already supervises gateway services that are up. */
export function liveNotice(observed: ObservedState): string | undefined {
  const up = [...observed.scandir.slots.values()].filter(isLiveUp).length;
  if (up === 0) return undefined;
  return (
    `s6 already supervises ${up} gateway service(s) that are up: boot is the container-start pass ` +
    'and keeps their runtime files; use sync on a running container'
  );
}
