/**
 * The program: main.js runs the CLI on process.argv and sets process.exitCode. Run as a child
 * (the real program), plus once in-process so its module is imported by a unit test.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { packageVersion } from '../../../src/cli/help.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

function main(...args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    timeout: 60_000,
  });
}

test('the program prints the version and exits 0', (t) => {
  const r = main('--version');
  t.is(r.status, 0);
  t.is(r.stdout, `reconcile-gateways ${packageVersion()}\n`);
});

test('a mistyped command exits 100 with one error record and the usage on stderr', (t) => {
  const r = main('snyc');
  t.is(r.status, 100);
  t.is(r.stdout, '');
  const lines = r.stderr.split('\n');
  t.is(lines[0], 'reconcile-gateways: error: unknown command "snyc" (did you mean sync?)');
  t.is(lines[2], 'usage: reconcile-gateways <command> [options]');
});

test('a reader that went away (| head) costs no crash and no stack trace', async (t) => {
  const child = spawn(process.execPath, [MAIN, 'sync', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the program writes
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.is(code, 0);
  t.is(stderr, '');
});

test.serial('imported in-process it runs process.argv and sets the exit code', async (t) => {
  const argv = process.argv;
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.argv = [process.execPath, MAIN, '--version'];
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await import('../../../src/cli/main.js');
    for (let i = 0; i < 1000 && (out === '' || process.exitCode === undefined); i++) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.stdout.write = write;
    process.argv = argv;
  }
  t.is(out, `reconcile-gateways ${packageVersion()}\n`);
  t.is(process.exitCode, 0);
  process.exitCode = undefined;
});
