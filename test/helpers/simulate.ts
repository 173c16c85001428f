/**
 * A pure model of actuate: applies a plan to an ObservedState (immer `produce`) the way the real
 * appliers change the disk, so property tests can check "apply, observe again, the plan is empty"
 * without a file system. Failures the real appliers would hit (a foreign entry in the way of a
 * create, a `log` that is not a directory, a refused remove or purge, a remove whose earlier
 * removal still has a supervisor in the trash) are modelled as failed operations that change
 * nothing. Supervisors told to exit do so within the pass, and what is trashed is deleted.
 */
import { castDraft, enableMapSet, produce } from 'immer';
import type { Draft } from 'immer';
import type { FileRead, LiveStatus, ObservedSlot, ObservedState, Operation, ServiceSpec, TrashEntry, UpdateOp } from '../../src/model.js';
import { OWNERSHIP_FILE } from '../../src/desired/render.js';
import { parseJsonObject } from '../../src/observe/parse.js';

enableMapSet();

/** The host the simulated tool runs on. */
export interface SimHost {
  /** uid the tool's writes get (0 when running as root). */
  readonly uid: number;
  /** The clock, in ms; later than every mtime and s6 timestamp of the state. */
  readonly nowMs: number;
}

/** The state after the plan, and the services whose operation failed (and those operations). */
export interface SimResult {
  readonly state: ObservedState;
  readonly failed: ReadonlySet<string>;
  readonly failedOps: readonly Operation[];
}

const encoder = new TextEncoder();

/**
 * Applies every operation of `operations` to `state`; never mutates its input. With `rescan` (a
 * sync or watch pass), a running s6-svscan is asked to rescan after creates and pickups, as
 * actuate does, and then supervises every slot directory it had not: each starts up or down as its
 * marker says.
 */
export function simulateApply(
  state: ObservedState,
  operations: readonly Operation[],
  host: SimHost,
  opts: { rescan?: boolean } = {},
): SimResult {
  const failed = new Set<string>();
  const failedOps: Operation[] = [];
  const next = produce(state, (draft) => {
    const slots = draft.scandir.slots;
    // The trash as the pass found it: removes are checked against it before purges empty it.
    const trash = state.scandir.trash ?? [];
    const applied = operations.filter((op) => applyOne(slots, trash, op, host, draft.scandir.svscanLive));
    for (const op of operations) {
      if (applied.includes(op)) continue;
      failed.add(op.service);
      failedOps.push(op);
    }
    const rescans = operations.some((op) => (op.kind === 'create' || op.kind === 'pickup') && !failed.has(op.service));
    if (opts.rescan === true && draft.scandir.svscanLive && rescans)
      for (const slot of slots.values())
        if (slot.entry === 'dir' && slot.live === undefined) slot.live = castDraft(supervisedLive(!slot.hasDownMarker, host));
    for (const op of applied) applyHome(draft, op);
    const restarts = operations.filter((o) => o.kind === 'restart');
    // As actuate: the journal keeps exactly the restarts this pass decided and could not do.
    if (restarts.length > 0 || draft.scandir.pendingRestarts.size > 0) {
      draft.scandir.pendingRestarts.clear();
      for (const u of restarts) if (failed.has(u.service)) draft.scandir.pendingRestarts.add(u.service);
    }
  });
  return { state: next, failed, failedOps };
}

type Slots = Draft<Map<string, ObservedSlot>>;

function applyOne(slots: Slots, trash: readonly TrashEntry[], op: Operation, host: SimHost, svscanLive: boolean): boolean {
  const slot = slots.get(op.service);
  switch (op.kind) {
    case 'create':
      if (slot !== undefined) return false;
      slots.set(op.service, castDraft(createdSlot(op.spec, host)));
      return true;
    case 'update':
      return slot !== undefined && slot.entry === 'dir' && applyUpdate(slot, op, host);
    case 'up':
    case 'down':
      if (slot === undefined || slot.entry !== 'dir') return false;
      slot.hasDownMarker = op.kind === 'down';
      if (svscanLive && slot.live?.supervised === true) setLive(slot, op.kind === 'up', host);
      return true;
    case 'remove':
      // A refused remove (this user may not stop the supervisor) leaves the slot and fails; so does
      // one whose earlier removal still has a supervisor in the trash (denied or not): deleting
      // that would orphan it. The pass's purge stops it, and the next pass removes the slot.
      if (op.refused === true || trash.some((e) => e.service === op.service && e.supervised)) return false;
      return slots.delete(op.service); // an earlier removal without a supervisor is deleted first (applyHome)
    case 'heal':
      if (slot === undefined || slot.entry !== 'dir' || slot.live?.supervised !== true) return false;
      setLive(slot, true, host);
      return true;
    case 'pickup':
      // The rescan it asks for (simulateApply's `rescan`) starts the supervisor.
      return slot !== undefined && slot.entry === 'dir' && slot.live === undefined && svscanLive;
    case 'restart':
      if (slot === undefined || slot.live?.up !== true) return false;
      setLive(slot, true, host);
      return true;
    case 'purge':
      return op.refused !== true; // applied to the trash by applyHome
    case 'sweep':
    case 'cleanup':
    case 'seed':
      return true; // applied to the trash, the home and leftovers by applyHome
    default: {
      const never: never = op;
      throw new Error(`unknown operation ${JSON.stringify(never)}`);
    }
  }
}

/** The operations outside slots: the sweep, cleanup, seed and purge, and what a remove does to the trash. */
function applyHome(draft: Draft<ObservedState>, op: Operation): void {
  if (op.kind === 'sweep') {
    const p = draft.home.profiles.find((x) => x.name === op.profile);
    if (p !== undefined) p.runtimeFiles = [];
  } else if (op.kind === 'cleanup') {
    draft.scandir.upstreamLeftovers = draft.scandir.upstreamLeftovers.filter((e) => e !== op.entry);
  } else if (op.kind === 'seed') {
    draft.home.rootStateEntry = { kind: 'file' };
  } else if ((op.kind === 'purge' || op.kind === 'remove') && draft.scandir.trash !== undefined) {
    // A purge deletes its entry once the supervisor is gone; a remove that went ahead deleted the
    // earlier removal of its name first (one without a supervisor: applyOne fails the others).
    draft.scandir.trash = draft.scandir.trash.filter((e) => e.service !== op.service);
  }
}

function createdSlot(spec: ServiceSpec, host: SimHost): ObservedSlot {
  const files = new Map<string, FileRead>(spec.files.map((f) => [f.path, written(f.content, f.mode, host)]));
  return {
    service: spec.service,
    profile: spec.profile,
    entry: 'dir',
    dir: { kind: 'dir', mode: 0o040755, uid: host.uid },
    logDir: { kind: 'dir', mode: 0o040755, uid: host.uid },
    files,
    hasDownMarker: !spec.autostart,
    owned: isOwned(files.get(OWNERSHIP_FILE), spec.service),
    foreignEntries: [],
  };
}

function applyUpdate(slot: Draft<ObservedSlot>, op: UpdateOp, host: SimHost): boolean {
  for (const change of op.dirs) {
    const key = change.path === '' ? 'dir' : 'logDir';
    const dir = slot[key];
    if (change.fix === 'mkdir') {
      if (dir.kind !== 'missing') return false;
      slot[key] = { kind: 'dir', mode: 0o040000 | change.mode, uid: host.uid };
    } else {
      if (dir.kind !== 'dir') return false;
      slot[key] = { kind: 'dir', mode: 0o040000 | change.mode, uid: change.fix === 'chown' ? host.uid : dir.uid };
    }
  }
  for (const change of op.changes) {
    if (change.path.startsWith('log/') && slot.logDir.kind !== 'dir') return false;
    const read = slot.files.get(change.path);
    if (change.fix === 'chmod') {
      if (read === undefined || read.kind !== 'file') return false;
      slot.files.set(change.path, { ...read, mode: 0o100000 | change.spec.mode });
    } else {
      const file = written(change.spec.content, change.spec.mode, host);
      // An owner-only rewrite keeps the old mtime, as actuate does (no false "restart pending").
      const kept = change.keepMtimeMs === undefined || file.kind !== 'file' ? file : { ...file, mtimeMs: change.keepMtimeMs };
      slot.files.set(change.path, castDraft(kept));
    }
  }
  slot.owned = isOwned(slot.files.get(OWNERSHIP_FILE), slot.service);
  return true;
}

/** What a supervisor s6-svscan just started reports: up, or down as a `down` marker holds it. */
function supervisedLive(up: boolean, host: SimHost): LiveStatus {
  return {
    supervised: true,
    up,
    wantedUp: up,
    ready: false,
    finishing: false,
    pid: up ? 4242 : -1,
    exitcode: up ? -1 : 0,
    signum: -1,
    updownSinceUnix: host.nowMs / 1000 + 1,
  };
}

function setLive(slot: Draft<ObservedSlot>, up: boolean, host: SimHost): void {
  if (slot.live === undefined) return;
  slot.live = { ...slot.live, up, wantedUp: up, pid: up ? 4242 : -1, updownSinceUnix: host.nowMs / 1000 + 1 };
}

function written(content: string, mode: number, host: SimHost): FileRead {
  return { kind: 'file', bytes: encoder.encode(content), mode: 0o100000 | mode, uid: host.uid, mtimeMs: host.nowMs };
}

/** Whether a record makes the slot ours, decided as observe decides it. */
export function isOwned(read: FileRead | Draft<FileRead> | undefined, service: string): boolean {
  if (read === undefined || read.kind !== 'file') return false;
  const parsed = parseJsonObject(read.bytes);
  return parsed.ok && parsed.value['managedBy'] === 'reconcile-gateways' && parsed.value['service'] === service;
}
