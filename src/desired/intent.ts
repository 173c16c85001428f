/**
 * Resolves a profile's prior state from its state file, as upstream's `_read_desired_state`
 * does (#46292, #55397), and its prior exit from the lifecycle ledger (#73863).
 */
import type { Lifecycle, StateFile } from '../model.js';

/** Transient runtime states that mean "was running" when no operator intent is recorded. */
const TRANSIENT_RUNNING: ReadonlySet<string> = new Set(['draining', 'degraded']);

/** The resolved intent: a non-null string `desired_state` verbatim, else the mapped `gateway_state`. */
export function resolvePriorState(state: StateFile): string | null {
  if (state.kind !== 'parsed') return null;
  if (typeof state.desiredState === 'string') return state.desiredState;
  const runtime = state.gatewayState;
  if (typeof runtime !== 'string') return null;
  return TRANSIENT_RUNNING.has(runtime) ? 'running' : runtime;
}

/** Whether an intent starts the gateway: exactly `running`, nothing else (S19). */
export function isAutostart(prior: string | null): boolean {
  return prior === 'running';
}

/** `clean`, `unclean` or `unknown` from the ledger's phase. */
export function resolvePriorExit(lifecycle: Lifecycle): 'clean' | 'unclean' | 'unknown' {
  if (lifecycle.kind !== 'parsed') return 'unknown';
  if (lifecycle.phase === 'exited') return 'clean';
  if (lifecycle.phase === 'running') return 'unclean';
  return 'unknown';
}

/**
 * Watch's skip rule: of the profiles named only because their state file changed, those whose
 * resolved intent is still what the last pass acted on (`remembered`). A gateway rewriting its
 * runtime fields every second then costs one small read, not a pass.
 */
export function unchangedIntents(states: ReadonlyMap<string, StateFile>, remembered: ReadonlyMap<string, string | null>): Set<string> {
  const out = new Set<string>();
  for (const [profile, state] of states) {
    if (state.kind === 'parsed' && remembered.has(profile) && resolvePriorState(state) === remembered.get(profile)) out.add(profile);
  }
  return out;
}
