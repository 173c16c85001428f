/**
 * Real-directory test support: temp dirs, fixture trees (files, symlinks, FIFOs),
 * HERMES_HOME builders, and lstat-based snapshots that never follow a link or open a FIFO.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const MAX_CONTENT_BYTES = 1024 * 1024;

/** The kind of a snapshotted entry, from lstat. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'other';

/** One lstat'ed entry of a {@link TreeSnapshot}. */
export interface TreeEntry {
  readonly type: EntryType;
  /** Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  /** Base64 of the bytes, for regular files of at most 1 MiB only. */
  readonly content?: string;
  /** The link text (readlink), for symlinks only. */
  readonly target?: string;
}

/** A field of {@link TreeEntry} that {@link diffSnapshots} can compare. */
export type EntryField = keyof TreeEntry;

/** A whole tree keyed by `/`-separated path relative to its root; the root itself is not included. */
export type TreeSnapshot = Map<string, TreeEntry>;

/** Options for {@link diffSnapshots}. */
export interface DiffOptions {
  /** Ignore `mtimeMs`, `ino`, and the size of directories (which some filesystems never shrink). */
  readonly ignoreVolatile?: boolean;
  /** Further fields to ignore. */
  readonly ignoreFields?: readonly EntryField[];
  /** Paths to leave out entirely, e.g. `(p) => /(^|\/)(supervise|event)(\/|$)/.test(p)`. */
  readonly ignorePath?: (relPath: string) => boolean;
}

/** One entry of a {@link writeFileTree} spec: file text, file with mode, symlink, directory, or FIFO. */
export type TreeSpecEntry =
  | string
  | { readonly content: string; readonly mode?: number }
  | { readonly symlink: string }
  | { readonly dir: true; readonly mode?: number }
  | { readonly fifo: true };

/** A profile of {@link makeHermesHome}: its gateway_state.json (object or raw text) and whether SOUL.md exists. */
export interface ProfileSpec {
  readonly state?: object | string;
  /** Default true. */
  readonly soul?: boolean;
}

/** Creates a fresh directory `os.tmpdir()/<prefix>XXXXXX` and returns its path. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Deletes `target` recursively; a missing path is fine. */
export async function removeTree(target: string): Promise<void> {
  await rm(target, { recursive: true, force: true });
}

function isEnoent(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

function entryType(st: Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

/** Reads a regular file's bytes as base64 without following a link or blocking on a FIFO swapped in since lstat. */
async function readRegularFile(file: string): Promise<string | undefined> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_CONTENT_BYTES) return undefined;
    return (await handle.readFile()).toString('base64');
  } finally {
    await handle.close();
  }
}

async function snapshotEntry(file: string): Promise<TreeEntry | undefined> {
  try {
    const st = await lstat(file);
    const type = entryType(st);
    const base = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    if (type === 'symlink') return { ...base, target: await readlink(file) };
    if (type !== 'file' || st.size > MAX_CONTENT_BYTES) return base;
    const content = await readRegularFile(file);
    return content === undefined ? base : { ...base, content };
  } catch (error) {
    // Live trees (s6 writes supervise/status.new and renames it) lose entries mid-walk.
    if (isEnoent(error)) return undefined;
    throw error;
  }
}

async function walk(root: string, rel: string, out: TreeSnapshot): Promise<void> {
  let names: string[];
  try {
    names = await readdir(path.join(root, rel));
  } catch (error) {
    if (rel !== '' && isEnoent(error)) return;
    throw error;
  }
  for (const name of names.sort()) {
    const relPath = rel === '' ? name : `${rel}/${name}`;
    const entry = await snapshotEntry(path.join(root, relPath));
    if (entry === undefined) continue;
    out.set(relPath, entry);
    if (entry.type === 'dir') await walk(root, relPath, out);
  }
}

/**
 * Snapshot of every entry under `root`, keyed by relative path in sorted order.
 * Walks with lstat only: symlinks are recorded (with their target), never followed;
 * FIFOs and other special files are recorded, never opened.
 */
export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = new Map();
  await walk(root, '', out);
  return out;
}

function ignoredFields(opts: DiffOptions, entry: TreeEntry): Set<EntryField> {
  const ignored = new Set<EntryField>(opts.ignoreFields ?? []);
  if (opts.ignoreVolatile === true) {
    ignored.add('mtimeMs');
    ignored.add('ino');
    if (entry.type === 'dir') ignored.add('size');
  }
  return ignored;
}

function describeField(field: EntryField, a: TreeEntry, b: TreeEntry): string {
  switch (field) {
    case 'mode':
      return `mode ${a.mode.toString(8).padStart(4, '0')} -> ${b.mode.toString(8).padStart(4, '0')}`;
    case 'content': {
      const bytes = (e: TreeEntry): string => (e.content === undefined ? 'unread' : `${Buffer.from(e.content, 'base64').length} bytes`);
      return `content (${bytes(a)} -> ${bytes(b)})`;
    }
    case 'target':
      return `target ${JSON.stringify(a.target)} -> ${JSON.stringify(b.target)}`;
    default:
      return `${field} ${String(a[field])} -> ${String(b[field])}`;
  }
}

const FIELDS: readonly EntryField[] = ['type', 'mode', 'uid', 'gid', 'size', 'content', 'target', 'mtimeMs', 'ino'];

function diffEntry(relPath: string, a: TreeEntry, b: TreeEntry, opts: DiffOptions): string | undefined {
  const ignored = ignoredFields(opts, b);
  const changed = FIELDS.filter((f) => !ignored.has(f) && a[f] !== b[f]);
  if (changed.length === 0) return undefined;
  return `changed ${relPath}: ${changed.map((f) => describeField(f, a, b)).join(', ')}`;
}

/**
 * Human-readable differences from snapshot `a` to `b`, one line per path
 * (`added P (type)`, `removed P (type)`, `changed P: field old -> new, ...`), sorted; empty when equal.
 */
export function diffSnapshots(a: TreeSnapshot, b: TreeSnapshot, opts: DiffOptions = {}): string[] {
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const lines: string[] = [];
  for (const relPath of paths) {
    if (opts.ignorePath?.(relPath) === true) continue;
    const before = a.get(relPath);
    const after = b.get(relPath);
    if (before === undefined && after !== undefined) lines.push(`added ${relPath} (${after.type})`);
    else if (before !== undefined && after === undefined) lines.push(`removed ${relPath} (${before.type})`);
    else if (before !== undefined && after !== undefined) {
      const line = diffEntry(relPath, before, after, opts);
      if (line !== undefined) lines.push(line);
    }
  }
  return lines;
}

async function writeSpecEntry(file: string, entry: TreeSpecEntry): Promise<void> {
  if (typeof entry === 'string') {
    await writeFile(file, entry);
  } else if ('content' in entry) {
    await writeFile(file, entry.content);
    if (entry.mode !== undefined) await chmod(file, entry.mode);
  } else if ('symlink' in entry) {
    await symlink(entry.symlink, file);
  } else if ('dir' in entry) {
    await mkdir(file, { recursive: true });
    if (entry.mode !== undefined) await chmod(file, entry.mode);
  } else {
    await execFileAsync('mkfifo', [file]);
  }
}

/**
 * Builds a fixture tree under `root` (created if missing) from `spec`, keyed by `/`-separated relative path.
 * Parent directories are created as needed; modes are set with chmod, so the umask does not apply.
 */
export async function writeFileTree(root: string, spec: Readonly<Record<string, TreeSpecEntry>>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const relPath of Object.keys(spec).sort()) {
    const entry = spec[relPath];
    if (entry === undefined) continue;
    const file = path.join(root, relPath);
    await mkdir(path.dirname(file), { recursive: true });
    await writeSpecEntry(file, entry);
  }
}

function stateText(state: object | string): string {
  return typeof state === 'string' ? state : JSON.stringify(state);
}

/**
 * Builds a HERMES_HOME at `root`: `profiles/` (always), and per profile `profiles/<name>/`
 * with `SOUL.md` ("soul\n", unless `soul: false`) and `gateway_state.json` when `state` is given;
 * plus the root `gateway_state.json` when `rootState` is given. Returns `root`.
 */
export async function makeHermesHome(
  root: string,
  profiles: Readonly<Record<string, ProfileSpec>>,
  rootState?: object | string,
): Promise<string> {
  const spec: Record<string, TreeSpecEntry> = { profiles: { dir: true } };
  if (rootState !== undefined) spec['gateway_state.json'] = stateText(rootState);
  for (const [name, profile] of Object.entries(profiles)) {
    spec[`profiles/${name}`] = { dir: true };
    if (profile.soul !== false) spec[`profiles/${name}/SOUL.md`] = 'soul\n';
    if (profile.state !== undefined) spec[`profiles/${name}/gateway_state.json`] = stateText(profile.state);
  }
  await writeFileTree(root, spec);
  return root;
}
