/**
 * fast-check arbitraries for the pure core: random HERMES_HOME observations (profiles with state
 * file variants, tombstones, stray dirs) and random scandirs (slots with missing, corrupt,
 * wrongly-moded or foreign-owned files, owned or not, with or without `down`, live or not, and
 * earlier removals left in the trash, some of them under the name of a slot).
 */
import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';
import type {
  DirRead,
  FileRead,
  LiveStatus,
  ObservedHome,
  ObservedSlot,
  ObservedState,
  Settings,
  StateFile,
  TrashEntry,
} from '../../src/model.js';
import type { DesiredInput } from '../../src/desired/index.js';
import type { DiffOptions } from '../../src/diff/index.js';
import { NO_STATE, SETTINGS, fileRead, foreignEntry, home, profile, scandirOf, specOf, stateFromBytes } from './observed.js';
import { isOwned } from './simulate.js';

/** Valid profile names the generators draw from (`default` only as a slot). */
export const VALID_NAMES = ['a', 'b', 'coder', 'z-9', 'w_x', '0'] as const;
const INVALID_NAMES = ['Bad', '.hidden', 'a.b'] as const;
const EXTRA_SLOT_NAMES = ['old', 'stray', 'default'] as const;

const DESIRED_VALUES: readonly unknown[] = [undefined, null, 'running', 'stopped', 'draining', '', 'Running', 1, true];
const RUNTIME_VALUES: readonly unknown[] = [
  undefined,
  null,
  'running',
  'stopped',
  'draining',
  'degraded',
  'starting',
  'startup_failed',
  42,
];

/** Every shape a state file takes on disk. */
export const stateArb: Arbitrary<StateFile> = fc.oneof(
  fc.constant(NO_STATE),
  fc.constantFrom('{ broken', '', '[]', 'null', '"running"').map((text) => stateFromBytes(text)),
  fc.constant(stateFromBytes(new Uint8Array([0x7b, 0xff, 0x7d]))),
  fc.constant<StateFile>({ kind: 'unreadable', reason: 'EACCES' }),
  fc
    .record({ d: fc.constantFrom(...DESIRED_VALUES), g: fc.constantFrom(...RUNTIME_VALUES), bom: fc.boolean() })
    .map(({ d, g, bom }) => stateFromBytes(`${bom ? '\uFEFF' : ''}${JSON.stringify({ desired_state: d, gateway_state: g })}`)),
);

const namedArb = fc.record({
  name: fc.constantFrom<string>(...VALID_NAMES, ...INVALID_NAMES),
  state: stateArb,
  soulMtimeMs: fc.integer({ min: 1, max: 10 }),
  unusable: fc.option(fc.constant('the profile directory is a symlink'), { freq: 8, nil: undefined }),
});

/** An ObservedHome as observe can produce it. */
export const homeArb: Arbitrary<ObservedHome> = fc
  .record({
    root: stateArb,
    named: fc.uniqueArray(namedArb, { selector: (p) => p.name, maxLength: 6 }),
    tombstones: fc.dictionary(fc.constantFrom<string>(...VALID_NAMES, 'old'), fc.integer({ min: 1, max: 10 }), { maxKeys: 3 }),
    strayDirs: fc.subarray(['stray', 'halfway']),
    profilesRoot: fc.constantFrom('ok', 'ok', 'ok', 'missing', 'unreadable'),
    shadowedDefault: fc.boolean(),
  })
  .map((h) => {
    if (h.profilesRoot !== 'ok') {
      return home({
        root: h.root,
        profilesRoot: h.profilesRoot === 'missing' ? { kind: 'missing' } : { kind: 'unreadable', reason: 'EIO' },
      });
    }
    const named = h.named.map((p) =>
      profile(p.name, { state: p.state, soulMtimeMs: p.soulMtimeMs, ...(p.unusable === undefined ? {} : { unusable: p.unusable }) }),
    );
    return home({ root: h.root, named, tombstones: h.tombstones, strayDirs: h.strayDirs, shadowedDefault: h.shadowedDefault });
  });

const fileFateArb = fc.constantFrom('keep', 'keep', 'keep', 'omit', 'content', 'mode', 'uid');
const dirFateArb = fc.constantFrom('keep', 'keep', 'mode', 'uid');

function applyFate(read: FileRead, fate: string): FileRead | undefined {
  if (read.kind !== 'file') return read;
  switch (fate) {
    case 'omit':
      return undefined;
    case 'content':
      return { ...read, bytes: new TextEncoder().encode('stale\n') };
    case 'mode':
      return { ...read, mode: 0o100600 };
    case 'uid':
      return { ...read, uid: 10000 };
    default:
      return read;
  }
}

function dirFate(fate: string): DirRead {
  if (fate === 'mode') return { kind: 'dir', mode: 0o040700, uid: 0 };
  if (fate === 'uid') return { kind: 'dir', mode: 0o040755, uid: 10000 };
  return { kind: 'dir', mode: 0o040755, uid: 0 };
}

const liveArb: Arbitrary<LiveStatus | undefined> = fc.option(
  fc.record({ up: fc.boolean(), since: fc.integer({ min: 0, max: 3000 }) }).map(({ up, since }): LiveStatus => ({
    supervised: true,
    up,
    wantedUp: up,
    pid: up ? 77 : -1,
    exitcode: -1,
    signum: -1,
    updownSinceUnix: since,
    ready: false,
    finishing: false,
  })),
  { nil: undefined },
);

const slotArb = (service: string, name: string): Arbitrary<ObservedSlot> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom('file', 'symlink', 'other').map((e) => foreignEntry(service, name, e)) },
    {
      weight: 6,
      arbitrary: fc
        .record({
          autostart: fc.boolean(),
          otherUser: fc.boolean(),
          fates: fc.array(fileFateArb, { minLength: 5, maxLength: 5 }),
          dir: dirFateArb,
          log: fc.constantFrom('keep', 'keep', 'mode', 'missing', 'file'),
          down: fc.boolean(),
          live: liveArb,
          mtimeMs: fc.integer({ min: 0, max: 3_000_000 }),
          // A non-root pass that may not stop its supervisor (observe's removal probe).
          denied: fc.constantFrom(false, false, false, true),
        })
        .map((r) => buildSlot(service, name, r)),
    },
  );

interface SlotShape {
  readonly autostart: boolean;
  readonly otherUser: boolean;
  readonly fates: readonly string[];
  readonly dir: string;
  readonly log: string;
  readonly down: boolean;
  readonly live: LiveStatus | undefined;
  readonly mtimeMs: number;
  readonly denied: boolean;
}

function buildSlot(service: string, name: string, r: SlotShape): ObservedSlot {
  const settings: Settings = r.otherUser ? { ...SETTINGS, user: 'nobody' } : SETTINGS;
  const spec = specOf(name, r.autostart, settings);
  const files = new Map<string, FileRead>();
  spec.files.forEach((f, i) => {
    const read = applyFate(fileRead(f.content, f.mode, 0, r.mtimeMs), r.fates[i] ?? 'keep');
    if (read !== undefined) files.set(f.path, read);
  });
  const logDir: DirRead =
    r.log === 'missing' ? { kind: 'missing' } : r.log === 'file' ? { kind: 'refused', reason: 'is a regular file' } : dirFate(r.log);
  if (logDir.kind !== 'dir') files.delete('log/run');
  const owned = isOwned(files.get('.reconcile-gateways.json'), service);
  return {
    service,
    profile: name,
    entry: 'dir',
    dir: dirFate(r.dir),
    logDir,
    files,
    hasDownMarker: r.down,
    owned,
    foreignEntries: [],
    ...(r.live === undefined ? {} : { live: r.live }),
    ...(owned && r.denied ? { controlDenied: true as const } : {}),
  };
}

/**
 * An entry of our trash as observe reads it: a slot an earlier pass moved out, its supervisor gone
 * or still running (its gateway maybe stopping already), or one this user may not tell anything
 * (a denied control always has a supervisor behind it: observe counts it as supervised).
 */
const trashEntryArb = (name: string): Arbitrary<TrashEntry> =>
  fc
    .record({ supervised: fc.boolean(), stopping: fc.boolean(), denied: fc.constantFrom(false, false, true) })
    .map(({ supervised, stopping, denied }): TrashEntry => ({
      service: `gateway-${name}`,
      profile: name,
      supervised: supervised || denied,
      stopping: (supervised || denied) && stopping,
      ...(denied ? { controlDenied: true as const } : {}),
    }));

/**
 * An observed state: a home and a scandir with slots of some profiles and of some others, and a
 * trash of earlier removals (sorted, as observe lists it), whose names may be slots' too.
 */
export const observedArb: Arbitrary<ObservedState> = fc
  .record({
    home: homeArb,
    names: fc.subarray([...VALID_NAMES, ...EXTRA_SLOT_NAMES]),
    trashed: fc.subarray([...VALID_NAMES, ...EXTRA_SLOT_NAMES], { maxLength: 3 }),
    svscanLive: fc.boolean(),
    restartSome: fc.boolean(),
  })
  .chain(({ home: h, names, trashed, svscanLive, restartSome }) =>
    fc
      .tuple(fc.tuple(...names.map((n) => slotArb(`gateway-${n}`, n))), fc.tuple(...trashed.map((n) => trashEntryArb(n))))
      .map(([slots, trash]) => {
        const live = svscanLive ? slots : slots.map(({ live: _drop, ...rest }) => rest);
        const pending = restartSome ? live.filter((_, i) => i % 2 === 0).map((s) => s.service) : [];
        const sorted = [...trash].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
        return { home: h, scandir: { ...scandirOf(live, { svscanLive, pendingRestarts: pending }), trash: sorted } };
      }),
  );

/** The knobs of a pass: buildDesired's host facts and diff options. */
export interface PassKnobs {
  readonly input: Omit<DesiredInput, 'observed'>;
  readonly diff: DiffOptions;
}

/** Random pass options. */
export const knobsArb: Arbitrary<PassKnobs> = fc
  .record({
    mode: fc.constantFrom('boot' as const, 'sync' as const),
    multiplex: fc.boolean(),
    policy: fc.constantFrom('gate' as const, 'fold' as const),
    allowEmpty: fc.boolean(),
    legacySeeded: fc.boolean(),
    prune: fc.boolean(),
    restartChanged: fc.boolean(),
    root: fc.boolean(),
  })
  .map((k) => ({
    input: {
      settings: { ...SETTINGS, multiplexPolicy: k.policy },
      mode: k.mode,
      hermesHome: '/opt/data',
      allowEmpty: k.allowEmpty,
      host: {
        argv: k.legacySeeded ? ['gateway', 'run'] : [],
        env: { multiplex: k.multiplex ? '1' : '0' },
        config: { kind: 'missing' as const },
        nowMs: 2_000_000_000_000,
      },
    },
    diff: { prune: k.prune, restartChanged: k.restartChanged, expectedUid: k.root ? 0 : null, nowMs: 2_000_000_000_000 },
  }));
