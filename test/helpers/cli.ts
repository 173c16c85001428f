/**
 * Runs the real CLI (`node bin/reconcile-gateways.cjs`, the installed command) as a child process on temp directories, with a
 * clean environment so the host's HERMES_HOME or scandir can never leak into a test.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeTree, tempDir } from './tree.js';
import { repoRoot } from './s6.js';

/** The CLI command as installed: the bin, which loads the bundle (dist/reconcile-gateways.cjs). */
export const MAIN = path.join(repoRoot(), 'bin', 'reconcile-gateways.cjs');

/** Settings tests run real trees with: a shell shebang, nobody:nogroup as the hermes user. */
export const TEST_SETTINGS = {
  shebang: '#!/bin/sh',
  user: 'nobody',
  gatewayCommand: '/bin/true',
  home: '/tmp',
  s6BinDir: '/usr/bin',
  uid: 65534,
  gid: 65534,
} as const;

/** A scratch tree: `root/home` (HERMES_HOME), `root/scan` (scandir), `root/config.json`. */
export interface TestWorld {
  readonly root: string;
  readonly home: string;
  readonly scandir: string;
  readonly config: string;
}

/** What a CLI run printed and returned. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runCli}. */
export interface CliOptions {
  /** The environment to start from (default: PATH, HOME and TZ=UTC only). */
  readonly baseEnv?: NodeJS.ProcessEnv;
  /** Extra environment, on top of the base. */
  readonly env?: Readonly<Record<string, string>>;
  /** Liveness deadline: the child is killed after it (default 60 s: the machine may be loaded). */
  readonly timeoutMs?: number;
  /** The node binary (default: the one running the tests). */
  readonly node?: string;
  /** The CLI file to run (default {@link MAIN}). */
  readonly main?: string;
}

/** Runs the CLI with `args` and resolves with its exit code and output; never rejects on a non-zero exit. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const base = opts.baseEnv ?? { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', TZ: 'UTC' };
  const env = { ...base, ...opts.env };
  return new Promise((resolve, reject) => {
    execFile(
      opts.node ?? process.execPath,
      [opts.main ?? MAIN, ...args],
      { env, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) resolve({ code: 0, stdout, stderr });
        else if (typeof error.code === 'number') resolve({ code: error.code, stdout, stderr });
        else reject(new Error(`CLI did not exit normally (${error.signal ?? String(error.code)}): ${stderr}`, { cause: error }));
      },
    );
  });
}

/** `boot` arguments for a home and a scandir (container argv forced empty, like upstream's tests). */
export function bootArgs(hermesHome: string, scandir: string, ...extra: string[]): string[] {
  return ['boot', '--hermes-home', hermesHome, '--scandir', scandir, '--container-argv', '[]', ...extra];
}

/** A `--output json` run: the exit code, the parsed document and stderr. */
export interface JsonRun {
  readonly code: number;
  readonly doc: Record<string, unknown>;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `boot --output json` and parses stdout, which must be exactly one JSON document. */
export async function bootJson(
  hermesHome: string,
  scandir: string,
  extra: readonly string[] = [],
  opts: CliOptions = {},
): Promise<JsonRun> {
  const r = await runCli(bootArgs(hermesHome, scandir, '--output', 'json', ...extra), opts);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`stdout is not one JSON document (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`, { cause: err });
  }
  return { code: r.code, doc, stdout: r.stdout, stderr: r.stderr };
}

/** A temp sandbox: `home` (an existing empty HERMES_HOME), `scandir` (not yet created), `root`. */
export interface Sandbox {
  readonly root: string;
  readonly home: string;
  readonly scandir: string;
  /** Writes a config file with `settings` and returns its path. */
  config(settings: Readonly<Record<string, unknown>>): Promise<string>;
  cleanup(): Promise<void>;
}

/** Creates a sandbox under os.tmpdir(). */
export async function sandbox(): Promise<Sandbox> {
  const root = await tempDir('rg-cli-');
  const home = path.join(root, 'home');
  const scandir = path.join(root, 'run', 'service');
  await mkdir(home);
  let n = 0;
  return {
    root,
    home,
    scandir,
    async config(settings) {
      n += 1;
      const file = path.join(root, `config-${n}.json`);
      await writeFile(file, JSON.stringify(settings));
      return file;
    },
    cleanup: () => removeTree(root),
  };
}
