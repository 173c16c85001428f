// Deterministic generator of synthetic HERMES_HOME trees for the benchmark suite.
//
//   import { generateHermesHome } from './generate.js';
//   const manifest = generateHermesHome('/tmp/home', 1000, 42);
//
//   node dist/bench/generate.js DIR N [SEED] [--manifest FILE] [--no-extras]   (after npm run build)
//
// Layout produced (what the reconciler reads):
//   DIR/gateway_state.json                     root profile ("running")
//   DIR/config.yaml, DIR/SOUL.md               noise, like a real install
//   DIR/profiles/<name>/SOUL.md                marker of a persistent profile
//   DIR/profiles/<name>/gateway_state.json     ~300 bytes, absent or corrupt for some
//   DIR/profiles/<name>/gateway.pid            stale runtime file (~5% of profiles)
//   DIR/profiles/<name>/processes.json         stale runtime file (same ~5%)
//   DIR/profiles/<name>/config.yaml, memories/, sessions/   noise (unless extras: false)
//
// Everything is derived from (n, seed) through a seeded PRNG (mulberry32): no Math.random,
// no clock. The same (n, seed) gives byte-identical trees. Profile i's properties depend only
// on (seed, i), so the first 100 profiles of N=1000 equal the 100 profiles of N=100.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** mulberry32: tiny, fast, good-enough 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Independent stream per (seed, index, salt) so profile i does not depend on N. */
export function rngFor(seed: number, index: number, salt = 0): () => number {
  // splitmix-style mixing of the three integers into one 32-bit seed
  let h = (seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(salt + 7, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return mulberry32(h >>> 0);
}

/** The state mix: fraction of profiles per kind. Sums to 1. */
/** The kinds of profile the generator makes. */
export type Kind = 'running' | 'stopped' | 'startup_failed' | 'draining' | 'missing' | 'corrupt';
/** A gateway's desired_state. */
export type Desired = 'running' | 'stopped';

export const STATE_MIX: ReadonlyArray<readonly [Kind, number]> = Object.freeze([
  ['running', 0.6],
  ['stopped', 0.15],
  ['startup_failed', 0.08],
  ['draining', 0.05],
  ['missing', 0.08], // profile dir with SOUL.md but no gateway_state.json
  ['corrupt', 0.04], // gateway_state.json that is not valid JSON
]);
export const STALE_FRACTION = 0.05; // profiles that also carry gateway.pid + processes.json

// Fixed reference instant (no clock): every updated_at is at or before it.
export const BASE_TIME_MS = Date.UTC(2026, 10, 27, 10, 0, 0); // 2026-11-27T10:00:00Z

const ADJ = [
  'amber',
  'brisk',
  'cobalt',
  'dusky',
  'eager',
  'fallow',
  'gentle',
  'hazel',
  'ivory',
  'jolly',
  'keen',
  'lunar',
  'mossy',
  'nimble',
  'ochre',
  'plucky',
  'quiet',
  'rusty',
  'sable',
  'tidal',
  'umber',
  'vivid',
  'windy',
  'young',
  'zesty',
];
const NOUN = [
  'falcon',
  'badger',
  'cedar',
  'delta',
  'ember',
  'fjord',
  'grove',
  'heron',
  'islet',
  'juniper',
  'kestrel',
  'lantern',
  'meadow',
  'nebula',
  'otter',
  'pepper',
  'quartz',
  'raven',
  'summit',
  'thistle',
  'urchin',
  'valley',
  'willow',
  'yarrow',
  'zephyr',
];
const PLATFORMS = ['telegram', 'discord', 'slack', 'whatsapp', 'signal', 'email', 'matrix', 'homeassistant'];
const PLATFORM_STATES = ['connected', 'connected', 'connected', 'connecting', 'disconnected', 'error'];

/** Profile name for index i: unique, [a-z0-9-], <= 32 chars, stable across N. */
export function profileName(seed: number, i: number): string {
  const r = rngFor(seed, i, 1);
  const a = pick(ADJ, r());
  const b = pick(NOUN, r());
  return `${a}-${b}-${i.toString(36).padStart(4, '0')}`;
}

/** The element of `xs` at index `i` (which must exist). */
function at<T>(xs: readonly T[], i: number): T {
  const v = xs[i];
  if (v === undefined) throw new Error(`index ${i} out of range`);
  return v;
}

/** The element of `xs` at fraction `x` ∈ [0, 1). */
function pick<T>(xs: readonly T[], x: number): T {
  return at(xs, Math.floor(x * xs.length));
}

function pickKind(r: () => number): Kind {
  const x = r();
  let acc = 0;
  for (const [kind, p] of STATE_MIX) {
    acc += p;
    if (x < acc) return kind;
  }
  return 'running';
}

function isoAt(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Build the gateway_state.json object for a profile. `gatewayState` is one of
 * running | stopped | startup_failed | draining. Padded so the serialised file is ~300 bytes.
 */
/** A gateway_state.json as the generator writes it. */
export interface StateObject {
  gateway_state: string;
  desired_state: string;
  updated_at: string;
  pid: number | null;
  kind: string;
  platforms: Record<string, { state: string; updated_at: string }>;
  exit_reason?: string;
  note?: string;
}

export function stateObject(r: () => number, gatewayState: string, desiredState: string, updatedAtMs: number): StateObject {
  const pid = gatewayState === 'stopped' ? null : 1000 + Math.floor(r() * 60000);
  const nPlat = 1 + Math.floor(r() * 2);
  const start = Math.floor(r() * PLATFORMS.length);
  const platforms: StateObject['platforms'] = {};
  for (let k = 0; k < nPlat; k++) {
    const name = at(PLATFORMS, (start + k) % PLATFORMS.length);
    const st = gatewayState === 'running' ? pick(PLATFORM_STATES, r()) : 'disconnected';
    platforms[name] = { state: st, updated_at: isoAt(updatedAtMs - Math.floor(r() * 600) * 1000) };
  }
  const obj: StateObject = {
    gateway_state: gatewayState,
    desired_state: desiredState,
    updated_at: isoAt(updatedAtMs),
    pid,
    kind: 'hermes-gateway',
    platforms,
  };
  if (gatewayState === 'startup_failed') obj.exit_reason = 'platform adapter failed to start: token rejected';
  if (gatewayState === 'draining') obj.exit_reason = 'drain requested';
  return obj;
}

/** Serialise a state object to ~300 bytes (compact JSON; short ones padded with a "note"). */
export function serializeState(obj: StateObject): string {
  let text = JSON.stringify(obj) + '\n';
  if (text.length < 290) {
    const pad = Math.max(0, 300 - text.length - 10); // ,"note":"" is 10 bytes
    text = JSON.stringify({ ...obj, note: '-'.repeat(pad) }) + '\n';
  }
  return text;
}

function corruptText(r: () => number, validText: string): string {
  const v = Math.floor(r() * 4);
  if (v === 0) return validText.slice(0, 20 + Math.floor(r() * (validText.length - 40))); // torn write
  if (v === 1) return ''; // empty file
  if (v === 2) return validText.replace('"desired_state":"', '"desired_state":'); // syntax error (a quote lost)
  return '\u0000\u0000\u0000{garbage' + 'x'.repeat(200) + '\n'; // binary junk
}

function staleFiles(r: () => number): Record<string, string> {
  const pid = 1000 + Math.floor(r() * 60000);
  const pidText = `${pid}\n`;
  const procs = [];
  const k = Math.floor(r() * 3);
  for (let j = 0; j < k; j++) procs.push({ pid: pid + j + 1, cmd: 'hermes-tool-runner', started_at: isoAt(BASE_TIME_MS - 86400000) });
  return { 'gateway.pid': pidText, 'processes.json': JSON.stringify(procs) + '\n' };
}

function writeFile(p: string, text: string, mode = 0o644): void {
  fs.writeFileSync(p, text, { mode });
}

/** Atomic write (tmp in the same dir + rename), the way a gateway rewrites its state file. */
export function writeAtomic(p: string, text: string): void {
  const tmp = path.join(path.dirname(p), `.${path.basename(p)}.tmp`);
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, p);
}

/**
 * Generate a HERMES_HOME with n named profiles under `dir` (created; must be empty or absent).
 * Returns a manifest: { dir, n, seed, root, profiles: [{ name, kind, desired, gatewayState,
 * hasState, corrupt, stale, stateFile }] }. Nothing is written into the tree besides the profiles.
 */
/** One generated profile (or the root profile, whose name is null). */
export interface ManifestEntry {
  readonly name: string;
  readonly kind: Kind;
  /** The desired_state on disk; null when the reconciler cannot know it (missing, corrupt). */
  desired: Desired | null;
  readonly gatewayState: string;
  readonly hasState: boolean;
  readonly corrupt: boolean;
  readonly stale: boolean;
  readonly stateFile: string;
}

/** What {@link generateHermesHome} made. */
export interface Manifest {
  readonly dir: string;
  readonly n: number;
  readonly seed: number;
  readonly root: Omit<ManifestEntry, 'name' | 'gatewayState'> & { readonly name: null };
  readonly profiles: ManifestEntry[];
}

export function generateHermesHome(dir: string, n: number, seed = 1, opts: { readonly extras?: boolean } = {}): Manifest {
  const extras = opts.extras !== false;
  fs.mkdirSync(path.join(dir, 'profiles'), { recursive: true });
  const resolved = path.resolve(dir);

  // root profile: HERMES_HOME itself, running
  {
    const r = rngFor(seed, -1, 2);
    const obj = stateObject(r, 'running', 'running', BASE_TIME_MS - 30000);
    writeFile(path.join(dir, 'gateway_state.json'), serializeState(obj));
    if (extras) {
      writeFile(path.join(dir, 'config.yaml'), 'model:\n  provider: openrouter\n  default: hermes-4-70b\nterminal:\n  backend: local\n');
      writeFile(path.join(dir, 'SOUL.md'), '# Default profile\n\nYou are Hermes, a helpful agent.\n');
    }
  }
  const manifest: Manifest = {
    dir: resolved,
    n,
    seed,
    root: {
      name: null,
      kind: 'running',
      desired: 'running',
      hasState: true,
      corrupt: false,
      stale: false,
      stateFile: path.join(resolved, 'gateway_state.json'),
    },
    profiles: [],
  };

  for (let i = 0; i < n; i++) {
    const r = rngFor(seed, i, 3);
    const name = profileName(seed, i);
    const kind = pickKind(r);
    const stale = r() < STALE_FRACTION;
    const pdir = path.join(dir, 'profiles', name);
    fs.mkdirSync(pdir);
    writeFile(path.join(pdir, 'SOUL.md'), `# ${name}\n\nPersona notes for ${name}. Keep answers short and kind.\n`);
    if (extras) {
      writeFile(path.join(pdir, 'config.yaml'), `model:\n  default: hermes-4-70b\ndisplay:\n  name: ${name}\n`);
      fs.mkdirSync(path.join(pdir, 'memories'));
      fs.mkdirSync(path.join(pdir, 'sessions'));
    }
    const updatedAt = BASE_TIME_MS - Math.floor(r() * 7 * 86400) * 1000;
    let gatewayState: string = kind;
    let desired: Desired;
    switch (kind) {
      case 'running':
        desired = r() < 0.95 ? 'running' : 'stopped';
        break;
      case 'stopped':
        desired = r() < 0.9 ? 'stopped' : 'running';
        break;
      case 'startup_failed':
        desired = 'running';
        break;
      case 'draining':
        desired = 'stopped';
        break;
      default:
        gatewayState = 'running';
        desired = r() < 0.5 ? 'running' : 'stopped';
    }
    const stateFile = path.join(manifest.dir, 'profiles', name, 'gateway_state.json');
    const entry: ManifestEntry = {
      name,
      kind,
      desired,
      gatewayState,
      hasState: kind !== 'missing',
      corrupt: kind === 'corrupt',
      stale,
      stateFile,
    };
    if (kind !== 'missing') {
      const valid = serializeState(stateObject(r, gatewayState, desired, updatedAt));
      writeFile(stateFile, kind === 'corrupt' ? corruptText(r, valid) : valid);
    }
    if (kind === 'missing' || kind === 'corrupt') entry.desired = null; // unknown to the reconciler
    if (stale) {
      const files = staleFiles(rngFor(seed, i, 4));
      for (const [f, text] of Object.entries(files)) writeFile(path.join(pdir, f), text);
    }
    manifest.profiles.push(entry);
  }
  return manifest;
}

/** Re-create the stale runtime files (boot deletes them); identical bytes every time. */
export function restoreStaleFiles(manifest: Manifest): number {
  let count = 0;
  manifest.profiles.forEach((p, i) => {
    if (!p.stale) return;
    const files = staleFiles(rngFor(manifest.seed, i, 4));
    for (const [f, text] of Object.entries(files)) {
      const fp = path.join(manifest.dir, 'profiles', p.name, f);
      if (!fs.existsSync(fp)) {
        writeFile(fp, text);
        count++;
      }
    }
  });
  return count;
}

/** Profiles whose state file is valid JSON (the ones whose desired_state can be flipped). */
export function flippable(manifest: Pick<Manifest, 'profiles'>): ManifestEntry[] {
  return manifest.profiles.filter((p) => p.hasState && !p.corrupt);
}

/**
 * Deterministically choose `count` distinct flippable profiles for round `round`
 * (different rounds give different, possibly overlapping, sets).
 */
export function pickProfiles(manifest: Pick<Manifest, 'profiles' | 'seed'>, count: number, round = 0): ManifestEntry[] {
  const pool = flippable(manifest);
  const r = rngFor(manifest.seed, round, 5);
  const idx = pool.map((_, i) => i);
  const k = Math.min(count, pool.length);
  for (let i = 0; i < k; i++) {
    // partial Fisher-Yates
    const j = i + Math.floor(r() * (idx.length - i));
    const [a, b] = [idx[i], idx[j]];
    if (a === undefined || b === undefined) throw new Error('pickProfiles: index out of range');
    [idx[i], idx[j]] = [b, a];
  }
  return idx
    .slice(0, k)
    .map((i) => pool[i])
    .filter((p): p is ManifestEntry => p !== undefined);
}

/**
 * Flip desired_state (running <-> stopped) of the given profiles, atomically (tmp + rename).
 * Reads the current file, so it composes with anything else that rewrote it. Updates the manifest.
 * `updatedAtMs` defaults to a deterministic instant derived from the old value.
 */
export function flipDesired(profiles: ManifestEntry[], updatedAtMs?: number): ManifestEntry[] {
  for (const p of profiles) {
    const obj = JSON.parse(fs.readFileSync(p.stateFile, 'utf8')) as StateObject;
    obj.desired_state = obj.desired_state === 'running' ? 'stopped' : 'running';
    obj.updated_at = isoAt(updatedAtMs ?? Date.parse(obj.updated_at) + 1000);
    writeAtomic(p.stateFile, serializeState(obj));
    p.desired = obj.desired_state === 'running' ? 'running' : 'stopped';
  }
  return profiles;
}

/** Counts per kind, for reports. */
/** What {@link summarize} reports. */
export interface ManifestSummary {
  readonly n: number;
  readonly seed: number;
  readonly kinds: Record<string, number>;
  readonly stale: number;
}

export function summarize(manifest: Manifest): ManifestSummary {
  const counts: Record<string, number> = {};
  for (const p of manifest.profiles) counts[p.kind] = (counts[p.kind] ?? 0) + 1;
  return { n: manifest.n, seed: manifest.seed, kinds: counts, stale: manifest.profiles.filter((p) => p.stale).length };
}

// ---- CLI ----
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flags = new Set(args.filter((a) => a.startsWith('--no-')));
  let manifestOut: string | undefined;
  const pos: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--manifest') manifestOut = args[++i];
    else if (!arg.startsWith('--')) pos.push(arg);
  }
  if (pos.length < 2) {
    console.error('usage: node dist/bench/generate.js DIR N [SEED] [--manifest FILE] [--no-extras]');
    process.exit(2);
  }
  const [dir = '', nText, seedText] = pos;
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    console.error(`generate: ${dir} exists and is not empty`);
    process.exit(2);
  }
  const t0 = process.hrtime.bigint();
  const m = generateHermesHome(dir, Number(nText), Number(seedText ?? 1), { extras: !flags.has('--no-extras') });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (manifestOut) fs.writeFileSync(manifestOut, JSON.stringify(m, null, 1) + '\n');
  console.log(JSON.stringify({ ...summarize(m), dir: m.dir, ms: Math.round(ms) }));
}
