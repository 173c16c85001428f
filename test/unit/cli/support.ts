/**
 * What the CLI unit tests share: an Io that keeps what a command printed, a logger that keeps its
 * records (the real one writes to this process's stderr, which a test cannot read back), parsed
 * arguments for a sandbox, and a HERMES_HOME + scandir world removed at teardown.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { type Args, parseCliArgs } from '../../../src/cli/args.js';
import type { Fields, Level, Logger } from '../../../src/cli/logger.js';
import type { Io } from '../../../src/cli/pass.js';
import { type Sandbox, TEST_SETTINGS, sandbox, writeConfig } from '../../helpers/cli.js';
import { makeHermesHome } from '../../helpers/tree.js';

/** An Io whose output is kept. */
export interface CapturedIo extends Io {
  readonly out: () => string;
  readonly err: () => string;
}

/** An Io writing into strings; `isTTY` as given, `env` empty unless given. */
export function captureIo(env: NodeJS.ProcessEnv = {}, isTTY = false): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (c: string) => (out += c), isTTY },
    stderr: { write: (c: string) => (err += c) },
    env,
    out: () => out,
    err: () => err,
  };
}

/** One kept log record. */
export interface LogRecord {
  readonly level: Level;
  readonly message: string;
  readonly fields: Fields;
}

/** A Logger keeping every record, and the records. */
export function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = (level: Level, message: string, fields: Fields = {}): void => void records.push({ level, message, fields });
  return {
    records,
    logger: {
      log,
      error: (m, f) => log('error', m, f),
      warn: (m, f) => log('warn', m, f),
      info: (m, f) => log('info', m, f),
      debug: (m, f) => log('debug', m, f),
    },
  };
}

/** A sandbox with profiles and a config holding TEST_SETTINGS. */
export interface World extends Sandbox {
  readonly configFile: string;
  readonly statusFile: string;
  /** Parses `command` with the sandbox's paths, an empty container argv and `extra`. */
  args(command: string, ...extra: string[]): Args;
}

/**
 * Creates a world with `profiles` (name → state) and removes it at teardown. Its scandir exists, as
 * on a running container (sync and watch never create one), unless `scandir` is `'missing'`.
 */
export async function world(
  t: ExecutionContext,
  profiles: Readonly<Record<string, object>> = {},
  { scandir = 'made' }: { readonly scandir?: 'made' | 'missing' } = {},
): Promise<World> {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, Object.fromEntries(Object.entries(profiles).map(([n, state]) => [n, { state }])));
  if (scandir === 'made') fs.mkdirSync(box.scandir, { recursive: true, mode: 0o755 });
  const configFile = writeConfig(box, TEST_SETTINGS, true);
  const statusFile = path.join(box.root, 'status', 'status.json');
  const args = (command: string, ...extra: string[]): Args => {
    const argv = [command, '--hermes-home', box.home, '--scandir', box.scandir, '--config', configFile, '--container-argv', '[]'];
    if (command === 'watch' || command === 'status') argv.push('--status-file', statusFile);
    const parsed = parseCliArgs([...argv, ...extra], {});
    if (parsed.kind !== 'run') throw new Error(`not a run: ${argv.join(' ')}`);
    return parsed.args;
  };
  return { ...box, configFile, statusFile, args };
}

/** Lines of `text`, without the empty one after the final newline. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
}
