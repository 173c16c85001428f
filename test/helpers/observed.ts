/**
 * Builders of ObservedState values for table and property tests of the pure core. State files
 * are built from raw bytes through the real parser (observe/parse.ts), so a test states what is
 * on disk, not what the parser would make of it.
 */
import type {
  DesiredState,
  HostFacts,
  DirRead,
  FileRead,
  LiveStatus,
  ObservedHome,
  ObservedProfile,
  ObservedScandir,
  ObservedSlot,
  ObservedState,
  ServiceSpec,
  Settings,
  StateFile,
} from '../../src/model.js';
import type { DesiredInput } from '../../src/desired/index.js';
import { DEFAULT_SETTINGS } from '../../src/cli/config.js';
import { parseStateFile } from '../../src/observe/parse.js';
import { renderSlotFiles } from '../../src/desired/render.js';

/** Upstream's defaults: every rendered file is byte-identical to upstream's. */
export const SETTINGS: Settings = DEFAULT_SETTINGS;

/** HERMES_HOME used in messages. */
export const HOME = '/opt/data';

const encoder = new TextEncoder();

/** The state file a profile has when `bytes` are on disk (text is UTF-8 encoded). */
export function stateFromBytes(bytes: string | Uint8Array): StateFile {
  const raw = typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
  return parseStateFile({ kind: 'file', bytes: raw, mode: 0o100644, uid: 10000, mtimeMs: 0 });
}

/** The state file of a JSON object with the given fields (test fixtures' shape, §1.2). */
export function stateOf(fields: Readonly<Record<string, unknown>>): StateFile {
  return stateFromBytes(JSON.stringify({ timestamp: 1234567890, ...fields }));
}

/** No state file. */
export const NO_STATE: StateFile = { kind: 'missing' };

/** Options of {@link profile}. */
export interface ProfileOptions {
  readonly state?: StateFile;
  readonly soulMtimeMs?: number;
  readonly unusable?: string;
  readonly phase?: string;
}

/** A named profile candidate (a `profiles/<name>/` holding SOUL.md). */
export function profile(name: string, opts: ProfileOptions = {}): ObservedProfile {
  return {
    name,
    isRoot: false,
    state: opts.state ?? NO_STATE,
    lifecycle: opts.phase === undefined ? { kind: 'missing' } : { kind: 'parsed', phase: opts.phase },
    // observe knows no SOUL.md time for a profile it cannot use (unreadable, a symlinked SOUL.md)
    ...(opts.unusable === undefined ? { soulMtimeMs: opts.soulMtimeMs ?? 1000 } : { unusable: opts.unusable }),
  };
}

/** Options of {@link home}. */
export interface HomeOptions {
  readonly root?: StateFile;
  readonly named?: readonly ObservedProfile[];
  readonly tombstones?: Readonly<Record<string, number>>;
  /** Extra directories under `profiles/` without SOUL.md. */
  readonly strayDirs?: readonly string[];
  readonly profilesRoot?: ObservedHome['profilesRoot'];
  readonly shadowedDefault?: boolean;
}

/** An ObservedHome: root first, then the named candidates in the order given. */
export function home(opts: HomeOptions = {}): ObservedHome {
  const named = opts.named ?? [];
  const root: ObservedProfile = { name: 'default', isRoot: true, state: opts.root ?? NO_STATE, lifecycle: { kind: 'missing' } };
  return {
    profilesRoot: opts.profilesRoot ?? { kind: 'ok' },
    profiles: [root, ...named],
    tombstones: new Map(Object.entries(opts.tombstones ?? {})),
    presentDirs: new Set([...named.map((p) => p.name), ...(opts.strayDirs ?? [])]),
    notProfiles: new Set(opts.strayDirs ?? []),
    profileOutOfScope: false,
    shadowedDefault: opts.shadowedDefault ?? false,
  };
}

/** A directory as observe reads it. */
export function dirRead(mode = 0o755, uid = 0): DirRead {
  return { kind: 'dir', mode: 0o040000 | mode, uid };
}

/** A regular file as observe reads it. */
export function fileRead(content: string | Uint8Array, mode = 0o644, uid = 0, mtimeMs = 1_000_000): FileRead {
  return { kind: 'file', bytes: typeof content === 'string' ? encoder.encode(content) : content, mode: 0o100000 | mode, uid, mtimeMs };
}

/** The rendered spec of a profile's slot with the given settings. */
export function specOf(profileName: string, autostart: boolean, settings: Settings = SETTINGS): ServiceSpec {
  const service = `${settings.servicePrefix}${profileName}`;
  return { service, profile: profileName, autostart, files: renderSlotFiles(service, profileName, settings) };
}

/** Options of {@link slotOf}: how an existing slot departs from the converged one. */
export interface SlotOptions {
  readonly down?: boolean;
  readonly owned?: boolean;
  readonly uid?: number;
  /** Managed files that are absent. */
  readonly omit?: readonly string[];
  /** Managed files replaced by other reads. */
  readonly files?: Readonly<Record<string, FileRead>>;
  readonly dir?: DirRead;
  readonly logDir?: DirRead;
  readonly live?: LiveStatus;
  readonly loggerLive?: LiveStatus;
  readonly entry?: ObservedSlot['entry'];
  /** Entries of an unowned slot the Hermes CLI never writes. */
  readonly foreignEntries?: readonly string[];
}

/** An existing slot: converged with `spec` unless options say otherwise. */
export function slotOf(spec: ServiceSpec, opts: SlotOptions = {}): ObservedSlot {
  const uid = opts.uid ?? 0;
  const files = new Map<string, FileRead>();
  for (const f of spec.files) {
    if (opts.omit?.includes(f.path) === true) continue;
    files.set(f.path, fileRead(f.content, f.mode, uid));
  }
  for (const [path, read] of Object.entries(opts.files ?? {})) files.set(path, read);
  return {
    service: spec.service,
    profile: spec.profile,
    entry: opts.entry ?? 'dir',
    dir: opts.dir ?? dirRead(0o755, uid),
    logDir: opts.logDir ?? dirRead(0o755, uid),
    files,
    hasDownMarker: opts.down ?? !spec.autostart,
    owned: opts.owned ?? true,
    foreignEntries: opts.foreignEntries ?? [],
    ...(opts.live === undefined ? {} : { live: opts.live }),
    ...(opts.loggerLive === undefined ? {} : { loggerLive: opts.loggerLive }),
  };
}

/** A non-directory entry squatting on a slot name, as observe reports it. */
export function foreignEntry(service: string, profileName: string, entry: 'file' | 'symlink' | 'other'): ObservedSlot {
  return {
    service,
    profile: profileName,
    entry,
    dir: { kind: 'refused', reason: `is a ${entry}` },
    logDir: { kind: 'missing' },
    files: new Map(),
    hasDownMarker: false,
    owned: false,
    foreignEntries: [],
  };
}

/** A live, up service as s6 reports it (`updownSinceUnix` in seconds). */
export function liveUp(updownSinceUnix = 2000): LiveStatus {
  return {
    supervised: true,
    up: true,
    wantedUp: true,
    pid: 4242,
    exitcode: -1,
    signum: -1,
    updownSinceUnix,
    ready: false,
    finishing: false,
  };
}

/** Options of {@link scandirOf}. */
export interface ScandirOptions {
  readonly svscanLive?: boolean;
  readonly pendingRestarts?: readonly string[];
  readonly upstreamLeftovers?: readonly string[];
}

/** An existing scandir holding `slots`. */
export function scandirOf(slots: readonly ObservedSlot[] = [], opts: ScandirOptions = {}): ObservedScandir {
  return {
    exists: true,
    slots: new Map(slots.map((s) => [s.service, s])),
    svscanLive: opts.svscanLive ?? false,
    serviceCount: slots.length,
    pendingRestarts: new Set(opts.pendingRestarts ?? []),
    upstreamLeftovers: opts.upstreamLeftovers ?? [],
  };
}

/** A whole observed state; the scandir defaults to an empty existing one. */
export function observedOf(h: ObservedHome, s: ObservedScandir = scandirOf()): ObservedState {
  return { home: h, scandir: s };
}

/** Host facts of a plain gateway container: no argv, no env, no config.yaml. */
export const HOST: HostFacts = { argv: [], env: {}, config: { kind: 'missing' }, nowMs: 2_000_000_000_000 };

/** Overrides of {@link inputOf}: any input field, plus shorthands for host facts. */
export type InputOverrides = Partial<Omit<DesiredInput, 'observed'>> & {
  /** `GATEWAY_MULTIPLEX_PROFILES` set on or off. */
  readonly multiplex?: boolean;
  /** A legacy `gateway run` container on a home without a root state file (the seed is planned). */
  readonly legacySeeded?: boolean;
};

/** buildDesired's input for `observed` with boot defaults, overridable. */
export function inputOf(observed: ObservedState, over: InputOverrides = {}): DesiredInput {
  const { multiplex, legacySeeded, ...rest } = over;
  const host: HostFacts = {
    ...HOST,
    ...(legacySeeded === true ? { argv: ['gateway', 'run'] } : {}),
    env: multiplex === undefined ? {} : { multiplex: multiplex ? '1' : '0' },
  };
  const seen = legacySeeded === true ? { ...observed, home: { ...observed.home, rootStateEntry: { kind: 'absent' as const } } } : observed;
  return { observed: seen, settings: SETTINGS, mode: 'boot', hermesHome: HOME, allowEmpty: false, host, ...rest };
}

/** Options of {@link desiredOf}. */
export interface DesiredOptions {
  readonly gone?: readonly string[];
  readonly keep?: readonly string[];
  readonly pruneBlocked?: string;
}

/** A desired state holding exactly `specs` (decisions and notices left empty). */
export function desiredOf(specs: readonly ServiceSpec[], opts: DesiredOptions = {}): DesiredState {
  return {
    services: new Map(specs.map((s) => [s.service, s])),
    keep: new Set(opts.keep ?? []),
    gone: new Set(opts.gone ?? []),
    decisions: [],
    sweep: [],
    cleanup: [],
    notices: [],
    foldedProfiles: [],
    ...(opts.pruneBlocked === undefined ? {} : { pruneBlocked: opts.pruneBlocked }),
  };
}
