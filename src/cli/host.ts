/**
 * Host facts resolved before a pass, the way upstream's `main()` does: the container's role (from
 * its argv), the multiplexing setting, the legacy `gateway run` seed, and hermes' uid/gid.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HomeWrite } from '../model.js';
import { type Dir, describeType, lstatAt, readFileAt } from '../safe-fs.js';
import { loadYamlParse } from './yaml.js';

/** Upstream's truthiness: `1`, `true`, `yes`, `on` in any case. */
export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/**
 * The container's argv as upstream finds it: PID 1's if any argument mentions main-wrapper.sh,
 * else the first `/proc/<pid>/cmdline` that does, else empty. Only root-owned processes count
 * (`/proc/<pid>` belongs to the process's effective uid): any user can start a process whose argv
 * mentions main-wrapper.sh, and the role must not be theirs to choose (issue 16 #13b).
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

/** Upstream's `_strip_container_argv_prefix` (S44). */
export function stripContainerArgv(argv: readonly string[]): string[] {
  let rest = [...argv];
  const wrapper = rest.findIndex((a) => a.endsWith('main-wrapper.sh'));
  if (wrapper >= 0) rest = rest.slice(wrapper + 1);
  else if (rest[0] !== undefined && path.basename(rest[0]) === 'init') rest = rest.slice(1);
  if (rest[0] !== undefined && rest[0].endsWith('entrypoint-dispatch.sh')) rest = rest.slice(1);
  if (rest[0] !== undefined && path.basename(rest[0]) === 'hermes') rest = rest.slice(1);
  return rest;
}

/** Whether the container runs the dashboard (S45): `gateway run -p dashboard` is not. */
export function isDashboardArgv(argv: readonly string[]): boolean {
  return stripContainerArgv(argv)[0] === 'dashboard';
}

/** Whether the container command is a legacy `gateway run` that wants the root gateway seeded. */
export function wantsLegacySeed(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const rest = stripContainerArgv(argv);
  if (rest[0] !== 'gateway' || rest[1] !== 'run') return false;
  if (rest.includes('--no-supervise')) return false;
  return !isTruthy(env['HERMES_GATEWAY_NO_SUPERVISE']);
}

/** The legacy seed of the root state file (§1.2), byte-compatible with Python's json.dumps. */
export function legacySeedWrite(hermesHome: string, epochSeconds: number): HomeWrite {
  const content = `{"gateway_state": "running", "desired_state": "running", "timestamp": ${epochSeconds}, "migrated_from": "legacy-container-cmd"}\n`;
  return { kind: 'seed-root-state', path: `${hermesHome}/gateway_state.json`, content, reason: 'legacy gateway run container without a state file' };
}

/**
 * Whether the legacy seed may write the root state file: only when nothing at all is there.
 * Returns `absent`, `present` (a regular file: the normal case, nothing to say), or why an entry
 * that is not a regular file blocks it (a symlink is never written through, #37896).
 */
export function rootStateSlot(home: Dir): { kind: 'absent' } | { kind: 'present' } | { kind: 'blocked'; reason: string } {
  let st: fs.Stats | undefined;
  try {
    st = lstatAt(home, 'gateway_state.json');
  } catch (err) {
    return { kind: 'blocked', reason: `cannot be inspected (${err instanceof Error ? err.message : String(err)})` };
  }
  if (st === undefined) return { kind: 'absent' };
  if (st.isFile()) return { kind: 'present' };
  return { kind: 'blocked', reason: `is ${describeType(st)}` };
}

/**
 * Multiplexing: `GATEWAY_MULTIPLEX_PROFILES` (truthy, or any other non-empty value = explicit false)
 * over Hermes' `config.yaml` (`multiplex_profiles`, top level or under `gateway:`), else off.
 * The config is read even when the env decides, so a broken file is always reported (upstream S53).
 */
export async function resolveMultiplex(home: Dir, env: NodeJS.ProcessEnv): Promise<{ multiplex: boolean; warnings: string[] }> {
  const config = await readConfigMultiplex(home);
  const override = env['GATEWAY_MULTIPLEX_PROFILES'];
  const fallback = override !== undefined && override !== '' ? 'GATEWAY_MULTIPLEX_PROFILES' : 'multiplexing off';
  const warnings = config.problem === undefined ? [] : [`${home.path}/config.yaml ${config.problem}; multiplex_profiles ignored, using ${fallback}`];
  if (override !== undefined && override !== '') return { multiplex: isTruthy(override), warnings };
  return { multiplex: config.multiplex, warnings };
}

/**
 * Largest config.yaml parsed at all. Hermes' own is a few KiB; a YAML parse costs about a
 * thousand times its input in memory, so a 1 MiB file took a gigabyte per pass (issue 16 #2).
 */
export const CONFIG_YAML_CAP = 64 * 1024;

/** Deepest flow nesting (`[[[`/`{{{`) parsed; the YAML library recurses per level. */
const CONFIG_YAML_MAX_DEPTH = 64;

/** The last config.yaml parsed, by (dev, ino, size, mtime): `watch` parses it once per change. */
let lastConfig: { readonly key: string; readonly result: { multiplex: boolean; problem?: string } } | undefined;

async function readConfigMultiplex(home: Dir): Promise<{ multiplex: boolean; problem?: string }> {
  const st = lstatAt(home, 'config.yaml');
  const key = st === undefined ? '' : `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  if (key !== '' && lastConfig?.key === key) return lastConfig.result;
  const result = parseConfigMultiplex(home);
  if (key !== '') lastConfig = { key, result };
  return result;
}

function parseConfigMultiplex(home: Dir): { multiplex: boolean; problem?: string } {
  let read: ReturnType<typeof readFileAt>;
  try {
    read = readFileAt(home, 'config.yaml', CONFIG_YAML_CAP);
  } catch (err) {
    return { multiplex: false, problem: `could not be read (${err instanceof Error ? err.message : String(err)})` };
  }
  if (read.kind === 'missing') return { multiplex: false };
  if (read.kind === 'refused') return { multiplex: false, problem: `could not be read (${read.reason})` };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(read.bytes);
  } catch {
    return { multiplex: false, problem: 'is not valid UTF-8' };
  }
  if (flowDepth(text) > CONFIG_YAML_MAX_DEPTH) return { multiplex: false, problem: `nests deeper than ${CONFIG_YAML_MAX_DEPTH} levels` };
  try {
    const parse = loadYamlParse();
    const doc: unknown = parse(text, { maxAliasCount: 50 });
    return { multiplex: multiplexFromConfig(doc) };
  } catch (err) {
    return { multiplex: false, problem: `is not valid YAML (${err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)})` };
  }
}

/** An upper bound of the flow-collection nesting depth (brackets inside strings count too). */
function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (const ch of text) {
    if (ch === '[' || ch === '{') max = Math.max(max, ++depth);
    else if ((ch === ']' || ch === '}') && depth > 0) depth -= 1;
  }
  return max;
}

function multiplexFromConfig(doc: unknown): boolean {
  const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && isTruthy(v)) || v === 1;
  if (typeof doc !== 'object' || doc === null) return false;
  const top = (doc as Record<string, unknown>)['multiplex_profiles'];
  if (top !== undefined) return truthy(top);
  const gateway = (doc as Record<string, unknown>)['gateway'];
  if (typeof gateway === 'object' && gateway !== null) return truthy((gateway as Record<string, unknown>)['multiplex_profiles']);
  return false;
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
