/**
 * Desired state: which slots should exist, with which bytes, and why. Pure and total: everything
 * it needs (observed profiles, settings, host facts) comes in as arguments; no fs, env or clock.
 */
import type { DesiredState, FileSpec, Notice, ProfileDecision, SeedSpec, ServiceSpec, Settings } from '../model.js';
import { ROOT_PROFILE } from '../model/constants.js';
import { type RenderSettings, renderSlotFiles } from './render.js';
import { accountNotice, decideMultiplex, decideSeed, homeNotice } from './host.js';
import { liveNotice, planCleanup, planSweep } from './sweep.js';
import { emptySetGuard, isGone, profilesUnusable } from './prune.js';
import { type Context, type DesiredInput, decideProfiles } from './profiles.js';

export { OWNERSHIP_FILE, MANAGED_FILES, RUNTIME_FILES, ROOT_PROFILE } from '../model/constants.js';
export { isValidProfileName, invalidNameReason, MAX_PROFILE_NAME, compareBytes } from '../model/names.js';
export { decideRole, decideMultiplex, decideSeed, skipLine, type RoleDecision, type SkipRole } from './host.js';
export { unchangedIntents } from './intent.js';
export { type DesiredInput, foldNotice, isHermesIntent } from './profiles.js';

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
  const account = accountNotice(desiredInput.settings, host.account);
  if (account !== undefined) notices.push({ level: 'warn', message: account });
  const scriptsHome = homeNotice(desiredInput.settings.home, host.env, host.volume);
  if (scriptsHome !== undefined) notices.push({ level: 'warn', message: scriptsHome });
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
