/**
 * Each profile's decision: started, registered down, pending (its slot left as it is) or skipped,
 * and the warnings that explain it (an invalid name, a tombstone, a state file that cannot be read
 * or holds an odd intent). Multiplexing's fold policy is decided here too. Pure.
 */
import type { HostFacts, Mode, Notice, ObservedProfile, ObservedState, ProfileDecision, Settings, StateFile } from '../model.js';
import { isAutostart, resolvePriorExit, resolvePriorState } from './intent.js';
import { NAME_RULE, compareBytes, invalidNameReason } from '../model/names.js';
import { ROOT_PROFILE } from '../model/constants.js';
import { isManageable } from '../model/adoption.js';

/** Host facts and options the desired set depends on. */
export interface DesiredInput {
  readonly observed: ObservedState;
  readonly settings: Settings;
  readonly mode: Mode;
  /** HERMES_HOME as given, for messages only. */
  readonly hermesHome: string;
  readonly allowEmpty: boolean;
  /** The container's argv, environment, config.yaml and the pass's clock. */
  readonly host: HostFacts;
}

/** What the decisions of one pass share: the input plus the policy derived from host facts. */
export interface Context extends DesiredInput {
  readonly multiplex: boolean;
  readonly seeded: boolean;
}

/** A profile's decision, and the prior intent it was decided from (null when it had none, or was skipped or left pending). */
export interface Intent {
  readonly prior: string | null;
  readonly decision: ProfileDecision;
}

/**
 * Decides every profile: the named ones in byte order, then the root, which multiplexing's fold
 * policy starts instead of the named ones that asked to autostart (`folded`).
 */
export function decideProfiles(
  input: Context,
  notices: Notice[],
): { readonly named: Intent[]; readonly root: Intent; readonly folded: string[] } {
  const root = input.observed.home.profiles.find((p) => p.isRoot);
  const candidates = input.observed.home.profiles
    .filter((p) => !p.isRoot)
    .slice()
    .sort((a, b) => compareBytes(a.name, b.name));
  const named = candidates.map((p) => decideNamed(p, input, notices));
  const folded =
    input.multiplex && input.settings.multiplexPolicy === 'fold'
      ? named.filter((n) => n.decision.action !== 'skipped' && isAutostart(n.prior)).map((n) => n.decision.profile)
      : [];
  const rootIntent = decideRoot(root, input, folded, notices);
  if (folded.length > 0) {
    const prefix = input.settings.servicePrefix;
    notices.push({ level: 'info', message: foldNotice(folded, prefix) });
    // Upstream also logs it as a warning when the root itself was not meant to run (S54, S55).
    if (!isAutostart(rootIntent.prior)) notices.push({ level: 'warn', message: foldNotice(folded, prefix), profile: ROOT_PROFILE });
  }
  return { named, root: rootIntent, folded };
}

/** The upstream fold notice (V3), printed when named intents were folded into the root slot. */
export function foldNotice(folded: readonly string[], prefix: string): string {
  return (
    `reconcile: profile gateway(s) ${folded.join(', ')} asked to autostart; one gateway per container ` +
    `serves every profile, so the ROOT slot (${prefix}${ROOT_PROFILE}) was started instead and multiplexes them.`
  );
}

function decideNamed(p: ObservedProfile, input: Context, notices: Notice[]): Intent {
  const service = `${input.settings.servicePrefix}${p.name}`;
  const priorExit = resolvePriorExit(p.lifecycle);
  const skip = (reason: string): Intent => ({
    prior: null,
    decision: { profile: p.name, service, priorState: null, autostart: false, action: 'skipped', reason, priorExit },
  });
  // Unusable first: a name that is not UTF-8 is also invalid, and only observe's reason says its bytes.
  if (p.unusable !== undefined) {
    notices.push({ level: 'warn', message: `profiles/${p.name}: skipped: ${p.unusable}`, profile: p.name });
    return skip(`unusable: ${p.unusable}`);
  }
  const invalid = invalidNameReason(p.name);
  if (invalid !== undefined) {
    notices.push({
      level: 'warn',
      message: `profiles/${p.name}: skipped: invalid profile name (${invalid}); rename the profile: ${NAME_RULE}`,
      profile: p.name,
    });
    return skip(`invalid-name: ${invalid}`);
  }
  const tomb = input.observed.home.tombstones.get(p.name);
  if (tomb !== undefined) {
    if (p.soulMtimeMs === undefined || tomb >= p.soulMtimeMs) return skip('tombstoned');
    notices.push({
      level: 'warn',
      message: `profiles/${p.name}: SOUL.md is newer than its tombstone profiles/.deleted/${p.name}; treating the profile as re-created`,
      profile: p.name,
    });
  }
  return decideIntent({ profile: p, service, named: true, folded: false }, input, notices);
}

function decideRoot(root: ObservedProfile | undefined, input: Context, folded: readonly string[], notices: Notice[]): Intent {
  const service = `${input.settings.servicePrefix}${ROOT_PROFILE}`;
  const profile: ObservedProfile = root ?? {
    name: ROOT_PROFILE,
    isRoot: true,
    state: { kind: 'missing' },
    lifecycle: { kind: 'missing' },
  };
  return decideIntent({ profile, service, named: false, folded: folded.length > 0 }, input, notices);
}

/** The profile an intent is decided for, and where it stands. */
interface IntentSubject {
  readonly profile: ObservedProfile;
  /** Its slot's service name. */
  readonly service: string;
  /** A named profile; false for the root profile, whose files are HERMES_HOME's own. */
  readonly named: boolean;
  /** The root slot starts for the named profiles folded into it (multiplexing, fold policy). */
  readonly folded: boolean;
}

/**
 * Decides one profile's intent: started or registered down as its state file says, or pending
 * (its slot left up or down as it is) while that intent is unknown or its slot is another tool's.
 */
function decideIntent(s: IntentSubject, input: Context, notices: Notice[]): Intent {
  const p = s.profile;
  const priorExit = resolvePriorExit(p.lifecycle);
  const seeded = !s.named && input.seeded;
  const prior = seeded ? 'running' : resolvePriorState(p.state);
  const slot = input.observed.scandir.slots.get(s.service);
  const intentUnknown = !seeded && p.state.kind !== 'parsed';
  // Boot on a live system keeps a running gateway whose intent is unreadable, as sync does.
  const liveUp = slot?.live?.up === true;
  const keepSlot = (input.mode === 'sync' || liveUp) && intentUnknown && slot !== undefined && slot.entry === 'dir';
  notices.push(...stateFileNotices(s, input.hermesHome, seeded, keepSlot));
  // Literals, not spreads of a shared part: spread-built decisions took ~1 KB more a profile
  // (10 MB at 10,000 profiles, in the peak RSS of a converged boot).
  const { name: profile } = p;
  const { service } = s;
  if (keepSlot) {
    const why = p.state.kind === 'missing' ? 'state file missing' : `state file unreadable: ${p.state.reason}`;
    const reason = `${why}; slot kept up or down as it is`;
    return { prior: null, decision: { profile, service, priorState: null, autostart: false, action: 'pending', reason, priorExit } };
  }
  // Multiplexing keeps named slots down (a fold starts the root for them instead).
  const heldByMultiplex = s.named && input.multiplex;
  const autostart = (isAutostart(prior) || s.folded) && !heldByMultiplex;
  // A slot of its name that is another tool's (diff refuses to adopt it): nothing starts or stops.
  if (slot !== undefined && slot.entry === 'dir' && !isManageable(slot)) {
    const reason = 'its slot is not adopted (its update says why); left up or down as it is';
    // wouldStart: what it would do once adopted, multiplexing included (the metrics' `intent`).
    return {
      prior: null,
      decision: { profile, service, priorState: prior, autostart: false, action: 'pending', reason, priorExit, wouldStart: autostart },
    };
  }
  const { reason, foldedIntoRoot } = multiplexFields(s, input, prior);
  const decision: ProfileDecision = {
    profile,
    service,
    priorState: prior,
    autostart,
    action: autostart ? 'started' : 'registered',
    priorExit,
    ...(reason === undefined ? {} : { reason }),
    ...(foldedIntoRoot === undefined ? {} : { foldedIntoRoot }),
  };
  return { prior, decision };
}

/**
 * The warnings about a profile's state files: a lifecycle ledger that cannot be read, a state file
 * that cannot (and what this pass does instead: `keepSlot`), or one whose intent is odd.
 */
function stateFileNotices(s: IntentSubject, hermesHome: string, seeded: boolean, keepSlot: boolean): Notice[] {
  const p = s.profile;
  const named = s.named ? p.name : undefined;
  const statePath = s.named ? `${hermesHome}/profiles/${p.name}/gateway_state.json` : `${hermesHome}/gateway_state.json`;
  const notices: Notice[] = [];
  if (p.lifecycle.kind === 'unreadable') {
    const ledger = statePath.replace(/gateway_state\.json$/, 'state/gateway.lifecycle.json');
    notices.push({ level: 'warn', message: `could not read ${ledger} (${p.lifecycle.reason}); prior exit unknown`, profile: p.name });
  }
  if (!seeded && p.state.kind === 'unreadable') {
    const consequence = keepSlot ? 'keeping its slot up or down as it is' : 'treating as no prior state';
    notices.push({
      level: 'warn',
      message: `could not read ${statePath} (${p.state.reason}); ${consequence}; ${stateFileFix(p.state.reason, named)}`,
      profile: p.name,
    });
  }
  const odd = !seeded && p.state.kind === 'parsed' ? oddIntent(p.state) : undefined;
  if (odd !== undefined) notices.push({ level: 'warn', message: `${statePath}: ${odd}; ${hermesRewrites(named)}`, profile: p.name });
  return notices;
}

/**
 * What multiplexing adds to a slot's decision: why a named slot stays down and, under the fold
 * policy, whether it is folded into the root slot (a named profile) or starts for folded ones (the root).
 */
function multiplexFields(s: IntentSubject, input: Context, prior: string | null): Pick<ProfileDecision, 'reason' | 'foldedIntoRoot'> {
  const heldByMultiplex = s.named && input.multiplex;
  const foldedAway = heldByMultiplex && input.settings.multiplexPolicy === 'fold' && isAutostart(prior);
  const reason = !heldByMultiplex
    ? undefined
    : foldedAway
      ? 'folded into the root slot (multiplexing)'
      : 'multiplexing: named slots stay down';
  return {
    ...(reason === undefined ? {} : { reason }),
    ...(input.multiplex && input.settings.multiplexPolicy === 'fold' ? { foldedIntoRoot: s.named ? foldedAway : s.folded } : {}),
  };
}

/** Whether `desired_state` is a value Hermes writes (`running`, `stopped`); anything else is odd. */
export function isHermesIntent(desired: string): boolean {
  return desired === 'running' || desired === 'stopped';
}

/**
 * What is odd about a parsed state file's intent, if anything: Hermes writes `desired_state` as
 * `running` or `stopped`. Anything else is kept as upstream keeps it (only `running` starts a
 * gateway; a non-string counts as absent), but said, since `"RUNNING"` would silently stay down.
 */
function oddIntent(state: Extract<StateFile, { kind: 'parsed' }>): string | undefined {
  if (state.desiredStateIgnored !== undefined)
    return `desired_state is ${state.desiredStateIgnored}, not "running" or "stopped"; ignored, so ${
      state.gatewayState === undefined ? 'the gateway has no intent and is registered down' : 'gateway_state decides'
    }`;
  const desired = state.desiredState;
  if (desired === undefined || isHermesIntent(desired)) return undefined;
  // Quoted as it is: the output escapes the whole line (JSON.stringify would escape it twice).
  const shown = `"${desired.length > 40 ? `${desired.slice(0, 40)}...` : desired}"`;
  return `desired_state ${shown} is neither "running" nor "stopped"; only "running" starts a gateway, so it is registered down`;
}

/**
 * What fixes an unreadable state file. Hermes rewrites one it cannot parse when it next starts or
 * stops the gateway; one it can parse (too many objects) it writes back as it is, and it cannot
 * replace a symlink, FIFO or oversized file, or read one it has no permission for.
 */
function stateFileFix(reason: string, named: string | undefined): string {
  if (/^(invalid JSON|empty file|not valid UTF-8|not a JSON object)/.test(reason)) return hermesRewrites(named);
  if (reason.startsWith('holds more than') || reason.startsWith('is larger than')) return 'rewrite it as one small JSON object';
  if (reason.startsWith('is ')) return 'replace it with a regular file holding one small JSON object';
  return 'check the file and its permissions';
}

/** The fix for a state file Hermes writes whole again when it next starts or stops the gateway. */
function hermesRewrites(named: string | undefined): string {
  return `hermes${named === undefined ? '' : ` -p ${named}`} gateway start (or stop) rewrites it, or fix it by hand`;
}
