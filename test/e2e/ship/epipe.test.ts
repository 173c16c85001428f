/**
 * bin/reconcile-gateways.cjs: a reader that goes away (`| head`, `| true`) drops the rest of the
 * report; the pass that was applied keeps its own exit code instead of a crash with exit 1.
 */
import { execFile } from 'node:child_process';
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
