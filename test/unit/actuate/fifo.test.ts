/**
 * src/actuate/fifo.ts: one batched mkfifo(1) makes the control FIFOs of new slots, relative to an
 * open directory (so a path renamed or swapped meanwhile cannot redirect it), and reports each
 * failure as text instead of throwing.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { makeFifos } from '../../../src/actuate/fifo.js';
import { closeDir, openDirAt } from '../../../src/safe-fs/index.js';
import { needsRoot } from '../../helpers/needs.js';
import { modeOf, tempRoot } from '../support.js';

test('every FIFO is made with its mode and no error is reported', async (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 's0', 'supervise'), { recursive: true });
  fs.mkdirSync(path.join(root, 's0', 'log', 'supervise'), { recursive: true });
  t.is((await makeFifos(dir, ['s0/supervise/control', 's0/log/supervise/control'], 0o600)).errors, '');
  for (const p of ['s0/supervise/control', 's0/log/supervise/control']) {
    t.true(fs.lstatSync(path.join(root, p)).isFIFO(), p);
    t.is(modeOf(path.join(root, p)), 0o600, p);
  }
});

test('paths resolve in the directory that was opened, even after it was renamed and replaced', async (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'staging'));
  const staging = openDirAt(dir, 'staging');
  t.teardown(() => closeDir(staging));
  fs.renameSync(path.join(root, 'staging'), path.join(root, 'moved'));
  fs.mkdirSync(path.join(root, 'staging'));
  t.is((await makeFifos(staging, ['control'], 0o600)).errors, '');
  t.true(fs.lstatSync(path.join(root, 'moved', 'control')).isFIFO());
  t.deepEqual(fs.readdirSync(path.join(root, 'staging')), []);
});

test('failures are reported line by line and the other FIFOs are still made', async (t) => {
  const { root, dir } = tempRoot(t);
  fs.writeFileSync(path.join(root, 'taken'), '');
  const { errors } = await makeFifos(dir, ['missing-dir/control', 'taken', 'ok'], 0o600);
  const lines = errors.trim().split('\n');
  t.is(lines.length, 2, errors);
  t.true(lines[0]?.includes('missing-dir/control'), errors);
  t.true(lines[1]?.includes('taken'), errors);
  t.true(fs.lstatSync(path.join(root, 'ok')).isFIFO());
  t.true(fs.lstatSync(path.join(root, 'taken')).isFile(), 'an existing entry is not replaced');
});

test('more paths than one argv holds are split across several mkfifo runs, all made', async (t) => {
  const { root, dir } = tempRoot(t);
  // 190 paths of ~3 KB (long directory names, short FIFO names): over the 512 KiB argv budget of one run.
  const deep = Array.from({ length: 12 }, (_, i) => `${i}${'d'.repeat(249)}`).join('/');
  fs.mkdirSync(path.join(root, deep), { recursive: true });
  const paths = Array.from({ length: 190 }, (_, i) => `${deep}/f${i}`);
  t.true(paths.reduce((n, p) => n + p.length + 1, 0) > 512 * 1024);
  t.is((await makeFifos(dir, paths, 0o600)).errors, '');
  const made = fs.readdirSync(path.join(root, deep));
  t.is(made.length, paths.length);
  t.true(made.every((name) => fs.lstatSync(path.join(root, deep, name)).isFIFO()));
});

test('a name starting with a dash is a path, not an option', async (t) => {
  const { root, dir } = tempRoot(t);
  t.is((await makeFifos(dir, ['-m'], 0o600)).errors, '');
  t.true(fs.lstatSync(path.join(root, '-m')).isFIFO());
});

needsRoot(test)('with a group, mkfifo runs with it: the FIFOs are made root:group with their mode, no chown needed', async (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 's0'));
  t.deepEqual(await makeFifos(dir, ['s0/control', 'top'], 0o620, 65534), { errors: '', withGroup: true });
  for (const p of ['s0/control', 'top']) {
    const st = fs.lstatSync(path.join(root, p));
    t.true(st.isFIFO(), p);
    t.is(`${st.uid}:${st.gid}`, '0:65534', p);
    t.is(modeOf(path.join(root, p)), 0o620, p);
  }
});
