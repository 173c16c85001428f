/**
 * Diff: compares the observed slots with the desired ones and plans the operations between them.
 * Pure and total; the plan is sorted so output is stable. Reasons are for humans only.
 */
import type {
  DesiredState,
  DirChange,
  DirIdentity,
  DirRead,
  FileChange,
  FileRead,
  ObservedSlot,
  ObservedState,
  Operation,
  Plan,
  ServiceSpec,
  TrashEntry,
} from '../model.js';
import { isManageable } from '../model/adoption.js';
import { PURGE_REFUSED, REMOVE_REFUSED, REMOVE_WAITS, REMOVE_WAITS_DENIED, RUNTIME_FILES } from '../model/constants.js';
import { sameUtf8 } from './bytes.js';
import { decodeUtf8 } from '../model/text.js';
import { planHousekeeping } from './housekeeping.js';
import { decideRestart, isJournalTrusted } from './restarts.js';

/** What a foreign entry at a slot path is, in words. */
const ENTRY_WORDS = { file: 'a file', symlink: 'a symlink', other: 'a FIFO or other special file', dir: 'a directory' } as const;

export { holdBack, journalKeep } from './restarts.js';
export { isRefused } from './refused.js';

/** Options that change what a pass may do. */
export interface DiffOptions {
  /** Remove owned slots of deleted profiles (sync/watch default). */
  readonly prune: boolean;
  /** Restart running services whose run-time files change (or changed earlier). */
  readonly restartChanged: boolean;
  /** Owner every managed file and directory must have, or null to not check owners (not root). */
  readonly expectedUid: number | null;
  /** The pass's clock (ms since the epoch); mtimes after it are not trusted. Default: no limit. */
  readonly nowMs?: number;
}

/**
 * Plan order within one service: the seed and files first, the restart after its files, purge,
 * then a heal (`s6-svc -u` on a service s6 holds down), and a pickup (the rescan that starts its
 * supervisor, after the markers) last.
 */
const KIND_ORDER: Readonly<Record<Operation['kind'], number>> = {
  seed: 0,
  cleanup: 1,
  sweep: 2,
  create: 3,
  update: 4,
  restart: 5,
  up: 6,
  down: 7,
  remove: 8,
  purge: 9,
  heal: 10,
  pickup: 11,
};
const DIR_MODE = 0o755;

/** Plans the operations that turn `observed` into `desired`. */
export function diffStates(observed: ObservedState, desired: DesiredState, options: DiffOptions): Plan {
  const slots = planSlots(observed, desired, options);
  const prune = options.prune && desired.pruneBlocked === undefined;
  const ops: Operation[] = [
    ...planHousekeeping(desired),
    ...slots.ops,
    ...(prune ? planRemovals(observed, desired) : []),
    ...(observed.scandir.trash ?? []).map(planPurge),
  ];
  ops.sort(compareOps);
  slots.restartPending.sort();
  return { operations: ops, restartPending: slots.restartPending };
}

/**
 * The operations of the desired slots: a slot missing (or not a directory) is created; one there
 * is updated, restarted after its files if they call for it, and its down marker set to its
 * intent. Also the services whose restart is pending (not done in this pass).
 */
function planSlots(
  observed: ObservedState,
  desired: DesiredState,
  options: DiffOptions,
): { readonly ops: Operation[]; readonly restartPending: string[] } {
  const ops: Operation[] = [];
  const restartPending: string[] = [];
  const trusted = isJournalTrusted(observed, options.expectedUid);
  // Why a slot is kept down when that is not its own intent (multiplexing): said in the reason.
  const heldDown = new Map(desired.decisions.filter((d) => !d.autostart && d.reason !== undefined).map((d) => [d.service, d.reason]));
  for (const spec of desired.services.values()) {
    const slot = observed.scandir.slots.get(spec.service);
    if (slot === undefined || slot.entry !== 'dir') {
      const reason = slot === undefined ? 'slot missing' : `slot path is ${ENTRY_WORDS[slot.entry]}, not a directory: move or delete it`;
      ops.push({ kind: 'create', service: spec.service, profile: spec.profile, reason, spec });
      continue;
    }
    const journalled = trusted && observed.scandir.pendingRestarts.has(spec.service);
    const update = planUpdate(slot, spec, options, journalled);
    ops.push(...update.ops);
    if (update.restartPending) restartPending.push(spec.service);
    if (!isManageable(slot)) continue; // refused: nothing else is planned for it either
    // A pending slot (unreadable intent) keeps its down marker: only its files are repaired.
    if (desired.keep.has(spec.service)) continue;
    const marker = planMarker(slot, spec, update.identityAfter, heldDown.get(spec.service));
    if (marker !== undefined) ops.push(marker);
  }
  return { ops, restartPending };
}

/**
 * The `up` or `down` that makes a slot's down marker match its intent, if it does not; it expects
 * the slot as its update leaves it. `heldDown` says why a slot is kept down against its own intent.
 */
function planMarker(
  slot: ObservedSlot,
  spec: ServiceSpec,
  identityAfter: DirIdentity | undefined,
  heldDown: string | undefined,
): Operation | undefined {
  if (slot.hasDownMarker !== spec.autostart) return undefined;
  const expect = identityAfter === undefined ? {} : { expect: identityAfter };
  return spec.autostart
    ? { kind: 'up', service: spec.service, profile: spec.profile, reason: 'intent is running; down marker present', ...expect }
    : {
        kind: 'down',
        service: spec.service,
        profile: spec.profile,
        reason: `${heldDown ?? 'intent is not running'}; down marker missing`,
        ...expect,
      };
}

/** The removals a prune plans: one per slot of ours whose profile is gone, refused when it cannot go ahead now. */
function planRemovals(observed: ObservedState, desired: DesiredState): Operation[] {
  const ops: Operation[] = [];
  const pending = new Map((observed.scandir.trash ?? []).filter((e) => e.supervised).map((e) => [e.service, e]));
  for (const slot of prunableSlots(observed, desired)) {
    // A slot whose supervisor this user may not stop (not root) stays: its remove is refused. So
    // does one whose earlier removal still runs in the trash under its name: the run would
    // refuse to move it there (src/actuate/remove.ts), and --diff must say so.
    const twin = pending.get(slot.service);
    const behind = twin === undefined ? undefined : twin.controlDenied === true ? REMOVE_WAITS_DENIED : REMOVE_WAITS;
    const reason = slot.controlDenied === true ? REMOVE_REFUSED : behind;
    ops.push({
      kind: 'remove',
      service: slot.service,
      profile: slot.profile,
      reason: reason ?? 'profile deleted',
      ...(slot.identity === undefined ? {} : { expect: slot.identity }),
      ...(reason === undefined ? {} : { refused: true }),
    });
  }
  return ops;
}

/** The purge of a slot an earlier pass moved to the trash: refused, pending or due, and why. */
function planPurge(entry: TrashEntry): Operation {
  const refused = entry.controlDenied === true || entry.linkedFrom !== undefined;
  const reason =
    entry.controlDenied === true
      ? PURGE_REFUSED
      : entry.linkedFrom !== undefined
        ? purgeLinked(entry.linkedFrom)
        : !entry.supervised
          ? entry.heldOpen === true
            ? 'removal pending: left in the trash (a process holds its supervise/control open, but no supervisor runs there: not waited for)'
            : 'removal pending: left in the trash'
          : entry.stopping
            ? 'removal pending: its gateway is stopping in the trash (told already, not told again)'
            : entry.linksUnchecked === true
              ? PURGE_LINKS_UNCHECKED
              : 'removal pending: supervisor still running in the trash';
  const stopping = entry.supervised && entry.stopping ? { stopping: true } : {};
  const supervised = entry.supervised;
  return {
    kind: 'purge',
    service: entry.service,
    profile: entry.profile,
    reason,
    supervised,
    ...stopping,
    ...(refused ? { refused } : {}),
  };
}

/** Why a trashed slot a scandir symlink leads to is not purged (TrashEntry.linkedFrom). */
function purgeLinked(link: string): string {
  return `removal pending: s6-svscan keeps its supervisor through the scandir entry "${link}", a symlink to it this tool did not make (not stopped, not deleted); delete that symlink, and the next pass stops and deletes it`;
}

/** A trashed slot's supervisor still runs, and not every scandir symlink was followed (TrashEntry.linksUnchecked). */
const PURGE_LINKS_UNCHECKED =
  'removal pending: supervisor still running in the trash, and not every symlink in the scandir was followed (over 10,000, or over a second spent on them): one leading to it would make s6-svscan keep it; list them with find on the scandir, -maxdepth 1 -type l, and delete any leading into .reconcile-gateways';

/**
 * The slots a prune removes: ours (a directory with our record) whose profile is gone. `--no-prune`
 * keeps exactly these, and says so (src/reconcile.ts).
 */
export function prunableSlots(observed: ObservedState, desired: DesiredState): ObservedSlot[] {
  const out: ObservedSlot[] = [];
  for (const service of desired.gone) {
    const slot = observed.scandir.slots.get(service);
    if (slot !== undefined && slot.owned && slot.entry === 'dir' && !desired.services.has(service)) out.push(slot);
  }
  return out;
}

/**
 * The plan with the live operations a pass adds to it (heals, pickups), in plan order. A heal acts
 * only on the slot observe saw, as this plan leaves it: an update that adopts the slot chowns it
 * first, so the heal expects the new owner (as a `restart` or `up` after that update does).
 */
export function withLiveOps(plan: Plan, ops: readonly Operation[], expectedUid: number | null): Plan {
  if (ops.length === 0) return plan;
  const chowned = new Set(plan.operations.filter((op) => op.kind === 'update' && chownsSlot(op.dirs)).map((op) => op.service));
  const live = ops.map((op) =>
    op.kind === 'heal' && op.expect !== undefined && expectedUid !== null && chowned.has(op.service)
      ? { ...op, expect: { ...op.expect, uid: expectedUid } }
      : op,
  );
  return { ...plan, operations: [...plan.operations, ...live].sort(compareOps) };
}

/** Whether an update's directory changes chown the slot itself (adopting it). */
const chownsSlot = (dirs: readonly DirChange[]): boolean => dirs.some((d) => d.path === '' && d.fix === 'chown');

/** Stable order: by service name, then KIND_ORDER. */
export function compareOps(a: Operation, b: Operation): number {
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
}

interface UpdatePlan {
  readonly ops: readonly Operation[];
  readonly restartPending: boolean;
  /** The slot's identity once the update is applied: an adopted slot is chowned to us. */
  readonly identityAfter: DirIdentity | undefined;
}

function planUpdate(slot: ObservedSlot, spec: ServiceSpec, options: DiffOptions, journalled: boolean): UpdatePlan {
  if (!isManageable(slot)) return refuseAdoption(slot, spec);
  const dirs = [...planDir('', slot.dir, options), ...planDir('log', slot.logDir, options)];
  const changes: FileChange[] = [];
  for (const file of spec.files) {
    const change = planFile(slot.files.get(file.path) ?? { kind: 'missing' }, file, options);
    if (change !== undefined) changes.push(change);
  }
  const runtimeChanged = changes.some((c) => c.fix === 'write' && c.keepMtimeMs === undefined && RUNTIME_FILES.has(c.path));
  const nowMs = options.nowMs ?? Number.POSITIVE_INFINITY;
  const restart = decideRestart(slot, { runtimeChanged, restartChanged: options.restartChanged, journalled, nowMs });
  const ops: Operation[] = [];
  const base = { service: spec.service, profile: spec.profile };
  // Actuate acts only on the directory observe saw (issue 16 #9, #10); the operations after the
  // update expect the owner it sets, so adopting a slot and starting it in one pass is no "replaced".
  const expect = slot.identity === undefined ? {} : { expect: slot.identity };
  if (dirs.length + changes.length > 0) {
    const fixes = [...dirs.map((d) => `${d.path || '.'} ${d.fix}`), ...changes.map((c) => `${c.path} ${c.fix}`)].join(', ');
    ops.push({
      kind: 'update',
      ...base,
      reason: slot.owned ? fixes : 'adopt unowned slot',
      dirs,
      changes,
      ...expect,
      ...(slot.owned ? {} : { adopt: true as const }),
    });
  }
  const chownTo = chownsSlot(dirs) ? options.expectedUid : null;
  const identityAfter = slot.identity !== undefined && chownTo !== null ? { ...slot.identity, uid: chownTo } : slot.identity;
  if (restart.restart !== undefined)
    ops.push({ kind: 'restart', ...base, reason: restart.restart, ...(identityAfter === undefined ? {} : { expect: identityAfter }) });
  return { ops, restartPending: restart.restart === undefined && restart.pending, identityAfter };
}

/**
 * A slot without our record that holds what the Hermes CLI never writes (another tool's service,
 * its data, a `log/finish` s6 would run) is not adopted: adopting it would rewrite that service,
 * and a later prune would delete what it holds. Its update fails every pass, touching nothing.
 */
function refuseAdoption(slot: ObservedSlot, spec: ServiceSpec): UpdatePlan {
  const entries = slot.foreignEntries.join(', ');
  const reason = `not adopted: ${spec.service} holds ${entries}, which the Hermes CLI never writes (another tool's service?); nothing in it was changed: move those out of it, or rename that service or this profile`;
  const op: Operation = { kind: 'update', service: spec.service, profile: spec.profile, reason, dirs: [], changes: [], refused: true };
  return { ops: [op], restartPending: false, identityAfter: slot.identity };
}

function planDir(path: '' | 'log', dir: DirRead, options: DiffOptions): DirChange[] {
  if (dir.kind === 'missing') return [{ path, fix: 'mkdir', mode: DIR_MODE, detail: 'missing' }];
  // A symlink or file named `log` in a slot we adopt is ours to replace, as `run` would be (the
  // unlink never follows it); the slot itself being one is refused before any diff. An entry that
  // could not even be looked at is not unlinked: the mkdir fails and says why.
  if (dir.kind === 'refused') {
    if (path === '') return [];
    const replace = dir.code === 'EFTYPE';
    return [{ path, fix: 'mkdir', mode: DIR_MODE, ...(replace ? { replace } : {}), detail: insteadOf(dir, 'a directory') }];
  }
  const out: DirChange[] = [];
  if (options.expectedUid !== null && dir.uid !== options.expectedUid)
    out.push({ path, fix: 'chown', mode: DIR_MODE, detail: `owner uid ${dir.uid} → ${options.expectedUid}` });
  if ((dir.mode & 0o7777) !== DIR_MODE)
    out.push({ path, fix: 'chmod', mode: DIR_MODE, detail: `mode ${octal(dir.mode)} → ${octal(DIR_MODE)}` });
  return out;
}

/**
 * What `--diff` says of an entry refused where a file or log/ goes: a symlink, FIFO or other
 * non-file is replaced; one too large or unreadable is rewritten (the write renames over it); a
 * directory where a file goes stays, and says so.
 */
function insteadOf(read: { readonly reason: string; readonly code?: string }, what: 'a file' | 'a directory'): string {
  const is = read.reason.replace(/^is /, '');
  // A directory is never removed (it could hold anyone's files): the write fails until it is gone.
  if (read.code === 'EISDIR') return 'a directory, which is never removed: move or delete it';
  if (read.code === 'EFTYPE' || read.code === 'ELOOP' || read.code === 'ENXIO') return `${is}, replaced by ${what}`;
  if (read.code === 'EFBIG') return `${is}, rewritten`;
  return `unreadable (${read.reason})${what === 'a file' ? ', rewritten' : ''}`;
}

/** A permission mode as `ls -l`'s users write it: `0755`. */
function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function planFile(read: FileRead, spec: ServiceSpec['files'][number], options: DiffOptions): FileChange | undefined {
  if (read.kind === 'missing') return { path: spec.path, fix: 'write', spec, detail: 'missing' };
  if (read.kind === 'refused') return { path: spec.path, fix: 'write', spec, detail: insteadOf(read, 'a file') };
  if (!sameUtf8(read.bytes, spec.content)) {
    const before = decodeUtf8(read.bytes);
    return { path: spec.path, fix: 'write', spec, ...(before === undefined ? {} : { before }) };
  }
  // A file someone else owns is rewritten rather than chowned: the rewrite cannot be a hard link.
  if (options.expectedUid !== null && read.uid !== options.expectedUid)
    return {
      path: spec.path,
      fix: 'write',
      spec,
      keepMtimeMs: read.mtimeMs,
      detail: `owner uid ${read.uid} → ${options.expectedUid}: rewritten with the same bytes (a chown could follow a hard link)`,
    };
  if ((read.mode & 0o7777) === spec.mode) return undefined;
  const mode = `mode ${octal(read.mode)} → ${octal(spec.mode)}`;
  // A file with other names is one inode: a chmod would change what they name too (a hard link
  // planted in a slot we adopt). The rewrite gives this name a file of its own.
  if (read.links !== undefined)
    return {
      path: spec.path,
      fix: 'write',
      spec,
      keepMtimeMs: read.mtimeMs,
      detail: `${mode}: rewritten with the same bytes (it has ${read.links} hard links, which a chmod would change too)`,
    };
  return { path: spec.path, fix: 'chmod', spec, detail: mode };
}
