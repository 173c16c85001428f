/**
 * bin/reconcile-gateways.cjs: a reader that goes away (`| head`, `| true`) drops the rest of the
 * report; the pass that was applied keeps its own exit code instead of a crash with exit 1. A
 * stdout that cannot be written (a full disk) is one line: exit 111, or for `watch` it goes on.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { sandbox } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/s6.js';

test('boot piped into a reader that exits at once still exits 0 with every slot built', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  // Enough profiles that the report overflows a pipe's 64 KiB buffer.
  const names = Array.from({ length: 1200 }, (_, i) => `p${i}`);
  for (const name of names) {
    await mkdir(path.join(box.home, 'profiles', name), { recursive: true });
    await writeFile(path.join(box.home, 'profiles', name, 'SOUL.md'), '');
  }
  const bin = path.join(repoRoot(), 'bin', 'reconcile-gateways.cjs');
  const script = `"${process.execPath}" "${bin}" boot --hermes-home "$1" --scandir "$2" --container-argv '[]' | true; echo "exit=\${PIPESTATUS[0]}" >&2`;
  const stderr = await new Promise<string>((resolve, reject) => {
    execFile('bash', ['-c', script, 'bash', box.home, box.scandir], { timeout: 120_000 }, (error, _out, err) =>
      error === null ? resolve(err) : reject(error),
    );
  });
  t.false(stderr.includes('EPIPE'), stderr);
  t.true(stderr.trimEnd().endsWith('exit=0'), stderr);
  t.is((await readdir(box.scandir)).filter((e) => e.startsWith('gateway-')).length, names.length + 1);
});

test('stdout that cannot be written (a full disk) is one error line and exit 111, not a stack trace', async (t) => {
  const bin = path.join(repoRoot(), 'bin', 'reconcile-gateways.cjs');
  for (const args of [['--help'], ['boot', '--help'], ['--version']]) {
    const script = `"${process.execPath}" "${bin}" "$@" >/dev/full; echo "exit=$?" >&2`;
    const stderr = await new Promise<string>((resolve, reject) => {
      execFile('bash', ['-c', script, 'bash', ...args], { timeout: 60_000 }, (error, _out, err) =>
        error === null ? resolve(err) : reject(error),
      );
    });
    t.is(
      stderr,
      'reconcile-gateways: error: cannot write to stdout (ENOSPC: no space left on device); the report is lost\nexit=111\n',
      args.join(' '),
    );
  }
});

test('a watcher whose stdout cannot be written says so once and goes on; SIGTERM still exits 0', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(path.join(box.home, 'profiles', 'a'), { recursive: true });
  await writeFile(path.join(box.home, 'profiles', 'a', 'SOUL.md'), '');
  await mkdir(box.scandir, { recursive: true });
  const bin = path.join(repoRoot(), 'bin', 'reconcile-gateways.cjs');
  const full = openSync('/dev/full', 'w');
  const args = ['watch', '--hermes-home', box.home, '--scandir', box.scandir, '--container-argv', '[]'];
  const child = spawn(process.execPath, [bin, ...args, '--status-file', path.join(box.root, 'status.json'), '--ready-fd', '3'], {
    stdio: ['ignore', full, 'pipe', 'pipe'],
  });
  closeSync(full);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Ready after its first pass, whose line (a create) could not be written.
  await new Promise((resolve) => child.stdio[3]?.once('data', resolve));
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  t.deepEqual(
    stderr.split('\n').filter((l) => l.includes('cannot write to stdout')),
    [
      'reconcile-gateways: error: cannot write to stdout (ENOSPC: no space left on device); pass lines are lost from now on (the status file still reports)',
    ],
  );
  t.true(existsSync(path.join(box.scandir, 'gateway-a', 'run')), 'the pass was applied');
});
