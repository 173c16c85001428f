/**
 * create: every new slot is built whole inside a staging directory private to this run
 * (`<scandir>/.reconcile-gateways/staging.<pid>/`, inside the root-owned 0700 state directory,
 * src/state-dir/): directories first, then its FIFOs by one batched mkfifo running while the files
 * are written, then published with one rename(2) each.
 * A slot is published complete or not at all (issue 16 #8): every write into the staging tree
 * either completes or throws, a slot with any failed write (or FIFO) is dropped, and nobody else
 * can change the private staging tree in between. s6-svscan never sees a half-built slot, no
 * other run shares the staging directory, and the short staging names always fit in 255 bytes.
 */
import fs from 'node:fs';
import type { CreateOp, OperationResult, ServiceSpec, Settings } from '../model.js';
import {
  type Dir,
  type Owner,
  FsError,
  closeDir,
  describeErrno,
  describeType,
  isProcessAlive,
  lchownAt,
  listDir,
  lstatAt,
  mkdirAt,
  openDirAt,
  pathAt,
  probeGrants,
  removeTreeAt,
  renameAt,
  selfPath,
  touchAt,
  writeFileAt,
} from '../safe-fs/index.js';
import { STAGING_PREFIX, openStateDir } from '../state-dir/index.js';
import { makeFifos } from './fifo.js';

/** Name of this run's staging directory inside the state directory. */
function stagingName(pid: number): string {
  return `${STAGING_PREFIX}${pid}`;
}

/** How the supervise skeleton is owned; `owner` is undefined when not running as root (no chown possible). */
export interface SkeletonOwnership {
  readonly owner?: Owner;
  /** Mode of `supervise/`: 0755 in upstream's user-owned skeleton, 0710 in the root-owned one. */
  readonly superviseMode: number;
  /** Mode of `supervise/control`: 0660 user-owned, 0620 (group may write, not read) root-owned. */
  readonly controlMode: number;
  /** Whether to seed upstream's `supervise/event/` too (s6 2.11 never uses it). */
  readonly superviseEvent: boolean;
}

/**
 * Skeleton ownership for the configured model (issue 4: `superviseOwner`).
 * - `root`: exactly what `s6-svperms -g gid -G gid -E gid` grants: `supervise/` root:gid 0710
 *   (the group can reach `status` and `lock`, but not create anything in it), `control` root:gid
 *   0620 (the group can send commands, but not read them away from s6-supervise nor fake a
 *   listener), `event/` root:gid 03730 (the group can subscribe to events).
 * - `user`: upstream's skeleton owned by uid:gid. That user can plant symlinks in `supervise/`
 *   which root's s6-supervise then truncates or overwrites (`death_tally`, `status.new`).
 */
export function skeletonOwnership(settings: Pick<Settings, 'uid' | 'gid' | 'superviseOwner'>, isRoot: boolean): SkeletonOwnership {
  if (settings.superviseOwner === 'root') {
    return { superviseMode: 0o710, controlMode: 0o620, superviseEvent: false, ...(isRoot ? { owner: { uid: 0, gid: settings.gid } } : {}) };
  }
  return {
    superviseMode: 0o755,
    controlMode: 0o660,
    superviseEvent: true,
    ...(isRoot ? { owner: { uid: settings.uid, gid: settings.gid } } : {}),
  };
}

/**
 * Removes staging leftovers of killed runs: this process's own and those of processes that no
 * longer exist. A live process's staging directory is its own business, even if the lock failed.
 */
export function clearStaging(scandir: Dir): void {
  const state = openStateDir(scandir, false);
  if (state === undefined) return;
  try {
    for (const entry of listDir(state)) {
      if (!entry.name.startsWith(STAGING_PREFIX)) continue;
      const pid = Number(entry.name.slice(STAGING_PREFIX.length));
      if (!Number.isInteger(pid) || pid === process.pid || !isProcessAlive(pid)) removeTreeAt(state, entry.name);
    }
  } finally {
    closeDir(state);
  }
}

interface Staged {
  readonly op: CreateOp;
  readonly name: string;
  error?: string;
}

/** How the FIFOs of new slots are made: makeFifos, unless a test injects a failure. */
export type FifoMaker = typeof makeFifos;

/** Test seams of applyCreates. */
export interface CreateHooks {
  /** Fault injection: called just before each slot's publishing rename; whatever it throws fails that create alone. */
  readonly beforePublish?: ((op: CreateOp) => void) | undefined;
  /** How the FIFOs are made (default makeFifos). */
  readonly fifoMaker?: FifoMaker;
}

/** Applies every create of a plan; one slot's failure never stops the others. */
export async function applyCreates(
  scandir: Dir,
  ops: readonly CreateOp[],
  skeleton: SkeletonOwnership,
  { beforePublish, fifoMaker = makeFifos }: CreateHooks = {},
): Promise<OperationResult[]> {
  if (ops.length === 0) return [];
  let opened: StagingDirs;
  try {
    opened = openStaging(scandir);
  } catch (err) {
    return ops.map((op) => ({ op, status: 'failed', error: describeErrno(err) }));
  }
  const { staging } = opened;
  // Nobody else can change our private staging tree: below its descriptor, entries are reached by
  // path (/proc/self/fd/N/s0/log/run) instead of opening and closing every directory on the way.
  // Entries made in it keep their creation mode when the probe shows nothing masks it (no chmod each).
  const base: Dir = probeGrants({ fd: -1, path: staging.path, rel: selfPath(staging) });
  try {
    const staged: Staged[] = ops.map((op, i) => ({ op, name: `s${i}` }));
    const fifos: string[] = [];
    eachStaged(staged, (s) => {
      seedSlot(base, s.name, skeleton);
      fifos.push(`${s.name}/supervise/control`, `${s.name}/log/supervise/control`);
    });
    // As root with a root-owned skeleton, mkfifo runs with the skeleton's group (when it may): its
    // FIFOs then have their final owner and mode (-m) as made, and a clean exit means every one was
    // made. It runs on another CPU while this process writes the slots' files.
    const owner = skeleton.owner;
    const gid = owner !== undefined && owner.uid === 0 ? owner.gid : undefined;
    const making = fifoMaker(staging, fifos, skeleton.controlMode, gid);
    eachStaged(staged, (s) => writeSlotFiles(base, s.name, s.op.spec));
    const made = await making;
    const fifosDone = made.errors === '' && (owner === undefined || made.withGroup);
    return staged.map((s) => publish(scandir, base, s, { skeleton, mkfifoErrors: made.errors, fifosDone, beforePublish }));
  } finally {
    closeStaging(opened);
  }
}

/** The state directory and this run's staging directory in it, open. */
interface StagingDirs {
  readonly state: Dir;
  readonly staging: Dir;
}

/** Opens the state directory (making it when missing) and makes this run's staging directory in it. */
function openStaging(scandir: Dir): StagingDirs {
  let state: Dir | undefined;
  try {
    state = openStateDir(scandir, true);
    if (state === undefined) throw new Error('no state directory');
    return { state, staging: mkdirAt(state, stagingName(process.pid), 0o700) };
  } catch (err) {
    closeDir(state);
    throw err;
  }
}

/** Deletes this run's staging directory, then closes it and the state directory. */
function closeStaging({ state, staging }: StagingDirs): void {
  try {
    removeTreeAt(state, stagingName(process.pid));
  } catch {
    // Whatever is left is removed by the next run; every result above is already accurate.
  }
  closeDir(staging);
  closeDir(state);
}

/** Runs one build step on each staged slot not failed yet; a step that throws fails its slot alone. */
function eachStaged(staged: readonly Staged[], build: (s: Staged) => void): void {
  for (const s of staged) {
    if (s.error !== undefined) continue;
    try {
      build(s);
    } catch (err) {
      s.error = describeErrno(err);
    }
  }
}

interface PublishContext {
  readonly skeleton: SkeletonOwnership;
  readonly mkfifoErrors: string;
  /** Every FIFO was made with its final mode and owner: nothing to check or fix per FIFO. */
  readonly fifosDone: boolean;
  readonly beforePublish: ((op: CreateOp) => void) | undefined;
}

function publish(
  scandir: Dir,
  staging: Dir,
  s: Staged,
  { skeleton, mkfifoErrors, fifosDone, beforePublish }: PublishContext,
): OperationResult {
  const fail = (error: string): OperationResult => {
    try {
      removeTreeAt(staging, s.name);
    } catch {
      // Cleared with the whole staging directory.
    }
    return { op: s.op, status: 'failed', error };
  };
  if (s.error !== undefined) return fail(s.error);
  try {
    if (!fifosDone) {
      fixFifo(staging, [s.name, 'supervise'], skeleton, mkfifoErrors);
      fixFifo(staging, [s.name, 'log', 'supervise'], skeleton, mkfifoErrors);
    }
    const existing = lstatAt(scandir, s.op.service);
    if (existing !== undefined) throw new FsError('publish', `${scandir.path}/${s.op.service}`, new Error(inTheWay(existing)));
    beforePublish?.(s.op);
    renameAt(staging, s.name, scandir, s.op.service);
    return { op: s.op, status: 'applied' };
  } catch (err) {
    return fail(err instanceof FsError ? describeErrno(err) : `unexpected error: ${describeErrno(err)}`);
  }
}

/** Why a create cannot publish over what is at the slot path now. */
function inTheWay(existing: fs.Stats): string {
  // Diff plans a create over a directory never: one there now appeared after this pass looked,
  // typically the Hermes CLI registering the slot itself (upstream §2.8). Theirs wins.
  if (existing.isDirectory())
    return 'EEXIST: the slot appeared while this pass ran (registered concurrently); left as it is for the next pass to adopt';
  return `EEXIST: ${describeType(existing)} is in the way; refusing to replace it: move or delete it and the next run creates the slot`;
}

function fixFifo(staging: Dir, path: readonly string[], skeleton: SkeletonOwnership, mkfifoErrors: string): void {
  const dirs: Dir[] = [];
  try {
    let dir = staging;
    for (const part of path) {
      dir = openDirAt(dir, part);
      dirs.push(dir);
    }
    const st = lstatAt(dir, 'control');
    if (st === undefined || !st.isFIFO()) {
      throw new FsError('mkfifo', `${dir.path}/control`, new Error(mkfifoErrors.trim() || 'FIFO was not created'));
    }
    // chmod follows links, but this is our private 0700 staging directory: nobody else can plant one.
    if ((st.mode & 0o7777) !== skeleton.controlMode) fs.chmodSync(pathAt(dir, 'control'), skeleton.controlMode);
    if (skeleton.owner !== undefined) lchownAt(dir, 'control', skeleton.owner);
  } finally {
    for (const d of dirs.reverse()) closeDir(d);
  }
}

/** Makes one slot's directories under `staging/<name>`: the slot, `log/`, and both supervise skeletons. */
function seedSlot(staging: Dir, name: string, skeleton: SkeletonOwnership): void {
  const slot = mkdirAt(staging, name, 0o755);
  let log: Dir | undefined;
  try {
    log = mkdirAt(slot, 'log', 0o755);
    seedSkeleton(slot, skeleton);
    seedSkeleton(log, skeleton);
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}

/** Writes one seeded slot's files (and its down marker) under `staging/<name>`. */
function writeSlotFiles(staging: Dir, name: string, spec: ServiceSpec): void {
  const slot = openDirAt(staging, name);
  let log: Dir | undefined;
  try {
    for (const file of spec.files) {
      if (file.path.startsWith('log/')) continue;
      writeFileAt(slot, file.path, file.content, { mode: file.mode, fsync: false, fresh: true });
    }
    if (!spec.autostart) touchAt(slot, 'down', 0o644);
    log = openDirAt(slot, 'log');
    for (const file of spec.files) {
      if (file.path.startsWith('log/')) writeFileAt(log, file.path.slice(4), file.content, { mode: file.mode, fsync: false, fresh: true });
    }
  } finally {
    closeDir(log);
    closeDir(slot);
  }
}

/**
 * The supervise skeleton upstream pre-seeds (§2.6) so the hermes user can control the service:
 * s6-supervise keeps existing entries. FIFOs come later from the batched mkfifo.
 */
function seedSkeleton(dir: Dir, skeleton: SkeletonOwnership): void {
  const owner = skeleton.owner;
  closeDir(mkdirAt(dir, 'event', 0o3730, owner));
  const supervise = mkdirAt(dir, 'supervise', skeleton.superviseMode, owner);
  try {
    if (skeleton.superviseEvent) closeDir(mkdirAt(supervise, 'event', 0o3730, owner));
  } finally {
    closeDir(supervise);
  }
}
