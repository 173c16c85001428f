/**
 * What a file-system event means for the watcher: which profile to look at again, or that only a
 * full pass can tell. Pure. Events are hints (level-triggered): a pass always re-observes, so a
 * wrong or missed hint only delays convergence until the interval pass.
 */
import { ROOT_PROFILE } from '../model/constants.js';

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
 * our own dot-named bookkeeping in the scandir, editor temp files). An event without a name asks
 * for a full pass. (An inotify queue overflow never reaches us: libuv drops that notice, so the
 * interval pass is what catches events lost to one.)
 */
export function classifyEvent(target: TargetRef, name: string | null, servicePrefix: string): Hint | undefined {
  if (name === null) return { kind: 'full', why: `an event without a file name in ${target.kind}` };
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

/**
 * The controller's batch of hints. Mutable on purpose: a gateway heartbeat produces thousands of
 * events a second, and each must cost O(1), not a copy of the batch. `view()` is a read-only view
 * for the pure scheduler; `add` says whether the batch's due time can have changed.
 */
export class HintBatch {
  #full = false;
  #why: string[] = [];
  #profiles = new Set<string>();
  #intentOnly = new Set<string>();
  #sinceMs: number | undefined;

  /** Adds a hint; true when the batch was clean before (its debounce clock starts now). */
  add(hint: Hint, nowMs: number): boolean {
    const wasClean = !this.#full && this.#profiles.size === 0;
    this.#sinceMs ??= nowMs;
    if (hint.kind === 'full') {
      this.#full = true;
      if (!this.#why.includes(hint.why)) this.#why.push(hint.why);
    } else if (hint.kind === 'intent') {
      if (!this.#profiles.has(hint.profile)) this.#intentOnly.add(hint.profile);
      this.#profiles.add(hint.profile);
    } else {
      this.#intentOnly.delete(hint.profile);
      this.#profiles.add(hint.profile);
    }
    return wasClean;
  }

  /** Moves the batch's start by `ms` (the wall clock stepped: src/watch/controller.ts). */
  shift(ms: number): void {
    if (this.#sinceMs !== undefined) this.#sinceMs += ms;
  }

  /** The batch as the scheduler reads it (no copy: do not keep it across add/clear). */
  view(): Dirty {
    return { full: this.#full, why: this.#why, profiles: this.#profiles, intentOnly: this.#intentOnly, sinceMs: this.#sinceMs };
  }

  /** Starts a new batch; the previous view's sets are handed over, not reused. */
  clear(): void {
    this.#full = false;
    this.#why = [];
    this.#profiles = new Set();
    this.#intentOnly = new Set();
    this.#sinceMs = undefined;
  }
}

/** Whether a batch asks for anything. */
export function isDirty(dirty: Dirty): boolean {
  return dirty.full || dirty.profiles.size > 0;
}
