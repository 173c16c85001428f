// Process plumbing shared by every scenario: the private tmpfs (always unmounted on exit), the
// children's clean environment, the CLI's command lines, and the fake s6-svscan.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, EXTRA_ARGS, REPO, TMPFS_SIZE, WATCH_ARGS } from './config.js';
import { killAllChildren, track } from './measure.js';
import { type Availability, type Fingerprint, note, type results } from './results.js';

let mountPoint: string | null = null;
let workRoot: string | null = null;
let cleanedUp = false;

/** Kills every child and removes the scratch space; safe to call more than once. */
export function cleanupSync(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  killAllChildren('SIGKILL');
  if (mountPoint) {
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      ok = spawnSync('umount', [mountPoint], { stdio: 'ignore' }).status === 0;
      if (!ok) spawnSync('sleep', ['0.1']);
    }
    if (!ok) {
      spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
      console.error(`bench: ${mountPoint} was busy; lazily unmounted`);
    }
    try {
      fs.rmdirSync(mountPoint);
    } catch {
      /* leave it */
    }
  } else if (workRoot) {
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
}

/** Cleans up on exit, on SIGINT/SIGTERM/SIGHUP and on crashes. */
export function installCleanup(): void {
  process.on('exit', cleanupSync);
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}, cleaning up`);
      cleanupSync();
      process.exit(code);
    });
  }
  const crash = (e: unknown): void => {
    console.error(e);
    cleanupSync();
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

/** Mounts a private tmpfs (production's scandir is tmpfs), or falls back to a plain directory. */
export function setupScratch(): NonNullable<typeof results.scratch> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-bench-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  workRoot = dir;
  if (r.status === 0) {
    mountPoint = dir;
    return { tmpfs: true, path: dir, note: `private tmpfs (size=${TMPFS_SIZE})` };
  }
  const fstype = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim();
  return {
    tmpfs: fstype === 'tmpfs',
    path: dir,
    note: `mount failed (${(r.stderr || r.error?.message || '').trim()}); using ${dir} on ${fstype || 'unknown fs'}`,
  };
}

/** The scratch root (after setupScratch). */
export function scratchRoot(): string {
  if (workRoot === null) throw new Error('setupScratch() first');
  return workRoot;
}

/** Children get only these variables (an inherited NODE_EXTRA_CA_CERTS alone cost ~30 ms a start). */
export const childEnv = (hermesHome?: string): NodeJS.ProcessEnv => ({
  PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: process.env['HOME'] ?? '/root',
  LANG: 'C.UTF-8',
  TZ: 'UTC',
  NO_COLOR: '1',
  TMPDIR: workRoot ?? os.tmpdir(),
  // As in the Hermes image, HERMES_HOME is the volume: else every run warns that its gateways
  // would use the config's home instead (desired/host.ts homeNotice).
  ...(hermesHome === undefined ? {} : { HERMES_HOME: hermesHome }),
});

/** `node CLI sub --hermes-home … --scandir … --config …` plus the pinned extra arguments (and `watch`'s own). */
export const cliArgs = (sub: string, hh: string, scan: string, cfg: string): string[] => [
  CLI,
  sub,
  '--hermes-home',
  hh,
  '--scandir',
  scan,
  '--config',
  cfg,
  ...EXTRA_ARGS,
  ...(sub === 'watch' ? WATCH_ARGS : []),
];

/** A subcommand that parses but says it is not implemented (exit 100) at run time. */
export class NotAvailable extends Error {}

/** The first non-empty line of a text. */
export const firstLine = (t: string | undefined): string =>
  (t ?? '')
    .trim()
    .split('\n')
    .find((l) => l.trim()) ?? '';

/** Records that `sub` turned out to be unavailable (once). */
export function markUnavailable(cli: Record<string, Availability>, sub: string, why: string): void {
  if (!cli[sub]?.available) return;
  cli[sub] = { available: false, why };
  note(`${sub}: not available (${why}) – skipped`);
}

/**
 * Fingerprint of the CLI build (path, size, mtime of every .js under the CLI's dist/src), taken
 * at start and end: a rebuild in the middle of a run would mix two builds in one table.
 */
export function buildFingerprint(): Fingerprint {
  const root = path.resolve(path.dirname(CLI), '..');
  const parts: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        try {
          const st = fs.statSync(p);
          parts.push(`${p}:${st.size}:${st.mtimeMs}`);
        } catch {
          /* racing a rebuild */
        }
      }
    }
  };
  walk(root);
  parts.sort();
  let h = 0;
  for (const c of parts.join('\n')) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return { files: parts.length, hash: (h >>> 0).toString(16) };
}

/** Does the CLI have `sub`? Unavailable when `sub --help` exits 100 or says "unknown command". */
export function probe(sub: string): Availability {
  if (!fs.existsSync(CLI)) return { available: false, why: `${path.relative(REPO, CLI) || CLI} not found (not built yet?)` };
  const r = spawnSync(process.execPath, [CLI, sub, '--help'], { encoding: 'utf8', timeout: 30000, env: childEnv(), cwd: scratchRoot() });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) return { available: false, why: String(r.error.message) };
  if (r.status === 100 || /unknown command/i.test(text)) {
    return { available: false, why: `\`${sub} --help\` exited ${r.status}: ${text.trim().split('\n')[0]?.slice(0, 120)}` };
  }
  return { available: true, helpExit: r.status };
}

/**
 * What the fake s6-svscan does with a rescan (`a`, `an`): it "supervises" every slot and its logger
 * that have no `supervise/status` yet by writing one, so the tool sees the slots picked up, as under
 * a real s6-svscan, plans no `pickup` for them again, and reads each logger's state as it does under
 * s6. A slot's is 35 zero bytes (a supervisor that ran, the gateway down, as in every round before);
 * a logger's says up since the rescan, as a working s6-log is (all zeros made every logger
 * LoggerDown: 10,000 conditions that no real pass carries). Opened read-write, the FIFO never reads
 * EOF however many writers come and go.
 */
const SVSCAN_STUB = `
const fs = require('fs'), path = require('path');
const [fifo, scan] = process.argv.slice(1);
const fd = fs.openSync(fifo, fs.constants.O_RDWR);
const buf = Buffer.alloc(4096);
let held = [];
for (;;) {
  const n = fs.readSync(fd, buf, 0, buf.length, null);
  if (!buf.subarray(0, n).includes(0x61)) continue;
  // As s6-supervise does at start: a status, an empty death tally, and a reader on its control FIFO.
  for (const f of held) fs.closeSync(f);
  held = [];
  // Up (pid 1, want up) since now: TAI64N label 2^62 + 37 + unix seconds, as s6 writes it.
  const up = Buffer.alloc(35);
  up.writeBigUInt64BE((1n << 62n) + 37n + BigInt(Math.floor(Date.now() / 1000)), 0);
  up.writeBigUInt64BE(1n, 24);
  up[34] = 4;
  for (const e of fs.readdirSync(scan)) {
    if (e.startsWith('.')) continue;
    for (const sub of ['supervise', 'log/supervise']) {
      const dir = path.join(scan, e, sub);
      const status = sub === 'supervise' ? Buffer.alloc(35) : up;
      try { if (!fs.existsSync(path.join(dir, 'status'))) fs.writeFileSync(path.join(dir, 'status'), status); } catch {}
      try { if (!fs.existsSync(path.join(dir, 'death_tally'))) fs.writeFileSync(path.join(dir, 'death_tally'), ''); } catch {}
      try { held.push(fs.openSync(path.join(dir, 'control'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)); } catch {}
    }
  }
}`;

/** Fake s6-svscan: a FIFO .s6-svscan/control with a reader, so s6-svscanctl succeeds; a rescan "supervises" new slots. */
export function startSvscanStub(scan: string): ChildProcess {
  fs.mkdirSync(path.join(scan, '.s6-svscan'), { recursive: true });
  const fifo = path.join(scan, '.s6-svscan', 'control');
  if (!fs.existsSync(fifo)) spawnSync('mkfifo', ['-m', '0600', fifo]);
  // It holds a reader on two control FIFOs a slot, as its s6-supervise processes would: 20,002 at
  // N=10000, past the usual 20,000 descriptors. Root may raise the limit; anyone else keeps theirs.
  const stub = ['-c', 'ulimit -n 65536 2>/dev/null; exec "$0" "$@"', process.execPath, '-e', SVSCAN_STUB, fifo, scan];
  return track(spawn('/bin/sh', stub, { detached: true, stdio: 'ignore' }), 'svscan-stub');
}

/** rm -rf is ~30% faster than fs.rmSync on 10 000 slots; untimed, but it adds up. */
export function rmrfSync(...paths: string[]): void {
  if (!paths.length) return;
  const r = spawnSync('rm', ['-rf', '--', ...paths], { stdio: 'ignore' });
  if (r.status !== 0) for (const p of paths) fs.rmSync(p, { recursive: true, force: true });
}

/** Removes every entry of the scandir but .s6-svscan. */
export function clearSlots(scan: string): void {
  rmrfSync(...slotEntries(scan).map((e) => path.join(scan, e)));
}

const slotEntries = (scan: string): string[] => fs.readdirSync(scan).filter((e) => e !== '.s6-svscan');

/** Non-dot entries of the scandir (the slots). */
export const slotCount = (scan: string): number => slotEntries(scan).filter((e) => !e.startsWith('.')).length;

/** The slot dir of a profile: <scandir>/gateway-<name>. */
export const slotDirOf = (scan: string, name: string): string => path.join(scan, `gateway-${name}`);
