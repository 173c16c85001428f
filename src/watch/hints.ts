/**
 * What a file-system event means for the watcher: which profile to look at again, or that only a
 * full pass can tell. Pure. Events are hints (level-triggered): a pass always re-observes, so a
 * wrong or missed hint only delays convergence until the interval pass.
 */
import { ROOT_PROFILE } from '../desired/render.js';

/**
 * A reason to look again: one profile (and its slot), only a profile's intent (its state file
 * changed: gateways rewrite it about once a second), or everything.
 */
export type Hint =
  | { readonly kind: 'profile'; readonly profile: string }
  | { readonly kind: 'intent'; readonly profile: string }
  | { readonly kind: 'full'; readonly why: string };

/** Which kind of watched directory an event came from. */
export type TargetKind = 'home' | 'profiles' | 'tombstones' | 'profile' | 'scandir';

/** A watched directory; `profile` is set for `profile` targets. */
export interface TargetRef {
  readonly kind: TargetKind;
  readonly profile?: string;
}

/** Tombstone directory name under `profiles/` (upstream `hermes profile delete`). */
export const TOMBSTONES_DIR = '.deleted';

const STATE_FILE = 'gateway_state.json';

/**
 * Maps one event to a hint, or undefined when it cannot change any decision (a gateway's logs,
 * our own dot-named bookkeeping in the scandir, editor temp files). A null name (inotify queue
 * overflow) asks for a full pass.
 */
export function classifyEvent(target: TargetRef, name: string | null, servicePrefix: string): Hint | undefined {
  if (name === null) return { kind: 'full', why: `events lost in ${target.kind}` };
  switch (target.kind) {
    case 'home':
      if (name === STATE_FILE) return { kind: 'intent', profile: ROOT_PROFILE };
      if (name === 'config.yaml' || name === 'profiles') return { kind: 'full', why: `${name} changed` };
      return undefined;
    case 'profiles':
      if (name === TOMBSTONES_DIR) return { kind: 'full', why: 'tombstones directory changed' };
      return name.startsWith('.') ? undefined : { kind: 'profile', profile: name };
    case 'tombstones':
      return name.startsWith('.') ? undefined : { kind: 'profile', profile: name };
    case 'profile':
      if (target.profile === undefined) return undefined;
      if (name === STATE_FILE) return { kind: 'intent', profile: target.profile };
      return name === 'SOUL.md' ? { kind: 'profile', profile: target.profile } : undefined;
    case 'scandir':
      if (name.startsWith('.') || !name.startsWith(servicePrefix) || name.length === servicePrefix.length) return undefined;
      return { kind: 'profile', profile: name.slice(servicePrefix.length) };
    default:
      return assertNever(target.kind);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected target kind ${String(x)}`);
}

/** Hints gathered since the last pass started, coalesced: a full request absorbs profile ones. */
export interface Dirty {
  readonly full: boolean;
  readonly why: readonly string[];
  readonly profiles: ReadonlySet<string>;
  /** Those of `profiles` named only by intent hints (a cheap check can rule them out). */
  readonly intentOnly: ReadonlySet<string>;
  /** When the first hint of this batch arrived (ms), for the debounce. */
  readonly sinceMs: number | undefined;
}

/** No pending hints. */
export const CLEAN: Dirty = { full: false, why: [], profiles: new Set(), intentOnly: new Set(), sinceMs: undefined };

/** Adds a hint to a batch (returns a new value). */
export function addHint(dirty: Dirty, hint: Hint, nowMs: number): Dirty {
  const sinceMs = dirty.sinceMs ?? nowMs;
  if (hint.kind === 'full') {
    const why = dirty.why.includes(hint.why) ? dirty.why : [...dirty.why, hint.why];
    return { full: true, why, profiles: dirty.profiles, intentOnly: dirty.intentOnly, sinceMs };
  }
  const known = dirty.profiles.has(hint.profile);
  if (hint.kind === 'intent') {
    if (known) return dirty.sinceMs === undefined ? { ...dirty, sinceMs } : dirty;
    return { ...dirty, profiles: new Set([...dirty.profiles, hint.profile]), intentOnly: new Set([...dirty.intentOnly, hint.profile]), sinceMs };
  }
  if (known && !dirty.intentOnly.has(hint.profile)) return dirty.sinceMs === undefined ? { ...dirty, sinceMs } : dirty;
  const intentOnly = new Set(dirty.intentOnly);
  intentOnly.delete(hint.profile);
  return { ...dirty, profiles: new Set([...dirty.profiles, hint.profile]), intentOnly, sinceMs };
}

/** Whether a batch asks for anything. */
export function isDirty(dirty: Dirty): boolean {
  return dirty.full || dirty.profiles.size > 0;
}
