/**
 * A whole, typed PassResult for tests of what reads one (the reports, exit codes, metrics, the
 * watcher): a planned sync pass that read nothing, changed nothing and found nothing, with the
 * parts a test gives put over it. Being a real PassResult, a fixture cannot keep a field the type
 * lost nor miss one it gained: the compiler says so.
 */
import type { DesiredState, ObservedState, ProfileDecision } from '../../src/model.js';
import type { PassOptions, PassResult } from '../../src/reconcile.js';
import { HOME, HOST, SETTINGS, desiredOf, home, observedOf } from './observed.js';

/** The parts of a PassResult a test sets; `options`, `observed` and `desired` go over the defaults field by field. */
export interface PassResultParts extends Partial<Omit<PassResult, 'options' | 'observed' | 'desired'>> {
  readonly options?: Partial<PassOptions>;
  readonly observed?: Partial<ObservedState>;
  readonly desired?: Partial<DesiredState>;
}

/** The options of a planned, non-root sync pass with upstream's settings and no scandir. */
export const PASS_OPTIONS: PassOptions = {
  mode: 'sync',
  home: { fd: -1, path: HOME },
  scandir: undefined,
  hermesHome: HOME,
  settings: SETTINGS,
  host: HOST,
  prune: true,
  allowEmpty: false,
  restartChanged: false,
  isRoot: false,
};

/** A PassResult made of `parts` over a pass that read nothing (an empty home and scandir). */
export function passResultOf(parts: PassResultParts = {}): PassResult {
  const { options, observed, desired, ...rest } = parts;
  return {
    options: { ...PASS_OPTIONS, ...options },
    observed: { ...observedOf(home()), ...observed },
    desired: { ...desiredOf([]), ...desired },
    plan: { operations: [], restartPending: [] },
    held: [],
    bootLogLines: 0,
    warnings: [],
    drift: [],
    results: [],
    ...rest,
  };
}

/** A profile's decision: started (running, autostart, clean), unless `over` says otherwise. */
export function decisionOf(profile: string, over: Partial<ProfileDecision> = {}): ProfileDecision {
  return { profile, service: `gateway-${profile}`, priorState: 'running', autostart: true, action: 'started', priorExit: 'clean', ...over };
}
