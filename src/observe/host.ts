/**
 * Host facts, read the way upstream's `main()` finds them: the container's argv (from /proc),
 * the environment values policy depends on, Hermes' `config.yaml` (parsed, not interpreted) and
 * hermes' uid/gid. Decides nothing: the role, multiplexing and seeds are desired's decisions.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as Yaml from 'yaml';
import type { ConfigRead, HostEnv } from '../model.js';
import { type Dir, lstatAt, readFileAt } from '../safe-fs/index.js';
import { decodeUtf8 } from '../model/text.js';
import { racyWindow } from './read-cache.js';

/**
 * The container's argv as upstream finds it: PID 1's if any argument mentions main-wrapper.sh,
 * else the first `/proc/<pid>/cmdline` that does, else empty. Only root's processes count: any
 * user can start a process whose argv mentions main-wrapper.sh, and the role must not be theirs
 * to choose (issue 16 #13b). `/proc/<pid>` belongs to the process's effective uid, or to root for
 * one that is not dumpable, such as a set-user-ID program another user started (with the argv it
 * chose): so a match must also run with real and effective uid 0 (`/proc/<pid>/status`).
 */
export function detectContainerArgv(proc = '/proc'): string[] {
  const read = (pid: string): string[] | undefined => {
    try {
      if (fs.lstatSync(path.join(proc, pid)).uid !== 0) return undefined;
      const raw = fs.readFileSync(path.join(proc, pid, 'cmdline'), 'utf8');
      return raw.split('\0').filter((a, i, all) => i < all.length - 1 || a !== '');
    } catch {
      return undefined;
    }
  };
  const hasWrapper = (argv: string[] | undefined, pid: string): argv is string[] =>
    argv !== undefined && argv.some((a) => a.includes('main-wrapper.sh')) && runsAsRoot(proc, pid);
  const first = read('1');
  if (hasWrapper(first, '1')) return first;
  let pids: string[] = [];
  try {
    // Oldest first: the wrapper (or s6-overlay v3's rc.init running it) precedes its children.
    pids = fs
      .readdirSync(proc)
      .filter((n) => /^\d+$/.test(n) && n !== '1')
      .sort((a, b) => Number(a) - Number(b));
  } catch {
    return [];
  }
  for (const pid of pids) {
    const argv = read(pid);
    if (hasWrapper(argv, pid)) return argv;
  }
  return [];
}

/** Whether the process's real and effective uids are both 0 (`Uid:` in its status); false when unreadable. */
function runsAsRoot(proc: string, pid: string): boolean {
  try {
    const line = fs
      .readFileSync(path.join(proc, pid, 'status'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Uid:'));
    const [real, effective] = (line ?? '').slice(4).trim().split(/\s+/);
    return real === '0' && effective === '0';
  } catch {
    return false;
  }
}

/** The environment values the pure core reads, by upstream's variable names. */
export function hostEnv(env: NodeJS.ProcessEnv): HostEnv {
  const pick = (name: string): string | undefined => env[name];
  const multiplex = pick('GATEWAY_MULTIPLEX_PROFILES');
  const noSupervise = pick('HERMES_GATEWAY_NO_SUPERVISE');
  const bootstrapState = pick('HERMES_GATEWAY_BOOTSTRAP_STATE');
  const hermesHome = pick('HERMES_HOME');
  return {
    ...(multiplex === undefined ? {} : { multiplex }),
    ...(noSupervise === undefined ? {} : { noSupervise }),
    ...(bootstrapState === undefined ? {} : { bootstrapState }),
    ...(hermesHome === undefined || hermesHome === '' ? {} : { hermesHome: path.resolve(hermesHome) }),
  };
}

/**
 * Largest config.yaml parsed at all. Hermes' own is a few KiB; a YAML parse costs about a
 * thousand times its input in memory, so a 1 MiB file took a gigabyte per pass (issue 16 #2).
 */
export const CONFIG_YAML_CAP = 64 * 1024;

/** Deepest flow nesting (`[[[`/`{{{`) parsed; the YAML library recurses per level. */
const CONFIG_YAML_MAX_DEPTH = 64;

/**
 * Most aliases (`*name`) config.yaml may hold. A real config has a handful; the library's alias
 * handling grows with the square of their number (a 64 KiB file of them cost a pass seconds).
 */
const CONFIG_YAML_MAX_ALIASES = 200;

/** The parts of the `yaml` package read here, loaded by the caller (the CLI loads it lazily). */
export type YamlLib = Pick<typeof Yaml, 'parseDocument' | 'visit' | 'isCollection'>;

/**
 * The last config.yaml read, by (device, inode, size, mtime, ctime): owned by the caller, so a
 * `watch` that keeps one parses the file once per change rather than on every pass (issue 16 #2).
 * As for the read cache, one changed too shortly before it was read (`racyWindow`) is not kept.
 */
export interface ConfigCache {
  key?: string | undefined;
  read?: ConfigRead | undefined;
}

/**
 * Reads and parses `HERMES_HOME/config.yaml` (never through a symlink); any problem is a value.
 * `parse` is called only when the file exists, so a home without one never loads the parser.
 * With `cache`, an unchanged file is not parsed again.
 */
export function observeConfig(home: Dir, parse: () => YamlLib, cache?: ConfigCache, now: number = Date.now()): ConfigRead {
  let st: ReturnType<typeof lstatAt>;
  try {
    st = lstatAt(home, 'config.yaml');
  } catch {
    st = undefined; // readConfig reports it
  }
  // A key only for a file that has aged: a same-size rewrite within its timestamp's tick keeps every field.
  const aged = st !== undefined && now - st.ctimeMs >= racyWindow(st.ctimeMs);
  const key = st === undefined || !aged ? undefined : `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  if (cache !== undefined && key !== undefined && cache.key === key && cache.read !== undefined) return cache.read;
  const read = readConfig(home, parse);
  if (cache !== undefined) {
    cache.key = key;
    cache.read = read;
  }
  return read;
}

function readConfig(home: Dir, parse: () => YamlLib): ConfigRead {
  let read: ReturnType<typeof readFileAt>;
  try {
    read = readFileAt(home, 'config.yaml', CONFIG_YAML_CAP);
  } catch (err) {
    return { kind: 'unreadable', problem: `could not be read (${err instanceof Error ? err.message : String(err)})` };
  }
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'refused') return { kind: 'unreadable', problem: `could not be read (${read.reason})` };
  const text = decodeUtf8(read.bytes);
  if (text === undefined) return { kind: 'unreadable', problem: 'is not valid UTF-8' };
  if (flowDepth(text) > CONFIG_YAML_MAX_DEPTH) return { kind: 'unreadable', problem: `nests deeper than ${CONFIG_YAML_MAX_DEPTH} levels` };
  try {
    // logLevel error: the library's warnings (an unknown tag, say) went to process.emitWarning,
    // quoting the file raw onto stderr; the tool reads one key and has nothing to say about them.
    // As PyYAML (Hermes' own loader) reads it, a key given twice takes its last value; `<<` stays a
    // plain key, merged only where multiplexing is read (desired/host.ts), never for every map.
    const { parseDocument, visit, isCollection } = parse();
    // prettyErrors off: it quoted each error's whole line, quadratic in a 64 KiB line of `]` (6 s).
    const doc = parseDocument(text, { logLevel: 'error', uniqueKeys: false, merge: false, prettyErrors: false });
    if (doc.errors[0] !== undefined) throw doc.errors[0];
    let aliases = 0;
    let collectionKey: number | undefined;
    visit(doc, {
      Alias: () => (++aliases > CONFIG_YAML_MAX_ALIASES ? visit.BREAK : undefined),
      // A map or list as a key: PyYAML refuses it (unhashable), and the library turns each one back
      // into text, nested level by level (an 800-byte `? ? ? … a` cost a pass 13 s).
      Pair: (_, pair) => (isCollection(pair.key) ? ((collectionKey = pair.key.range?.[0] ?? 0), visit.BREAK) : undefined),
    });
    if (aliases > CONFIG_YAML_MAX_ALIASES)
      return { kind: 'unreadable', problem: `is not valid YAML (more than ${CONFIG_YAML_MAX_ALIASES} aliases)` };
    if (collectionKey !== undefined)
      return {
        kind: 'unreadable',
        problem: `is not valid YAML for Hermes (a map or list as a key at ${lineAndColumn(text, collectionKey)})`,
      };
    // No per-anchor expansion check: the aliases are few, toJS shares each anchor's value among its
    // aliases (nothing is copied), and the library's check re-walked the document per use of an
    // empty anchor (20 s for a 64 KiB file). The one reader (desired/host.ts) visits each map once.
    return { kind: 'parsed', doc: doc.toJS({ maxAliasCount: -1 }) };
  } catch (err) {
    return { kind: 'unreadable', problem: yamlProblem(err, text) };
  }
}

/**
 * What is wrong with config.yaml, from the yaml library's error, without a byte of the file: its
 * messages quote the source (an excerpt, an alias's or tag's name), and the file is the volume's
 * (a 60 KB alias name was echoed into every warning). The error's code and position say enough.
 */
function yamlProblem(err: unknown, text: string): string {
  const e = err as { code?: unknown; pos?: readonly number[]; message?: unknown };
  const offset = e.pos?.[0];
  if (typeof e.code === 'string' && typeof offset === 'number')
    return `is not valid YAML (${e.code.toLowerCase().replaceAll('_', ' ')} at ${lineAndColumn(text, offset)})`;
  const message = typeof e.message === 'string' ? e.message : '';
  if (message.startsWith('Unresolved alias')) return 'is not valid YAML (an alias with no anchor before it)';
  return 'is not valid YAML';
}

/** `line L, column C` of a character offset, both from 1. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `line ${before.split('\n').length}, column ${offset - before.lastIndexOf('\n')}`;
}

/**
 * The flow-collection nesting depth, roughly: brackets in strings and trailing comments count too,
 * those on comment lines do not. Not exact (a closing bracket inside a quoted string lowers it):
 * the parser's own depth check refuses what this misses, as a caught error.
 */
function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let lineStart = true;
  // Indexed: a for-of allocates a string per character until V8 optimizes the loop.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) lineStart = true;
    else if (lineStart && (c === 0x20 || c === 0x09)) continue;
    else if (lineStart && c === 0x23) {
      // A line that starts with `#` holds no flow bracket: a comment, or the inside of a quoted or
      // block scalar. Its brackets (`# see [1`) are skipped; anywhere else they all count.
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end - 1;
    } else {
      lineStart = false;
      if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
      else if ((c === 0x5d || c === 0x7d) && depth > 0) depth -= 1;
    }
  }
  return max;
}

/** uid/gid of the `hermes` entries in /etc/passwd and /etc/group, when present. */
export function hermesIds(etc = '/etc'): { uid?: number; gid?: number } {
  const uid = idField(etc, 'passwd', 'hermes', 2);
  const gid = idField(etc, 'group', 'hermes', 2) ?? idField(etc, 'passwd', 'hermes', 3);
  return { ...(uid === undefined ? {} : { uid }), ...(gid === undefined ? {} : { gid }) };
}

/** The uid of `user` in /etc/passwd, when it has an entry there (HostFacts.account). */
export function accountOf(user: string, etc = '/etc'): { uid: number } | undefined {
  const uid = idField(etc, 'passwd', user, 2);
  return uid === undefined ? undefined : { uid };
}

/** A numeric field of `name`'s line in an /etc database, when the file, the line and a number are there. */
function idField(etc: string, file: 'passwd' | 'group', name: string, index: number): number | undefined {
  try {
    const line = fs
      .readFileSync(path.join(etc, file), 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    const value = line?.split(':')[index];
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}
