/**
 * Diff: compares the observed slots with the desired ones and plans the operations between them.
 * Pure and total; the plan is sorted so output is stable. Reasons are for humans only.
 */
import type {
  DesiredState,
  DirChange,
  DirRead,
  FileChange,
  FileRead,
  ObservedSlot,
  ObservedState,
  Operation,
  Plan,
  ServiceSpec,
} from '../model.js';
import { RUNTIME_FILES } from '../desired/render.js';
import { sameUtf8 } from './bytes.js';

/** Options that change what a pass may do. */
export interface DiffOptions {
  /** Remove owned slots of deleted profiles (sync/watch default). */
  readonly prune: boolean;
  /** Restart running services whose run-time files change (or changed earlier). */
  readonly restartChanged: boolean;
  /** Owner every managed file and directory must have, or null to not check owners (not root). */
  readonly expectedUid: number | null;
}

const KIND_ORDER: Readonly<Record<Operation['kind'], number>> = { create: 0, update: 1, up: 2, down: 3, remove: 4, heal: 5 };
const DIR_MODE = 0o755;

/** Plans the operations that turn `observed` into `desired`. */
export function diffStates(observed: ObservedState, desired: DesiredState, options: DiffOptions): Plan {
  const ops: Operation[] = [];
  const restartPending: string[] = [];
  for (const spec of desired.services.values()) {
    const slot = observed.scandir.slots.get(spec.service);
    if (slot === undefined || slot.entry !== 'dir') {
      const reason = slot === undefined ? 'slot missing' : `slot path is a ${slot.entry}, not a directory`;
      ops.push({ kind: 'create', service: spec.service, profile: spec.profile, reason, spec });
      continue;
    }
    const update = planUpdate(slot, spec, options, observed.scandir.pendingRestarts.has(spec.service));
    if (update.op !== undefined) ops.push(update.op);
    if (update.restartPending) restartPending.push(spec.service);
    if (slot.hasDownMarker === spec.autostart) {
      ops.push(
        spec.autostart
          ? { kind: 'up', service: spec.service, profile: spec.profile, reason: 'intent is running; down marker present' }
          : { kind: 'down', service: spec.service, profile: spec.profile, reason: 'intent is not running; down marker missing' },
      );
    }
  }
  if (options.prune && desired.pruneBlocked === undefined) {
    for (const service of desired.gone) {
      const slot = observed.scandir.slots.get(service);
      if (slot === undefined || !slot.owned || slot.entry !== 'dir' || desired.services.has(service)) continue;
      ops.push({ kind: 'remove', service, profile: slot.profile, reason: 'profile deleted' });
    }
  }
  ops.sort(compareOps);
  restartPending.sort();
  return { operations: ops, restartPending };
}

/** Stable order: by service name, then create < update < up < down < remove. */
export function compareOps(a: Operation, b: Operation): number {
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
}

interface UpdatePlan {
  readonly op?: Operation;
  readonly restartPending: boolean;
}

function planUpdate(slot: ObservedSlot, spec: ServiceSpec, options: DiffOptions, persistedRestart: boolean): UpdatePlan {
  const dirs = [...planDir('', slot.dir, options), ...planDir('log', slot.logDir, options)];
  const changes: FileChange[] = [];
  for (const file of spec.files) {
    const change = planFile(slot.files.get(file.path) ?? { kind: 'missing' }, file, options);
    if (change !== undefined) changes.push(change);
  }
  const runtimeChanged = changes.some((c) => c.fix === 'write' && c.keepMtimeMs === undefined && RUNTIME_FILES.has(c.path));
  const live = slot.live;
  const staleProcess = live !== undefined && live.up && runtimeFilesNewerThan(slot, live.updownSinceUnix);
  const runningOld = live !== undefined && live.up && (runtimeChanged || staleProcess);
  const restart = (options.restartChanged && runningOld) || (persistedRestart && live !== undefined && live.up);
  if (dirs.length === 0 && changes.length === 0 && !restart) {
    return { restartPending: runningOld };
  }
  const adopt = !slot.owned;
  const reason = adopt
    ? 'adopt unowned slot'
    : changes.length + dirs.length > 0
      ? `${[...dirs.map((d) => `${d.path || '.'} ${d.fix}`), ...changes.map((c) => `${c.path} ${c.fix}`)].join(', ')}`
      : persistedRestart
        ? 'restart pending from an interrupted pass'
        : 'run-time files changed since the service started';
  return {
    op: { kind: 'update', service: spec.service, profile: spec.profile, reason, dirs, changes, restart },
    restartPending: runningOld && !restart,
  };
}

function runtimeFilesNewerThan(slot: ObservedSlot, sinceUnix: number): boolean {
  for (const path of RUNTIME_FILES) {
    const f = slot.files.get(path);
    if (f !== undefined && f.kind === 'file' && f.mtimeMs / 1000 > sinceUnix) return true;
  }
  return false;
}

function planDir(path: '' | 'log', dir: DirRead, options: DiffOptions): DirChange[] {
  if (dir.kind === 'missing') return [{ path, fix: 'mkdir', mode: DIR_MODE }];
  if (dir.kind === 'refused') return path === '' ? [] : [{ path, fix: 'mkdir', mode: DIR_MODE }];
  const out: DirChange[] = [];
  if (options.expectedUid !== null && dir.uid !== options.expectedUid) out.push({ path, fix: 'chown', mode: DIR_MODE });
  if ((dir.mode & 0o7777) !== DIR_MODE) out.push({ path, fix: 'chmod', mode: DIR_MODE });
  return out;
}

function planFile(read: FileRead, spec: ServiceSpec['files'][number], options: DiffOptions): FileChange | undefined {
  if (read.kind !== 'file') return { path: spec.path, fix: 'write', spec };
  if (!sameUtf8(read.bytes, spec.content)) {
    const before = decodeText(read.bytes);
    return { path: spec.path, fix: 'write', spec, ...(before === undefined ? {} : { before }) };
  }
  // A file someone else owns is rewritten rather than chowned: the rewrite cannot be a hard link.
  if (options.expectedUid !== null && read.uid !== options.expectedUid) return { path: spec.path, fix: 'write', spec, keepMtimeMs: read.mtimeMs };
  if ((read.mode & 0o7777) !== spec.mode) return { path: spec.path, fix: 'chmod', spec };
  return undefined;
}

function decodeText(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
