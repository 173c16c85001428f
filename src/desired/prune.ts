/**
 * Which slots' profiles are gone, and the empty-set guard that keeps a volume that only looks
 * empty (unmounted, broken) from pruning every slot. Pure.
 */
import type { ObservedState } from '../model.js';
import { ROOT_PROFILE } from '../model/constants.js';
import { namesInProse } from '../model/text.js';

/** Whether a slot's profile is positively deleted: its directory gone, or tombstoned (below). */
export function isGone(profile: string, observed: ObservedState): boolean {
  if (observed.home.profilesRoot.kind !== 'ok') return false;
  if (!observed.home.presentDirs.has(profile)) return true;
  const tomb = observed.home.tombstones.get(profile);
  if (tomb === undefined) return false;
  // Its directory is still there: only a SOUL.md no newer than the tombstone says deleted. One
  // missing, unreadable or a symlink may be one being replaced (an editor's save, a restore),
  // so the slot is kept, as it is without a tombstone, until the directory goes.
  const candidate = observed.home.profiles.find((p) => !p.isRoot && p.name === profile);
  return candidate?.soulMtimeMs !== undefined && tomb >= candidate.soulMtimeMs;
}

/** Why no named profile is used (`profiles/` unreadable), what else follows (`also`), and what to do. */
export function profilesUnusable(hermesHome: string, reason: string, also: string): string {
  return (
    `${hermesHome}/profiles cannot be used (${reason}): no named profile is used, only the root profile default${also}; ` +
    'make it a directory the user running the tool can read (a symlink there is never followed)'
  );
}

/** What the empty-set guard weighs. */
export interface GuardInput {
  readonly observed: ObservedState;
  /** HERMES_HOME as given, for messages only. */
  readonly hermesHome: string;
  /** `--allow-empty`: every named profile vanishing at once is meant. */
  readonly allowEmpty: boolean;
  /** Services whose profiles are positively gone (isGone, or tombstoned). */
  readonly gone: ReadonlySet<string>;
  /** Whether this pass uses any named profile: then the profiles are still there. */
  readonly anyUsed: boolean;
}

/**
 * The empty-set guard: an unmounted or broken volume looks like "every profile was deleted".
 * Returns why pruning is blocked, or undefined when it may go ahead. Without a readable
 * `profiles/` nothing counts as gone (isGone), so --allow-empty cannot lift that case: the
 * message says what does.
 */
export function emptySetGuard(guard: GuardInput): string | undefined {
  const { observed, hermesHome, allowEmpty, gone, anyUsed } = guard;
  const home = observed.home;
  const ownedNamed = [...observed.scandir.slots.values()].filter((s) => s.owned && s.profile !== ROOT_PROFILE);
  if (ownedNamed.length === 0) return undefined;
  const profiles = `${hermesHome}/profiles`;
  if (home.profilesRoot.kind === 'missing') {
    return `${profiles} is missing while ${ownedNamed.length} named slot(s) exist; removing nothing (if every named profile was deleted on purpose, create ${profiles} empty and run sync --allow-empty)`;
  }
  if (home.profilesRoot.kind !== 'ok') {
    return profilesUnusable(
      hermesHome,
      home.profilesRoot.reason,
      `, and the ${ownedNamed.length} named slot(s) are kept as they are until it can be read`,
    );
  }
  if (allowEmpty) return undefined;
  const vanished = ownedNamed.filter((s) => gone.has(s.service) && !home.tombstones.has(s.profile));
  // Only a profile this pass would use (`anyUsed`) shows that the profiles are still there: not a stray
  // directory (no SOUL.md), a symlink, an invalid name or a tombstoned one, all common on a wiped
  // or half-restored volume. A targeted pass also looks, briefly, beyond the profiles it read.
  const remaining = anyUsed || home.profileOutOfScope;
  if (!remaining && vanished.length > 0) {
    const services = namesInProse(vanished.map((s) => s.service).sort(), 3);
    return (
      `every named profile vanished at once (${vanished.length} slot(s): ${services}), none of them deleted by hermes profile delete ` +
      `(it leaves a tombstone in ${profiles}/.deleted/); removing nothing: check that the volume is mounted at ${hermesHome}, ` +
      'or pass --allow-empty if they were deleted on purpose'
    );
  }
  return undefined;
}
