/**
 * The watcher's event source: inotify (fs.watch) on HERMES_HOME, `profiles/`, `profiles/.deleted/`,
 * every profile directory, and the scandir, non-recursive. Every directory is opened without
 * following a symlink and watched through `/proc/self/fd/N`, so the watch is on the inode we
 * opened, never on wherever a swapped-in symlink points: nothing outside HERMES_HOME is watched.
 * Profile directories are enumerated with fast-glob rooted at that descriptor with
 * `followSymbolicLinks: false`. Events become hints (see hints.ts); the set of watches is
 * refreshed before every pass, so a directory created later is watched before it is read.
 */
import fs from 'node:fs';
import fg from 'fast-glob';
import { type Dir, FsError, closeDir, describeErrno, openDirIfExists, openRoot, pathForChild } from '../safe-fs.js';
import { type Hint, type TargetRef, TOMBSTONES_DIR, classifyEvent } from './hints.js';

/** Where to watch and what to call with hints. */
export interface EventSourceOptions {
  readonly hermesHome: string;
  readonly scandir: string;
  readonly onHint: (hint: Hint) => void;
  /** The current service prefix (settings may be reloaded between passes). */
  readonly servicePrefix: () => string;
  readonly warn: (message: string) => void;
}

interface Watch {
  /** `dev:ino` of the watched directory: a re-created directory is watched again. */
  readonly identity: string;
  readonly watcher: fs.FSWatcher;
}

/** A set of inotify watches kept in line with the directories that exist now. */
export class EventSource {
  readonly #o: EventSourceOptions;
  readonly #watches = new Map<string, Watch>();
  readonly #warned = new Set<string>();
  #wanted = new Set<string>();

  constructor(options: EventSourceOptions) {
    this.#o = options;
  }

  /** Number of directories watched now. */
  get size(): number {
    return this.#watches.size;
  }

  /** Watches every target that exists now and drops watches of targets that are gone or replaced. */
  async refresh(): Promise<void> {
    this.#wanted = new Set();
    const scandir = this.#open('scandir', () => openRoot(this.#o.scandir));
    if (scandir !== undefined) this.#visit({ kind: 'scandir' }, scandir, true);
    const home = this.#open('HERMES_HOME', () => openRoot(this.#o.hermesHome));
    if (home !== undefined) {
      try {
        this.#visit({ kind: 'home' }, home);
        const profiles = this.#open('profiles/', () => openDirIfExists(home, 'profiles'));
        if (profiles !== undefined) await this.#visitProfiles(profiles);
      } finally {
        closeDir(home);
      }
    }
    for (const [key, w] of this.#watches) if (!this.#wanted.has(key)) this.#drop(key, w);
  }

  /** Stops every watch. */
  close(): void {
    for (const [key, w] of this.#watches) this.#drop(key, w);
  }

  async #visitProfiles(profiles: Dir): Promise<void> {
    try {
      this.#visit({ kind: 'profiles' }, profiles);
      const tombstones = this.#open('profiles/.deleted', () => openDirIfExists(profiles, TOMBSTONES_DIR));
      if (tombstones !== undefined) this.#visit({ kind: 'tombstones' }, tombstones, true);
      const names = await fg('*', {
        cwd: pathForChild(profiles),
        onlyDirectories: true,
        followSymbolicLinks: false,
        deep: 1,
        dot: false,
        suppressErrors: true,
      });
      for (const name of names) {
        const dir = this.#open(`profiles/${name}`, () => openDirIfExists(profiles, name));
        if (dir !== undefined) this.#visit({ kind: 'profile', profile: name }, dir, true);
      }
    } finally {
      closeDir(profiles);
    }
  }

  /** Opens a directory without following a symlink; a failure is warned once and skipped. */
  #open(what: string, open: () => Dir | undefined): Dir | undefined {
    try {
      return open();
    } catch (err) {
      // A root that does not exist yet (the first pass creates the scandir) is simply not watched.
      if (!(err instanceof FsError && err.code === 'ENOENT')) this.#warnOnce(`cannot watch ${what}: ${describeErrno(err)}`);
      return undefined;
    }
  }

  /** Makes sure `dir` is watched under its target key; closes `dir` when `close` is set. */
  #visit(ref: TargetRef, dir: Dir, close = false): void {
    const key = `${ref.kind}:${ref.profile ?? ''}`;
    this.#wanted.add(key);
    try {
      const st = fs.fstatSync(dir.fd);
      const identity = `${st.dev}:${st.ino}`;
      const current = this.#watches.get(key);
      if (current !== undefined && current.identity === identity) return;
      if (current !== undefined) this.#drop(key, current);
      const watcher = fs.watch(pathForChild(dir), { persistent: false }, (_event, name) => this.#event(ref, name));
      watcher.on('error', (err) => {
        this.#warnOnce(`watch on ${dir.path} failed: ${describeErrno(err)}`);
        this.#drop(key, { identity, watcher });
      });
      this.#watches.set(key, { identity, watcher });
    } catch (err) {
      this.#warnOnce(`cannot watch ${dir.path}: ${describeErrno(err)} (the interval pass still runs)`);
    } finally {
      if (close) closeDir(dir);
    }
  }

  #event(ref: TargetRef, name: string | Buffer | null): void {
    const text = name === null ? null : typeof name === 'string' ? name : name.toString('utf8');
    const hint = classifyEvent(ref, text, this.#o.servicePrefix());
    if (hint !== undefined) this.#o.onHint(hint);
  }

  #drop(key: string, w: Watch): void {
    if (this.#watches.get(key) === w) this.#watches.delete(key);
    w.watcher.close();
  }

  #warnOnce(message: string): void {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.#o.warn(message);
  }
}
