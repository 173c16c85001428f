/**
 * flock(1) and mkfifo(1) run as root, so they are found in fixed system directories, never on
 * PATH (issue 16, item 14): a directory on root's PATH that another user can write must not decide
 * what root runs.
 */
import test from 'ava';
import { chmod, lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FatalError } from '../../src/errors.js';
import { SYSTEM_DIRS, findProgram, systemProgram } from '../../src/system-programs.js';
import { bootArgs, runCli, sandbox } from '../helpers/cli.js';
import { makeHermesHome, removeTree, tempDir } from '../helpers/tree.js';

test('findProgram takes the first executable regular file, in the order of the directories given', async (t) => {
  const root = await tempDir('rg-programs-');
  t.teardown(() => removeTree(root));
  const [a, b, c] = ['a', 'b', 'c'].map((d) => path.join(root, d)) as [string, string, string];
  for (const d of [a, b, c]) await mkdir(d);
  await writeFile(path.join(a, 'flock'), '#!/bin/sh\n', { mode: 0o644 }); // not executable
  await mkdir(path.join(b, 'flock')); // a directory
  await writeFile(path.join(c, 'flock'), '#!/bin/sh\n', { mode: 0o755 });
  t.is(findProgram('flock', [a, b, c]), path.join(c, 'flock'));
});

test('a program missing from every system directory is a fatal error naming it, where it looked and what to install', async (t) => {
  const empty = await tempDir('rg-programs-');
  t.teardown(() => removeTree(empty));
  const err = t.throws(() => findProgram('mkfifo', [empty, path.join(empty, 'nope')]), { instanceOf: FatalError });
  t.is(
    err?.message,
    `mkfifo(1) was not found in ${empty}, ${path.join(empty, 'nope')} (it is never looked up on PATH): install coreutils in the image`,
  );
});

test('the system programs resolve to absolute paths in the system directories, whatever PATH says', (t) => {
  const saved = process.env['PATH'];
  process.env['PATH'] = '/nonexistent';
  try {
    for (const name of ['flock', 'mkfifo'] as const) {
      const file = systemProgram(name);
      t.true(SYSTEM_DIRS.includes(path.dirname(file)), file);
      t.is(path.basename(file), name);
    }
  } finally {
    process.env['PATH'] = saved;
  }
});

test('a hostile directory first on PATH holding fake flock and mkfifo is never run: the lock and the FIFOs come from the system ones', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const hostile = path.join(box.root, 'hostile-bin');
  const marker = path.join(box.root, 'hostile-ran');
  await mkdir(hostile);
  await chmod(hostile, 0o777); // the hermes-writable directory of the attack
  for (const name of ['flock', 'mkfifo']) {
    // Exits 0 as if it had done its job, so only the marker (or a missing FIFO) can tell.
    await writeFile(path.join(hostile, name), `#!/bin/sh\necho ${name} >> ${marker}\nexit 0\n`, { mode: 0o755 });
  }
  await makeHermesHome(box.home, { coder: { state: { desired_state: 'running' } } });
  const env = { PATH: `${hostile}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
  const r = await runCli(bootArgs(box.home, box.scandir), { baseEnv: { ...env, TZ: 'UTC' } });
  t.is(r.code, 0, r.stderr);
  await t.throwsAsync(readFile(marker, 'utf8'), { code: 'ENOENT' }, 'a program from the hostile PATH directory ran');
  for (const slot of ['gateway-default', 'gateway-coder']) {
    t.true((await lstat(path.join(box.scandir, slot, 'supervise', 'control'))).isFIFO(), `${slot}/supervise/control is a FIFO`);
  }
});
