/**
 * Runs the built CLI (`bin/reconcile-gateways.cjs`) as a child process for the host tests, with a
 * hermetic environment: only PATH and TZ are inherited, so a developer's GATEWAY_MULTIPLEX_PROFILES
 * or RECONCILE_GATEWAYS_ROLE can never leak into a test.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeTree, tempDir } from '../helpers/tree.js';
import { type TestWorld, TEST_SETTINGS, runCli as runBuiltCli } from '../helpers/cli.js';

/** What one CLI run produced. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `reconcile-gateways <args>` with only PATH/TZ plus `env` in the environment. */
export function runCli(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<CliRun> {
  return runBuiltCli(args, { baseEnv: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TZ: 'UTC' }, env, timeoutMs: 60_000 });
}

/** A test world: HERMES_HOME, a scandir path (not created) and a config file, under one temp dir. */
export type World = TestWorld;

/** Settings every host test uses: uid/gid 65534 so ownership is observable when run as root. */
export const TEST_CONFIG = TEST_SETTINGS;

const created = new Set<string>();

/** Creates a world; `config` keys are merged over {@link TEST_CONFIG}. Removed by {@link removeWorlds}. */
export async function makeWorld(prefix: string, config: Readonly<Record<string, unknown>> = {}): Promise<World> {
  const root = await tempDir(`rg-host-${prefix}-`);
  created.add(root);
  const world = { root, home: path.join(root, 'home'), scandir: path.join(root, 'scan'), config: path.join(root, 'config.json') };
  await writeFile(world.config, JSON.stringify({ ...TEST_CONFIG, ...config }));
  return world;
}

/** Arguments naming the world's trees and config, after the command. */
export function worldArgs(w: World, containerArgv: readonly string[] | undefined = []): string[] {
  const argv = containerArgv === undefined ? [] : ['--container-argv', JSON.stringify(containerArgv)];
  return ['--hermes-home', w.home, '--scandir', w.scandir, '--config', w.config, ...argv];
}

/** The per-profile stdout lines (`reconcile: profile=...`) of a text run. */
export function profileLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('reconcile: profile='));
}

/** Parses the JSON document printed on stdout by `--output json`. */
export function jsonDoc(run: CliRun): Record<string, unknown> {
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** Removes every world this process created, also those of failed tests (`test.after.always`). */
export async function removeWorlds(): Promise<void> {
  await Promise.all([...created].map((root) => removeTree(root)));
  created.clear();
}
