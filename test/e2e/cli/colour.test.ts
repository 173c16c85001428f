/**
 * Colour on a real terminal: `--diff` run under script(1), so stdout is a pty. Text is escaped
 * first and painted after, so the only control sequences a terminal receives are our colours, and
 * a control character from a file shows as a visible escape. NO_COLOR and pipes stay plain.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bootArgs, MAIN, runCli, sandbox } from '../../helpers/cli.js';
import { makeHermesHome } from '../../helpers/tree.js';

const ESC = '\u001b';

/** Single-quotes `s` for sh. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs the CLI on a pseudo-terminal (script -q -e -c) and returns its exit code and output. */
function runOnTerminal(args: readonly string[], env: Readonly<Record<string, string>>): Promise<{ code: number; output: string }> {
  const command = [process.execPath, MAIN, ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      'script',
      ['-q', '-e', '-c', command, '/dev/null'],
      { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TZ: 'UTC', TERM: 'xterm', ...env }, encoding: 'utf8', timeout: 60_000 },
      (error, stdout) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ code: error === null ? 0 : Number(error.code), output: stdout.replace(/\r\n/g, '\n') });
      },
    );
  });
}

async function modifiedSlot(t: import('ava').ExecutionContext): Promise<string[]> {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  t.is((await runCli(bootArgs(box.home, box.scandir))).code, 0);
  // A control sequence inside the file: it must reach the terminal escaped, never raw.
  await writeFile(path.join(box.scandir, 'gateway-coder/run'), `#!/bin/sh\nexec ${ESC}[31mstale\n`, { mode: 0o755 });
  return bootArgs(box.home, box.scandir, '--diff');
}

test('--diff on a terminal paints the kind and the hunks, with raw colour codes only around escaped text', async (t) => {
  const args = await modifiedSlot(t);
  const r = await runOnTerminal(args, {});
  t.is(r.code, 1, r.output);
  const lines = r.output.split('\n');
  t.true(lines.includes(`gateway-coder ${ESC}[33mupdate${ESC}[39m: run write`), r.output);
  t.true(lines.includes(`${ESC}[31m-exec \\x1b[31mstale${ESC}[39m`), 'the removed line is red and its control character escaped');
  t.false(r.output.includes('\\x1b[33m'), 'no colour code of ours is escaped');
  t.false(r.output.includes('\\x1b[39m'), 'no colour code of ours is escaped');
});

test('--diff on a terminal with NO_COLOR set prints no control sequence at all', async (t) => {
  const args = await modifiedSlot(t);
  const r = await runOnTerminal(args, { NO_COLOR: '1' });
  t.is(r.code, 1, r.output);
  t.false(r.output.includes(ESC), r.output);
  t.true(r.output.split('\n').includes('gateway-coder update: run write'));
});

test('--diff into a pipe prints no control sequence at all', async (t) => {
  const args = await modifiedSlot(t);
  const r = await runCli(args);
  t.is(r.code, 1, r.stderr);
  t.false(r.stdout.includes(ESC));
  t.true(r.stdout.split('\n').includes('-exec \\x1b[31mstale'));
});
