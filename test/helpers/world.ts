/**
 * Scratch worlds the CLI runs on: a HERMES_HOME, a scandir and a config file under one temp dir, the
 * one way to write profiles and config into them, and their cleanup. Re-exported by `cli.ts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { removeTree, tempDir } from './tree.js';

/** Settings tests run real trees with: a shell shebang, nobody:nogroup (65534) as the hermes user. */
export const TEST_SETTINGS = {
  shebang: '#!/bin/sh',
  user: 'nobody',
  gatewayCommand: '/bin/true',
  home: '/tmp',
  s6BinDir: '/usr/bin',
  uid: 65534,
  gid: 65534,
} as const;

/** Config settings: keys of the config file. */
export type Settings = Readonly<Record<string, unknown>>;

/** A scratch tree: `root/home` (HERMES_HOME), `root/scan` (scandir), `root/config.json`. */
export interface World {
  readonly root: string;
  readonly home: string;
  readonly scandir: string;
  readonly config: string;
}

/** Options of {@link makeWorld}. */
export interface WorldOptions {
  /** Config keys over {@link TEST_SETTINGS}, written to `config`; `false` writes no config file. */
  readonly settings?: Settings | false;
  /** Create `home/profiles/` and the scandir (`'all'`, the default), only `home/` (`'home'`) or nothing, 0755. */
  readonly create?: 'none' | 'home' | 'all';
  /** The scandir's path under the root (default `scan`). */
  readonly scandir?: string;
  /** Make the world under this directory (a private tmpfs, say) instead of the system temp dir. */
  readonly parent?: string;
}

const made = new Set<string>();

/**
 * Creates a world whose root the unprivileged user can traverse (0755), remembered for
 * {@link removeWorlds}.
 */
export async function makeWorld(prefix: string, opts: WorldOptions = {}): Promise<World> {
  const root = opts.parent === undefined ? await tempDir(`rg-${prefix}-`) : fs.mkdtempSync(path.join(opts.parent, `${prefix}-`));
  made.add(root);
  fs.chmodSync(root, 0o755);
  const world = {
    root,
    home: path.join(root, 'home'),
    scandir: path.join(root, opts.scandir ?? 'scan'),
    config: path.join(root, 'config.json'),
  };
  const create = opts.create ?? 'all';
  if (create === 'home') fs.mkdirSync(world.home, { mode: 0o755 });
  if (create === 'all') {
    fs.mkdirSync(path.join(world.home, 'profiles'), { recursive: true, mode: 0o755 });
    fs.mkdirSync(world.scandir, { recursive: true, mode: 0o755 });
  }
  if (opts.settings !== false) writeConfig(world, opts.settings);
  return world;
}

/** (Re)writes the world's config: {@link TEST_SETTINGS} with `settings` over them, or `settings` alone when `bare`. */
export function writeConfig(world: World, settings: Settings = {}, bare = false): string {
  fs.writeFileSync(world.config, JSON.stringify(bare ? settings : { ...TEST_SETTINGS, ...settings }));
  return world.config;
}

/** The flags naming the world's trees and config; `containerArgv` undefined leaves `--container-argv` out. */
export function worldArgs(world: World, containerArgv: readonly string[] | undefined = []): string[] {
  const argv = containerArgv === undefined ? [] : ['--container-argv', JSON.stringify(containerArgv)];
  return ['--hermes-home', world.home, '--scandir', world.scandir, '--config', world.config, ...argv];
}

/** Creates (or rewrites) profile `name` under `home`: SOUL.md and, if given, its state file (object or raw text). */
export function writeProfile(home: string, name: string, state?: object | string): void {
  const dir = path.join(home, 'profiles', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'SOUL.md'), 'soul\n');
  if (state !== undefined) writeState(path.join(dir, 'gateway_state.json'), state);
}

/** Writes named profiles whose state file holds `desired_state: intent` (none when undefined). */
export function writeProfiles(home: string, intents: Readonly<Record<string, string | undefined>>): void {
  for (const [name, intent] of Object.entries(intents))
    writeProfile(home, name, intent === undefined ? undefined : { desired_state: intent });
}

/** Writes a state file atomically (temp + rename), the way Hermes does. */
export function writeState(file: string, value: object | string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, typeof value === 'string' ? value : JSON.stringify(value));
  fs.renameSync(tmp, file);
}

/** Removes one world now (after lifting any immutable bit a test left). */
export async function removeWorld(world: World | undefined): Promise<void> {
  if (world === undefined) return;
  made.delete(world.root);
  await removeTree(world.root);
}

/** Removes every world this process made, also those of failed tests (call it in `test.after.always`). */
export async function removeWorlds(): Promise<void> {
  const roots = [...made];
  made.clear();
  await Promise.all(roots.map((root) => removeTree(root)));
}

/** A world with a `cleanup`: an existing empty HERMES_HOME, a scandir `run/service` not yet created, no config. */
export interface Sandbox extends World {
  cleanup(): Promise<void>;
}

/** Creates a {@link Sandbox} (for tests that run one world each and remove it in `t.teardown`). */
export async function sandbox(): Promise<Sandbox> {
  const world = await makeWorld('cli', { create: 'home', scandir: path.join('run', 'service'), settings: false });
  return { ...world, cleanup: () => removeWorld(world) };
}
