/**
 * Synchronous tree checks for the hardening tests: fast enough to run after every one of many
 * kills, and safe on hostile trees (lstat only; regular files are opened O_NOFOLLOW|O_NONBLOCK).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Files every published slot must have before s6-svscan may see it. */
const SLOT_FILES = ['type', 'run', 'finish', 'log/run'] as const;

function isMissing(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}

/**
 * Adds to `problems` what is wrong with the non-dot entries of a scandir: each directory must hold
 * regular files `type`, `run`, `finish` and `log/run`. An entry that vanishes while looked at (a
 * remove moves it out with one rename) is not a problem. Returns how many slot directories it saw.
 */
export function slotProblems(scandir: string, problems: Set<string>): number {
  let slots = 0;
  for (const name of fs.readdirSync(scandir)) {
    if (name.startsWith('.')) continue;
    const dir = path.join(scandir, name);
    let ino: number;
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory()) continue;
      ino = st.ino;
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    slots += 1;
    const missing = SLOT_FILES.filter((f) => !isRegular(path.join(dir, f)));
    if (missing.length === 0) continue;
    if (stillSameDir(dir, ino)) problems.add(`${name} lacks ${missing.join(', ')}`);
  }
  return slots;
}

function isRegular(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

function stillSameDir(dir: string, ino: number): boolean {
  try {
    return fs.lstatSync(dir).ino === ino;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** Path → `type mode uid:gid content-hash|link-target`, without mtimes or inode numbers. */
export type Snapshot = Map<string, string>;

/** Snapshot of everything under `root` except paths `ignore` accepts (their subtrees too). */
export function snapshot(root: string, ignore: (rel: string) => boolean = () => false): Snapshot {
  const out: Snapshot = new Map();
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      if (ignore(relPath)) continue;
      const file = path.join(root, relPath);
      const st = fs.lstatSync(file);
      const head = `${kind(st)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.set(relPath, `${head} -> ${fs.readlinkSync(file)}`);
      else if (st.isFile()) out.set(relPath, `${head} ${hashNoFollow(file)}`);
      else out.set(relPath, head);
      if (st.isDirectory()) walk(relPath);
    }
  };
  walk('');
  return out;
}

function kind(st: fs.Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

function hashNoFollow(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    return createHash('sha256').update(fs.readFileSync(fd)).digest('hex').slice(0, 16);
  } finally {
    fs.closeSync(fd);
  }
}

/** Differences between two snapshots, one line per path, sorted; empty when equal. */
export function diffSnapshot(before: Snapshot, after: Snapshot): string[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const lines: string[] = [];
  for (const p of paths) {
    const a = before.get(p);
    const b = after.get(p);
    if (a === b) continue;
    if (a === undefined) lines.push(`added ${p}: ${String(b)}`);
    else if (b === undefined) lines.push(`removed ${p}: ${a}`);
    else lines.push(`changed ${p}: ${a} => ${b}`);
  }
  return lines;
}

/** sha256 of a regular file the test itself created (a victim outside the trees). */
export function fileHash(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
