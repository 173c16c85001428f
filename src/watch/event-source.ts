/**
 * The watcher's event source: inotify (fs.watch) on HERMES_HOME, `profiles/`, `profiles/.deleted/`,
 * every profile directory (one holding SOUL.md) plus at most 64 other directories under
 * `profiles/`, and the scandir, non-recursive: at most profiles + 68 watches, whatever else hermes
 * creates under `profiles/`. Every directory is opened without
 * following a symlink and watched through `/proc/self/fd/N`, so the watch is on the inode we
 * opened, never on wherever a swapped-in symlink points: nothing outside HERMES_HOME is watched.
 * Profile directories are enumerated with fast-glob rooted at that descriptor with
 * `followSymbolicLinks: false`. Events become hints (see hints.ts); the set of watches is
 * refreshed before every pass, so a directory created later is watched before it is read (the
 * subdirectories of `profiles/` are enumerated again only when it changed, or every tenth time).
 */
import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import {
  type Dir,
  FsError,
  closeDir,
  describeErrno,
  errnoCode,
  lstatAt,
  openDirIfExists,
  openRoot,
  pathForChild,
  stampOf,
} from '../safe-fs/index.js';
import { ROOT_PROFILE } from '../model/constants.js';
import { type Hint, type TargetRef, TOMBSTONES_DIR, classifyEvent } from './hints.js';

/** The file that makes a directory under `profiles/` a profile, and so worth a watch. */
const PROFILE_MARKER = 'SOUL.md';

/** Directories under `profiles/` without SOUL.md (yet) that are watched too, at most. */
export const CANDIDATE_WATCHES = 64;

/** Refreshes of an unchanged `profiles/` after which its subdirectories are enumerated anyway. */
export const REENUMERATE_EVERY = 10;

/** Where to watch and what to call with hints. */
export interface EventSourceOptions {
  readonly hermesHome: string;
  readonly scandir: string;
  readonly onHint: (hint: Hint) => void;
  /** The current service prefix (settings may be reloaded between passes). */
  readonly servicePrefix: () => string;
  readonly warn: (message: string) => void;
  /**
   * The watcher's own output files (its status file and lock, a metrics file): their events are no
   * hints, or one kept where a profile could be (under `profiles/`) would start a pass after every
   * pass that rewrites it.
   */
  readonly ownFiles?: readonly string[];
  /** How many watched directories may stay open (default: keptDirBudget of this process). */
  readonly keptDirs?: number;
  /** Milliseconds to nap after an event, so one wake-up reads many (default WAKE_NAP_MS; 0: none). */
  readonly napMs?: number;
}

interface Watch {
  /** `dev:ino` of the watched directory: a re-created directory is watched again. */
  readonly identity: string;
  readonly watcher: fs.FSWatcher;
  /** The watched directory kept open (HERMES_HOME and profile directories, within the budget); unset once closed. */
  dir?: Dir | undefined;
}

/**
 * How many watched directories stay open, so that the check after a state-file event reads the
 * file in the very directory inode the event came from instead of opening the directory again
 * (a path lookup through /proc/self/fd costs ~8 µs; under a heartbeat load of one write per
 * gateway per second this was a fifth of the watcher's CPU). Half the descriptor limit at most,
 * so that a volume with more profiles than that never starves the process: beyond it the check
 * opens the directory as before.
 */
export function keptDirBudget(limitsText: string | undefined): number {
  const soft = /^Max open files\s+(\d+)/m.exec(limitsText ?? '')?.[1];
  const limit = soft === undefined ? 1024 : Number(soft);
  return Math.max(0, Math.floor(limit / 2) - 64);
}

function readLimits(): string | undefined {
  try {
    return fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * How long the watcher naps after an event (see EventSource). Under the heartbeat load (every
 * gateway rewriting its state file once a second, four inotify events per tmp-and-rename) the
 * watcher woke up for nearly every write, and the wake-ups (epoll returning, a context switch)
 * cost more than reading the events: a quarter of its CPU in perf. Napping after an event lets
 * the kernel queue the next writes' events, and one wake-up reads them all: 4.4 % of a core fell
 * to 2.8 %, and about 30 000 context switches per 20 s to about 550. Events wait in the kernel's
 * queue meanwhile: a nap adds at most 50 ms of them (~200 at 1000 heartbeating gateways, against
 * fs.inotify.max_queued_events, 16384 by default). libuv drops the kernel's overflow notice, so
 * events lost to an overflowing queue (a loop blocked far longer, by a long pass) are caught only
 * by the next interval pass. A change is seen at most this much later.
 */
export const WAKE_NAP_MS = 50;
const NAP_CELL = new Int32Array(new SharedArrayBuffer(4));

/** A set of inotify watches kept in line with the directories that exist now. */
export class EventSource {
  readonly #o: EventSourceOptions;
  readonly #watches = new Map<string, Watch>();
  /**
   * The warnings said about each target (by its watch key) that still fails: a target that is
   * watched again, or gone, drops out at the next refresh, so the map holds only what fails now
   * (the watcher runs for months under profile churn) and a problem that comes back is said again.
   */
  #warned = new Map<string, Set<string>>();
  /** The warnings of the refresh under way (see #warned), which it replaces at its end. */
  #failing: Map<string, Set<string>> | undefined;
  /** The watcher's own files: names by the identity (device:inode) of their directory. */
  readonly #own: ReadonlyMap<string, ReadonlySet<string>>;
  readonly #budget: number;
  #kept = 0;
  #wanted = new Set<string>();
  /** `profiles/` stamp (stampOf) at its last enumeration, and the profile watches it gave. */
  #profilesSeen: { readonly key: string; readonly watched: readonly string[] } | undefined;
  #refreshesSince = 0;
  #napping = false;

  constructor(options: EventSourceOptions) {
    this.#o = options;
    this.#own = ownFilesByDir(options.ownFiles ?? []);
    this.#budget = options.keptDirs ?? keptDirBudget(readLimits());
  }

  /**
   * The directory of `profile` as watched now, open, or undefined (not watched, or over the
   * budget). Valid until the next refresh() or close(); do not close it.
   */
  watchedDir(profile: string): Dir | undefined {
    return this.#watches.get(profile === ROOT_PROFILE ? 'home:' : `profile:${profile}`)?.dir;
  }

  /** Number of directories watched now. */
  get size(): number {
    return this.#watches.size;
  }

  /** Watches every target that exists now and drops watches of targets that are gone or replaced. */
  async refresh(): Promise<void> {
    this.#wanted = new Set();
    const failing = new Map<string, Set<string>>();
    this.#failing = failing;
    try {
      const scandir = this.#open({ kind: 'scandir' }, 'scandir', () => openRoot(this.#o.scandir));
      if (scandir !== undefined) this.#visit({ kind: 'scandir' }, scandir, true);
      const home = this.#open({ kind: 'home' }, 'HERMES_HOME', () => openRoot(this.#o.hermesHome));
      if (home !== undefined) {
        try {
          this.#visit({ kind: 'home' }, home, false, true);
          const profiles = this.#open({ kind: 'profiles' }, 'profiles/', () => openDirIfExists(home, 'profiles'));
          if (profiles !== undefined) await this.#visitProfiles(profiles);
        } finally {
          if (this.#watches.get('home:')?.dir !== home) closeDir(home);
        }
      }
      for (const [key, w] of this.#watches) if (!this.#wanted.has(key)) this.#drop(key, w);
    } finally {
      this.#warned = failing;
      this.#failing = undefined;
    }
  }

  /** Stops every watch. */
  close(): void {
    for (const [key, w] of this.#watches) this.#drop(key, w);
    this.#warned.clear();
  }

  async #visitProfiles(profiles: Dir): Promise<void> {
    try {
      this.#visit({ kind: 'profiles' }, profiles);
      const tombstones = this.#open({ kind: 'tombstones' }, 'profiles/.deleted', () => openDirIfExists(profiles, TOMBSTONES_DIR));
      if (tombstones !== undefined) this.#visit({ kind: 'tombstones' }, tombstones, true);
      // Enumerating every directory under profiles/ costs ~0.1 s at 1000 profiles, and it ran
      // before every pass. A directory created, removed or renamed there changes profiles/'s own
      // mtime and ctime, so while those stand the watches stay as they are; every
      // REENUMERATE_EVERY-th refresh enumerates anyway (a SOUL.md written into one of the
      // unwatched directories beyond CANDIDATE_WATCHES changes nothing in profiles/ itself).
      const seenKey = stampOf(fs.fstatSync(profiles.fd));
      // While inotify's limits were reached, enumerate every time: profiles refused a watch then
      // are watched as soon as the limit frees, not up to REENUMERATE_EVERY refreshes later.
      const limited = this.#warned.has(INOTIFY_KEY);
      if (!limited && this.#profilesSeen?.key === seenKey && ++this.#refreshesSince < REENUMERATE_EVERY) {
        for (const key of this.#profilesSeen.watched) this.#wanted.add(key);
        // Not tried again this time: what failed at the last enumeration still fails, unsaid.
        for (const [key, said] of this.#warned) if (key.startsWith('profile:') || key === INOTIFY_KEY) this.#failing?.set(key, said);
        return;
      }
      const names = await fg('*', {
        cwd: pathForChild(profiles),
        onlyDirectories: true,
        followSymbolicLinks: false,
        deep: 1,
        dot: false,
        suppressErrors: true,
      });
      let candidates = 0;
      for (const name of names.sort()) {
        const dir = this.#open({ kind: 'profile', profile: name }, `profiles/${name}`, () => openDirIfExists(profiles, name));
        if (dir === undefined) continue;
        // Profiles get a watch; other directories only up to CANDIDATE_WATCHES, so a SOUL.md written
        // just after its directory is seen at once, while 50,000 empty directories made by hermes
        // never become 50,000 root inotify watches (issue 16 #4).
        const isProfile = holdsMarker(dir);
        if (isProfile || candidates++ < CANDIDATE_WATCHES) this.#visit({ kind: 'profile', profile: name }, dir, true, true);
        else closeDir(dir);
      }
      this.#profilesSeen = { key: seenKey, watched: [...this.#wanted].filter((k) => k.startsWith('profile:')) };
      this.#refreshesSince = 0;
    } finally {
      closeDir(profiles);
    }
  }

  /** Opens the directory of `ref` without following a symlink; a failure is warned (see #warn) and skipped. */
  #open(ref: TargetRef, what: string, open: () => Dir | undefined): Dir | undefined {
    try {
      return open();
    } catch (err) {
      // A root that does not exist yet (the first pass creates the scandir) is simply not watched.
      if (!(err instanceof FsError && err.code === 'ENOENT'))
        this.#warn(
          keyOf(ref),
          `cannot watch ${what}: ${describeErrno(err)}; its changes wait for the interval pass, which reads it (or says why it cannot)`,
        );
      return undefined;
    }
  }

  /**
   * Makes sure `dir` is watched under its target key. With `keep`, a new watch keeps `dir` open
   * (within the budget; see keptDirBudget) and owns it from then on. Otherwise `dir` is closed
   * when `close` is set.
   */
  #visit(ref: TargetRef, dir: Dir, close = false, keep = false): void {
    const key = keyOf(ref);
    this.#wanted.add(key);
    let owned = false;
    try {
      const st = fs.fstatSync(dir.fd);
      const identity = `${st.dev}:${st.ino}`;
      const current = this.#watches.get(key);
      if (current !== undefined && current.identity === identity) return;
      if (current !== undefined) this.#drop(key, current);
      const own = this.#own.get(identity);
      const watcher = fs.watch(pathForChild(dir), { persistent: false }, (_event, name) => this.#event(ref, name, own));
      owned = keep && this.#kept < this.#budget;
      const w: Watch = owned ? { identity, watcher, dir } : { identity, watcher };
      if (owned) this.#kept += 1;
      watcher.on('error', (err) => {
        this.#warn(key, `watch on ${dir.path} failed: ${describeErrno(err)}`);
        this.#drop(key, w);
      });
      this.#watches.set(key, w);
    } catch (err) {
      // The kernel's inotify limits are one cause for every directory: said once, with the fix.
      const code = errnoCode(err);
      if (code === 'EMFILE' || code === 'ENOSPC') {
        const limit =
          code === 'EMFILE'
            ? "the kernel's fs.inotify.max_user_instances for this user, or this process's open-file limit (ulimit -n), is reached: raise it"
            : "the kernel's fs.inotify.max_user_watches for this user is reached: raise it (sysctl -w fs.inotify.max_user_watches=…)";
        this.#warn(
          INOTIFY_KEY,
          `cannot watch directories for changes: ${describeErrno(err)}, ${limit}; meanwhile changes wait for the interval pass`,
        );
      } else this.#warn(key, `cannot watch ${dir.path}: ${describeErrno(err)} (the interval pass still runs)`);
    } finally {
      if (close && !owned) closeDir(dir);
    }
  }

  #event(ref: TargetRef, name: string | Buffer | null, own: ReadonlySet<string> | undefined): void {
    this.#napAfterEvents();
    const text = name === null ? null : typeof name === 'string' ? name : name.toString('utf8');
    if (text !== null && own?.has(text) === true) return;
    const hint = classifyEvent(ref, text, this.#o.servicePrefix());
    if (hint !== undefined) this.#o.onHint(hint);
  }

  /**
   * Once the events read in this wake-up are handled (setImmediate runs after the poll phase),
   * blocks the loop for napMs so the next writes' events gather in the kernel's queue.
   */
  #napAfterEvents(): void {
    const napMs = this.#o.napMs ?? WAKE_NAP_MS;
    if (this.#napping || napMs <= 0) return;
    this.#napping = true;
    setImmediate(() => {
      Atomics.wait(NAP_CELL, 0, 0, napMs);
      this.#napping = false;
    });
  }

  #drop(key: string, w: Watch): void {
    if (this.#watches.get(key) === w) this.#watches.delete(key);
    w.watcher.close();
    if (w.dir !== undefined) {
      // Exactly once: a descriptor number closed twice may by then belong to another file.
      closeDir(w.dir);
      w.dir = undefined;
      this.#kept -= 1;
    }
  }

  /**
   * Warns about the target `key` unless the same message was said about it while it kept failing:
   * a refresh keeps only what fails in it (see #warned), so once the target is watched again, or
   * gone, the same message is news again.
   */
  #warn(key: string, message: string): void {
    const said = this.#warned.get(key)?.has(message) === true || this.#failing?.get(key)?.has(message) === true;
    if (!said) this.#o.warn(message);
    const into = this.#failing ?? this.#warned;
    into.set(key, (into.get(key) ?? new Set<string>()).add(message));
  }
}

/** The key the warning about inotify's limits is kept under: one cause for every directory. */
const INOTIFY_KEY = 'inotify:';

/** The key a target's watch (and its warnings) are kept under: `scandir:`, `profile:NAME`. */
function keyOf(ref: TargetRef): string {
  return `${ref.kind}:${ref.profile ?? ''}`;
}

/**
 * Whether a directory under profiles/ holds a SOUL.md. One this user cannot search (a non-root
 * watcher, a profile chmodded 0644) counts as a candidate, as any directory does: the pass says
 * what is wrong with it, and a refresh never fails (it would end the watcher at every start).
 */
function holdsMarker(dir: Dir): boolean {
  try {
    return lstatAt(dir, PROFILE_MARKER)?.isFile() === true;
  } catch {
    return false;
  }
}

/**
 * The watcher's own files by the identity of the directory they are written in (as the writes
 * reach it, through any symlink): an event there is matched whatever path the watch reached it by.
 * A directory that does not exist yet matches nothing (the status file's is made at start).
 */
function ownFilesByDir(files: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const file of files) {
    try {
      const st = fs.statSync(path.dirname(path.resolve(file)));
      const key = `${st.dev}:${st.ino}`;
      out.set(key, (out.get(key) ?? new Set()).add(path.basename(file)));
    } catch {
      // No such directory: no event can come from it either.
    }
  }
  return out;
}
