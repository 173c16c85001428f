/**
 * Desired state: which slots should exist, with which bytes, and why. Pure and total: everything
 * it needs (observed profiles, settings, host facts) comes in as arguments; no fs, env or clock.
 */
import type {
  DesiredState,
  FileSpec,
  HostFacts,
  Mode,
  Notice,
  ObservedProfile,
  ObservedState,
  ProfileDecision,
  SeedSpec,
  ServiceSpec,
  Settings,
  StateFile,
} from '../model.js';
import { isAutostart, resolvePriorExit, resolvePriorState } from './intent.js';
import { NAME_RULE, compareBytes, invalidNameReason } from '../model/names.js';
import { ROOT_PROFILE } from '../model/constants.js';
import { isManageable } from '../model/adoption.js';
import { type RenderSettings, renderSlotFiles } from './render.js';
import { decideMultiplex, decideSeed } from './host.js';
import { liveNotice, planCleanup, planSweep } from './sweep.js';
import { emptySetGuard, isGone, profilesUnusable } from './prune.js';

export { OWNERSHIP_FILE, MANAGED_FILES, RUNTIME_FILES, ROOT_PROFILE } from '../model/constants.js';
export { isValidProfileName, invalidNameReason, MAX_PROFILE_NAME, compareBytes } from '../model/names.js';
export { decideRole, decideMultiplex, decideSeed, skipLine, type RoleDecision, type SkipRole } from './host.js';
export { unchangedIntents } from './intent.js';

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
interface Context extends DesiredInput {
  readonly multiplex: boolean;
  readonly seeded: boolean;
}

interface Intent {
  readonly prior: string | null;
  readonly decision: ProfileDecision;
}

/** Builds the desired slot set and the per-profile decisions that explain it. */
export function buildDesired(desiredInput: DesiredInput): DesiredState {
  const { observed, mode } = desiredInput;
  const notices: Notice[] = [];
  const { input, seed } = decideHostPolicy(desiredInput, notices);
  const unusable = noteHome(input, notices);
  const { named, root, folded } = decideProfiles(input, notices);
  const decisions = [root, ...named].map((intent) => intent.decision);
  const { services, pending } = slotsOf(decisions, input.settings);
  const undecided = sortUndecidedSlots(input, services, decisions, notices);
  const tombstoned = named.filter((n) => n.decision.action === 'skipped' && n.decision.reason === 'tombstoned');
  const gone = new Set([...tombstoned.map((n) => n.decision.service), ...undecided.gone]);
  const keep = new Set([...pending, ...undecided.kept]);
  // Evaluated with --no-prune too: a volume that looks empty is worth its warning and exit 2 (an
  // unmounted volume), whether or not this pass would have removed anything.
  const anyUsed = named.some((n) => n.decision.action !== 'skipped');
  const pruneBlocked =
    mode === 'sync' ? emptySetGuard({ observed, hermesHome: input.hermesHome, allowEmpty: input.allowEmpty, gone, anyUsed }) : undefined;
  if (pruneBlocked !== undefined) {
    // One warning for one cause: the guard's says what the first said, and what it holds back.
    if (unusable !== undefined) notices.splice(notices.indexOf(unusable), 1);
    notices.push({ level: 'warn', message: pruneBlocked });
  }
  const live = mode === 'boot' ? liveNotice(observed) : undefined;
  if (live !== undefined) notices.push({ level: 'warn', message: live });

  return {
    services,
    keep,
    gone,
    decisions,
    notices,
    foldedProfiles: folded,
    ...(pruneBlocked === undefined ? {} : { pruneBlocked }),
    ...(seed === undefined ? {} : { seed }),
    sweep: mode === 'boot' ? planSweep(observed, decisions) : [],
    cleanup: mode === 'boot' ? planCleanup(observed, input.settings.servicePrefix) : [],
  };
}

/**
 * The policy host facts set for the pass: whether profiles are multiplexed, and whether boot seeds
 * the root state file (and with what). Warns when a fact it needs cannot be read.
 */
function decideHostPolicy(desiredInput: DesiredInput, notices: Notice[]): { readonly input: Context; readonly seed: SeedSpec | undefined } {
  const { observed, host, hermesHome } = desiredInput;
  const mux = decideMultiplex(host.env, host.config, hermesHome);
  if (mux.notice !== undefined) notices.push({ level: 'warn', message: mux.notice });
  const service = `${desiredInput.settings.servicePrefix}${ROOT_PROFILE}`;
  const seeding = desiredInput.mode === 'boot' ? decideSeed(host, observed.home, { hermesHome, service }) : {};
  if (seeding.notice !== undefined) notices.push({ level: 'warn', message: seeding.notice });
  return { input: { ...desiredInput, multiplex: mux.multiplex, seeded: seeding.seed !== undefined }, seed: seeding.seed };
}

/**
 * Warns of what keeps HERMES_HOME from being read as the user meant: a `profiles/default/`,
 * tombstones not read, a `profiles/` that cannot be used. Returns that last warning, which the
 * empty-set guard's replaces when it blocks pruning.
 */
function noteHome(input: Context, notices: Notice[]): Notice | undefined {
  const { observed, hermesHome } = input;
  if (observed.home.shadowedDefault) {
    notices.push({
      level: 'warn',
      // Upstream's line, then what to do: `default` is HERMES_HOME itself, so this directory is never used.
      message:
        'profiles/default/ exists \u2014 skipping to avoid colliding with the reserved root-profile s6 slot; rename it to use it as a named profile (the root profile default is HERMES_HOME itself)',
      profile: ROOT_PROFILE,
    });
  }

  if (observed.home.tombstonesUnread !== undefined) {
    notices.push({
      level: 'warn',
      message:
        `${hermesHome}/profiles/.deleted cannot be read (${observed.home.tombstonesUnread}): its tombstones count for nothing, ` +
        'so a deleted profile whose directory remains is still used; make it a directory the user running the tool can read',
    });
  }

  const skipped = observed.home.tombstonesSkipped;
  if (skipped !== undefined) {
    notices.push({
      level: 'warn',
      message:
        `${hermesHome}/profiles/.deleted holds more tombstones than one pass reads (${skipped} beyond the first ${observed.home.tombstones.size}): ` +
        'those count for nothing, so a profile deleted with one of them is still used while its directory remains; delete the tombstones of profiles long gone',
    });
  }

  const unusable: Notice | undefined =
    observed.home.profilesRoot.kind === 'unreadable'
      ? { level: 'warn', message: profilesUnusable(hermesHome, observed.home.profilesRoot.reason, '') }
      : undefined;
  if (unusable !== undefined) notices.push(unusable);
  return unusable;
}

/**
 * Decides every profile: the named ones in byte order, then the root, which multiplexing's fold
 * policy starts instead of the named ones that asked to autostart (`folded`).
 */
function decideProfiles(input: Context, notices: Notice[]): { readonly named: Intent[]; readonly root: Intent; readonly folded: string[] } {
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

/** The slots the decisions ask for: a spec for each profile not skipped, and which of them are pending. */
function slotsOf(
  decisions: readonly ProfileDecision[],
  settings: Settings,
): { readonly services: Map<string, ServiceSpec>; readonly pending: string[] } {
  const services = new Map<string, ServiceSpec>();
  const pending: string[] = [];
  for (const d of decisions) {
    if (d.action === 'skipped') continue;
    // A pending slot keeps its down marker and live state, but its files are still repaired.
    if (d.action === 'pending') pending.push(d.service);
    services.set(d.service, new LazySpec(d.service, d.profile, d.autostart, settings));
  }
  return { services, pending };
}

/**
 * The scandir's slots no decision asks for (the root's aside): gone when their profile is deleted,
 * else kept as they are.
 */
function sortUndecidedSlots(
  input: Context,
  services: ReadonlyMap<string, ServiceSpec>,
  decisions: readonly ProfileDecision[],
  notices: Notice[],
): { readonly gone: string[]; readonly kept: string[] } {
  const { observed } = input;
  const decided = new Set(decisions.map((d) => d.profile));
  const gone: string[] = [];
  const kept: string[] = [];
  for (const slot of observed.scandir.slots.values()) {
    if (slot.profile === ROOT_PROFILE || services.has(slot.service)) continue;
    if (isGone(slot.profile, observed)) gone.push(slot.service);
    else {
      kept.push(slot.service);
      // Its directory is there but holds no SOUL.md: no profile, yet not deleted. Say so, or the
      // slot would sit unrepaired and unremoved without a word.
      if (slot.owned && !decided.has(slot.profile) && observed.home.presentDirs.has(slot.profile)) {
        notices.push({ level: 'warn', message: noSoulNotice(input.hermesHome, slot.profile, slot.service), profile: slot.profile });
      }
    }
  }
  return { gone, kept };
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
  const base = { profile: p.name, service: s.service };
  if (keepSlot) {
    const why = p.state.kind === 'missing' ? 'state file missing' : `state file unreadable: ${p.state.reason}`;
    const reason = `${why}; slot kept up or down as it is`;
    return { prior: null, decision: { ...base, priorState: null, autostart: false, action: 'pending', reason, priorExit } };
  }
  // Multiplexing keeps named slots down (a fold starts the root for them instead).
  const heldByMultiplex = s.named && input.multiplex;
  const autostart = (isAutostart(prior) || s.folded) && !heldByMultiplex;
  // A slot of its name that is another tool's (diff refuses to adopt it): nothing starts or stops.
  if (slot !== undefined && slot.entry === 'dir' && !isManageable(slot)) {
    return {
      prior: null,
      decision: {
        ...base,
        priorState: prior,
        autostart: false,
        action: 'pending',
        reason: 'its slot is not adopted (its update says why); left up or down as it is',
        priorExit,
        // What it would do once adopted, multiplexing included (the metrics' `intent`).
        wouldStart: autostart,
      },
    };
  }
  const action = autostart ? 'started' : 'registered';
  return { prior, decision: { ...base, priorState: prior, autostart, action, priorExit, ...multiplexFields(s, input, prior) } };
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

function noSoulNotice(hermesHome: string, profile: string, service: string): string {
  const dir = `${hermesHome}/profiles/${profile}`;
  return `${dir} has no SOUL.md, so it is no profile: ${service} is left as it is, neither repaired nor removed; restore ${dir}/SOUL.md, or delete ${dir} so that sync removes the slot`;
}

/**
 * A spec whose files are rendered each time they are read: diff reads them once per slot and a
 * create or update keeps what it needs, so a converged pass holds no rendered script at all (at
 * 10,000 profiles they were ~11 MB of heap, most of the gap to the 150 MB peak-RSS budget). The
 * getter lives once on the prototype; two specs are deep-equal exactly when their inputs are.
 */
class LazySpec implements ServiceSpec {
  constructor(
    readonly service: string,
    readonly profile: string,
    readonly autostart: boolean,
    readonly settings: RenderSettings,
  ) {}

  get files(): readonly FileSpec[] {
    return renderSlotFiles(this.service, this.profile, this.settings);
  }
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
