/**
 * Host facts, read the way upstream's `main()` finds them: the container's argv (from /proc),
 * the environment values policy depends on, Hermes' `config.yaml` (parsed, not interpreted) and
 * hermes' uid/gid. Decides nothing: the role, multiplexing and seeds are desired's decisions.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ConfigRead, HostEnv } from '../model.js';
import { type Dir, readFileAt } from '../safe-fs/index.js';

/**
 * The container's argv as upstream finds it: PID 1's if any argument mentions main-wrapper.sh,
 * else the first `/proc/<pid>/cmdline` that does, else empty.
 */
export function detectContainerArgv(proc = '/proc'): string[] {
  const read = (pid: string): string[] | undefined => {
    try {
      const raw = fs.readFileSync(path.join(proc, pid, 'cmdline'), 'utf8');
      return raw.split('\0').filter((a, i, all) => i < all.length - 1 || a !== '');
    } catch {
      return undefined;
    }
  };
  const hasWrapper = (argv: string[] | undefined): argv is string[] => argv !== undefined && argv.some((a) => a.includes('main-wrapper.sh'));
  const first = read('1');
  if (hasWrapper(first)) return first;
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
    if (hasWrapper(argv)) return argv;
  }
  return [];
}

/** The environment values the pure core reads, by upstream's variable names. */
export function hostEnv(env: NodeJS.ProcessEnv): HostEnv {
  const pick = (name: string): string | undefined => env[name];
  const multiplex = pick('GATEWAY_MULTIPLEX_PROFILES');
  const noSupervise = pick('HERMES_GATEWAY_NO_SUPERVISE');
  const bootstrapState = pick('HERMES_GATEWAY_BOOTSTRAP_STATE');
  return {
    ...(multiplex === undefined ? {} : { multiplex }),
    ...(noSupervise === undefined ? {} : { noSupervise }),
    ...(bootstrapState === undefined ? {} : { bootstrapState }),
  };
}

/** Largest `config.yaml` read. */
const CONFIG_CAP = 1024 * 1024;

/** A YAML parser: `parse` of the `yaml` package, loaded by the caller (the CLI loads it lazily). */
export type YamlParse = (text: string) => unknown;

/**
 * Reads and parses `HERMES_HOME/config.yaml` (never through a symlink); any problem is a value.
 * `parse` is called only when the file exists, so a home without one never loads the parser.
 */
export function observeConfig(home: Dir, parse: () => YamlParse): ConfigRead {
  let read: ReturnType<typeof readFileAt>;
  try {
    read = readFileAt(home, 'config.yaml', CONFIG_CAP);
  } catch (err) {
    return { kind: 'unreadable', problem: `could not be read (${err instanceof Error ? err.message : String(err)})` };
  }
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'refused') return { kind: 'unreadable', problem: `could not be read (${read.reason})` };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(read.bytes);
  } catch {
    return { kind: 'unreadable', problem: 'is not valid UTF-8' };
  }
  try {
    return { kind: 'parsed', doc: parse()(text) };
  } catch (err) {
    return { kind: 'unreadable', problem: `is not valid YAML (${err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)})` };
  }
}

/** uid/gid of the `hermes` entries in /etc/passwd and /etc/group, when present. */
export function hermesIds(etc = '/etc'): { uid?: number; gid?: number } {
  const field = (file: string, index: number): number | undefined => {
    try {
      const line = fs.readFileSync(path.join(etc, file), 'utf8').split('\n').find((l) => l.startsWith('hermes:'));
      const value = line?.split(':')[index];
      return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
    } catch {
      return undefined;
    }
  };
  const uid = field('passwd', 2);
  const gid = field('group', 2) ?? field('passwd', 3);
  return { ...(uid === undefined ? {} : { uid }), ...(gid === undefined ? {} : { gid }) };
}
