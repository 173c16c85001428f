/**
 * src/state-dir/: the tool's private state directory in the scandir. Runs that start together
 * on a new scandir (boot and an operator's sync, say) must all end up in the one directory: none
 * may delete the directory another just made, or fail because it appeared meanwhile.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { type Dir, closeDir } from '../../../src/safe-fs/index.js';
import { STATE_DIR, STATE_MARKER, TRASH_DIR, type TakeOverReport, checkStateDir, openStateDir } from '../../../src/state-dir/index.js';
import { listenOnControl, superviseStandIn, svscanStandIn, workerIn } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { modeOf, tempRoot } from '../support.js';

const STATE_DIR_MODULE = fileURLToPath(new URL('../../../src/state-dir/index.js', import.meta.url));
const SAFE_FS_MODULE = fileURLToPath(new URL('../../../src/safe-fs/index.js', import.meta.url));

/** Makes the state directory of `root` foreign (0755), has it replaced, and says what was taken over. */
function replaceForeign(root: string, dir: Dir): TakeOverReport {
  fs.chmodSync(path.join(root, STATE_DIR), 0o755);
  const report: TakeOverReport = { moved: [], kept: [] };
  const made = openStateDir(dir, true, report);
  if (made !== undefined) closeDir(made);
  return report;
}

test('a missing state directory is made 0700; a foreign one is replaced; without create neither is used', (t) => {
  const { root, dir } = tempRoot(t);
  t.is(openStateDir(dir, false), undefined);
  t.false(fs.existsSync(path.join(root, STATE_DIR)));
  const made = openStateDir(dir, true);
  t.truthy(made);
  if (made !== undefined) closeDir(made);
  t.is(modeOf(path.join(root, STATE_DIR)), 0o700);
  fs.chmodSync(path.join(root, STATE_DIR), 0o755);
  fs.writeFileSync(path.join(root, STATE_DIR, 'planted'), '');
  t.is(openStateDir(dir, false), undefined, 'a state directory others may read is not ours');
  const remade = openStateDir(dir, true);
  if (remade !== undefined) closeDir(remade);
  t.is(modeOf(path.join(root, STATE_DIR)), 0o700);
  t.false(fs.existsSync(path.join(root, STATE_DIR, 'planted')), 'nothing of the foreign one survives');
});

test('replacing a foreign state directory takes over the trashed slots whose supervisors still run, and deletes the rest', (t) => {
  const { root, dir } = tempRoot(t);
  const oldTrash = path.join(root, STATE_DIR, TRASH_DIR);
  const running = superviseStandIn(t, path.join(oldTrash, 'gateway-running', 'supervise'));
  fs.mkdirSync(path.join(oldTrash, 'gateway-idle'));
  fs.writeFileSync(path.join(root, STATE_DIR, 'journal'), '{}');
  fs.chmodSync(path.join(root, STATE_DIR), 0o755);
  const made = openStateDir(dir, true);
  if (made !== undefined) closeDir(made);
  t.is(modeOf(path.join(root, STATE_DIR)), 0o700);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR)).sort(), [STATE_MARKER, TRASH_DIR]);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), ['gateway-running'], 'moved into the new trash, still reachable');
  t.is(modeOf(path.join(root, STATE_DIR, TRASH_DIR)), 0o700);
  t.deepEqual(
    fs.readdirSync(root).filter((e) => e !== STATE_DIR),
    [],
    'nothing of the foreign one is left aside',
  );
  fs.writeFileSync(path.join(root, STATE_DIR, TRASH_DIR, 'gateway-running', 'supervise', 'control'), 'x');
  t.is(running.received(), 'x', 'the same FIFO its supervisor reads');
});

test('a foreign state directory whose trash still holds a supervised directory it cannot take over is kept aside, and said', (t) => {
  const { root, dir } = tempRoot(t);
  const oldTrash = path.join(root, STATE_DIR, TRASH_DIR);
  superviseStandIn(t, path.join(oldTrash, 'not a service name', 'supervise'));
  fs.chmodSync(path.join(root, STATE_DIR), 0o755);
  const report = { moved: [] as string[], kept: [] as string[] };
  const made = openStateDir(dir, true, report);
  if (made !== undefined) closeDir(made);
  t.deepEqual(report, { moved: [], kept: ['not a service name'], asideKept: true });
  const aside = fs.readdirSync(root).filter((e) => e.startsWith(`${STATE_DIR}.foreign.`));
  t.is(aside.length, 1, 'not deleted: its supervisor would be orphaned');
  t.true(fs.existsSync(path.join(root, aside[0] ?? '', TRASH_DIR, 'not a service name', 'supervise', 'control')));
  t.is(modeOf(path.join(root, STATE_DIR)), 0o700, 'the new state directory is made all the same');
});

test('a foreign trash entry whose supervisor still works in it is taken over, though its control and lock were renamed away', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  const oldTrash = path.join(root, STATE_DIR, TRASH_DIR);
  const supervise = path.join(oldTrash, 'gateway-hidden', 'supervise');
  const supervisor = superviseStandIn(t, supervise);
  fs.renameSync(supervisor.path, path.join(supervise, 'control.old'));
  fs.renameSync(path.join(supervise, 'lock'), path.join(supervise, 'lock.old'));
  const report = replaceForeign(root, dir);
  t.deepEqual(report.moved, ['gateway-hidden']);
  t.true(fs.existsSync(path.join(root, STATE_DIR, TRASH_DIR, 'gateway-hidden', 'supervise', 'lock.old')), 'moved, never deleted');
});

test('a planted foreign trash entry whose control a process only holds open (no supervisor holds its lock) is not taken over: deleted with the rest', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  const oldTrash = path.join(root, STATE_DIR, TRASH_DIR);
  listenOnControl(t, path.join(oldTrash, 'gateway-planted', 'supervise'));
  listenOnControl(t, path.join(oldTrash, 'not a service name', 'supervise'));
  const report = replaceForeign(root, dir);
  t.deepEqual(report, { moved: [], kept: [] });
  t.deepEqual(fs.readdirSync(root).sort(), [STATE_DIR, '.s6-svscan'], 'nothing of it is left aside');
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR)), [STATE_MARKER], 'nor taken into a trash');
});

test('… but a supervisor that works in it (one that holds no lock: an s6 that locks only while starting) is taken over, under any name', (t) => {
  const { root, dir } = tempRoot(t);
  const oldTrash = path.join(root, STATE_DIR, TRASH_DIR);
  for (const name of ['gateway-old', 'not a service name']) {
    listenOnControl(t, path.join(oldTrash, name, 'supervise'));
    workerIn(t, path.join(oldTrash, name));
  }
  const report = replaceForeign(root, dir);
  t.deepEqual(report, { moved: ['gateway-old'], kept: ['not a service name'], asideKept: true });
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), ['gateway-old']);
});

test('a foreign trash that cannot all be checked (past 10,000 entries, or names not UTF-8) is kept aside, never deleted', (t) => {
  const { root, dir } = tempRoot(t);
  const oldTrash = path.join(root, STATE_DIR, TRASH_DIR);
  fs.mkdirSync(oldTrash, { recursive: true });
  for (let i = 0; i < 10_001; i++) fs.mkdirSync(path.join(oldTrash, `e${i}`));
  const report = replaceForeign(root, dir);
  t.like(report, { unchecked: true, asideKept: true });
  t.is(
    fs.readdirSync(root).filter((e) => e.startsWith(`${STATE_DIR}.foreign.`)).length,
    1,
    'a supervisor past the first 10,000 could be there',
  );
});

test('a foreign trash holding a directory whose name is not UTF-8 is kept aside too, said as unchecked, not as running', (t) => {
  const { root, dir } = tempRoot(t);
  const oldTrash = path.join(root, STATE_DIR, TRASH_DIR);
  fs.mkdirSync(oldTrash, { recursive: true });
  fs.mkdirSync(Buffer.concat([Buffer.from(`${oldTrash}/gateway-`), Buffer.from([0xff])]));
  const report = replaceForeign(root, dir);
  t.deepEqual(report, { moved: [], kept: [], unchecked: true, asideKept: true });
});

test('a foreign state directory whose trash is a file or a symlink is deleted like any other; one that stays is said to stay', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, STATE_DIR));
  fs.writeFileSync(path.join(root, STATE_DIR, TRASH_DIR), 'not a directory');
  fs.writeFileSync(path.join(root, STATE_DIR, 'restarts.json'), '{}');
  const report = replaceForeign(root, dir);
  t.deepEqual(report, { moved: [], kept: [] });
  t.deepEqual(fs.readdirSync(root), [STATE_DIR], 'nothing of it is left aside');
});

test('checkStateDir says whether a run could use the state directory, and makes or replaces nothing', (t) => {
  const { root, dir } = tempRoot(t);
  const before = fs.readdirSync(root);
  t.notThrows(() => checkStateDir(dir), 'missing, in a scandir this user can write: a pass makes it');
  fs.writeFileSync(path.join(root, STATE_DIR), 'planted');
  t.notThrows(() => checkStateDir(dir), 'a foreign file of ours: a pass replaces it');
  t.is(fs.readFileSync(path.join(root, STATE_DIR), 'utf8'), 'planted', 'not replaced by the check');
  fs.rmSync(path.join(root, STATE_DIR));
  t.deepEqual(fs.readdirSync(root), before);
  // Another user's directory, as a user other than root: test/e2e/hardening/faults.test.ts (watch as nobody).
});

const concurrent = test.macro(async (t, foreign: boolean) => {
  const { root } = tempRoot(t);
  const scandirs = Array.from({ length: 400 }, (_, i) => path.join(root, `scan${i}`));
  for (const s of scandirs) {
    fs.mkdirSync(s);
    // A state directory others may read (an older version's, or planted): not ours, replaced.
    if (foreign) fs.mkdirSync(path.join(s, STATE_DIR, 'planted'), { recursive: true, mode: 0o755 });
  }
  // Each process walks the same scandirs in the same order, so they meet on most of them: it
  // opens the state directory and leaves a file named after its pid in it, through the descriptor.
  const script = `
    const { openStateDir } = await import(${JSON.stringify(STATE_DIR_MODULE)});
    const { openRoot, closeDir, writeFileAt } = await import(${JSON.stringify(SAFE_FS_MODULE)});
    for (const s of JSON.parse(process.argv[1])) {
      const scandir = openRoot(s);
      const state = openStateDir(scandir, true);
      writeFileAt(state, 'pid.' + process.pid, '', { mode: 0o600, fsync: false });
      closeDir(state);
      closeDir(scandir);
    }`;
  const runs = await Promise.all(
    Array.from(
      { length: 4 },
      () =>
        new Promise<{ code: number | null; pid: number | undefined; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(scandirs)], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (code) => resolve({ code, pid: child.pid, stderr }));
        }),
    ),
  );
  for (const r of runs) t.is(r.code, 0, r.stderr);
  const pids = runs.map((r) => `pid.${r.pid}`).sort();
  for (const s of scandirs) {
    t.is(modeOf(path.join(s, STATE_DIR)), 0o700);
    const entries = fs.readdirSync(path.join(s, STATE_DIR));
    const left = entries.filter(isPidFile).sort();
    if (!foreign) {
      t.deepEqual(left, pids, `${s}: every process wrote into the directory that stayed`);
      t.deepEqual(fs.readdirSync(s), [STATE_DIR], `${s}: nothing else made`);
      continue;
    }
    // A run whose new directory another set aside as foreign a moment after making it, while a
    // third made the name again, keeps writing into its own, left aside (the real tool then finds
    // its lock gone from the lock path and takes the lock again). No write was lost, and the
    // foreign directory is gone.
    const aside = fs.readdirSync(s).filter((n) => n !== STATE_DIR);
    const written = [...left, ...aside.flatMap((n) => fs.readdirSync(path.join(s, n)).filter(isPidFile))].sort();
    t.deepEqual(written, pids, `${s}: every process wrote into a private directory that still exists`);
    for (const n of aside) t.is(modeOf(path.join(s, n)), 0o700, `${s}/${n}: only private directories are set aside and kept`);
    t.false(entries.includes('planted'));
  }
});

const isPidFile = (name: string): boolean => name.startsWith('pid.');

test('a state directory is never empty, so no rename can replace it (a concurrent run putting back a directory it set aside)', (t) => {
  const { root, dir } = tempRoot(t);
  const made = openStateDir(dir, true);
  if (made !== undefined) closeDir(made);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR)), [STATE_MARKER], 'it says what it is');
  fs.mkdirSync(path.join(root, 'other'), { mode: 0o700 });
  const err = t.throws(() => fs.renameSync(path.join(root, 'other'), path.join(root, STATE_DIR)));
  t.true(['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? ''), String(err));
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR)), [STATE_MARKER], 'the one made is still there');
});

test("an empty directory under the state directory's name is replaced; nothing is left aside", (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, STATE_DIR), { mode: 0o755 });
  const made = openStateDir(dir, true);
  if (made !== undefined) closeDir(made);
  t.is(modeOf(path.join(root, STATE_DIR)), 0o700);
  t.deepEqual(fs.readdirSync(root), [STATE_DIR]);
});

test('processes making the state directory of the same new scandirs at once all get it, and it is the one that stays', concurrent, false);
test('processes replacing the same foreign state directories at once all end up in the one new directory', concurrent, true);

needsRoot(test)('run as another user, a state directory root made is left where it is: the run fails, nothing is moved', async (t) => {
  const { root } = tempRoot(t);
  fs.chmodSync(root, 0o755);
  const scandir = path.join(root, 'scan');
  fs.mkdirSync(scandir);
  fs.chownSync(scandir, 65534, 65534); // the user's own scandir: it could rename root's directory
  fs.mkdirSync(path.join(scandir, STATE_DIR), { mode: 0o700 });
  fs.writeFileSync(path.join(scandir, STATE_DIR, 'lock'), '');
  // The compiled modules, where the other user can read them (a clone under root's 0700 home is not).
  const src = path.join(root, 'src');
  fs.cpSync(path.dirname(path.dirname(STATE_DIR_MODULE)), src, { recursive: true });
  const script = `
    const { openStateDir } = await import(${JSON.stringify(path.join(src, 'state-dir', 'index.js'))});
    const { openRoot } = await import(${JSON.stringify(path.join(src, 'safe-fs', 'index.js'))});
    try { openStateDir(openRoot(process.argv[1]), true); } catch (err) { console.error(err.code); process.exit(3); }`;
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, scandir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: root,
      uid: 65534,
      gid: 65534,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  t.is(r.code, 3, r.stderr);
  t.is(r.stderr.trim(), 'EACCES');
  t.deepEqual(fs.readdirSync(scandir), [STATE_DIR], 'nothing set aside');
  t.deepEqual(fs.readdirSync(path.join(scandir, STATE_DIR)), ['lock'], "root's lock is where root's runs look for it");
});

test("making the state directory deletes the temporary directories of runs killed while making it, never a live run's", (t) => {
  const { root, dir } = tempRoot(t);
  const dead = path.join(root, `${STATE_DIR}.new.2147483646.k1ll3d`);
  const live = path.join(root, `${STATE_DIR}.new.${process.pid}.l1ve`);
  for (const d of [dead, live]) fs.mkdirSync(d, { mode: 0o700 });
  fs.writeFileSync(path.join(dead, STATE_MARKER), '');
  // A state directory its scandir's owner renamed to such a name holds more than the marker: it stays.
  const renamed = path.join(root, `${STATE_DIR}.new.2147483646.r3nam3d`);
  fs.mkdirSync(renamed, { mode: 0o700 });
  fs.writeFileSync(path.join(renamed, 'lock'), '');
  const made = openStateDir(dir, true);
  if (made !== undefined) closeDir(made);
  t.deepEqual(fs.readdirSync(root).sort(), [STATE_DIR, path.basename(live), path.basename(renamed)].sort());
});
