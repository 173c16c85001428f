/**
 * Observation walks slots and profiles by making each the working directory (safe-fs CwdCursor).
 * That must stay invisible: the process's working directory is the same afterwards (relative
 * --hermes-home/--scandir paths and the lock path resolve against it), and an entry reached by
 * its bare name is still never followed through a symlink.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { observeHome } from '../../src/observe/home.js';
import { observeScandir } from '../../src/observe/scandir.js';
import { CwdCursor, closeDir, openRoot } from '../../src/safe-fs/index.js';

function tree(t: { teardown(fn: () => void): void }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-cwd-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'scan', 'gateway-a', 'log'), { recursive: true });
  fs.writeFileSync(path.join(root, 'scan', 'gateway-a', 'type'), 'longrun\n');
  fs.writeFileSync(path.join(root, 'secret'), 'not yours\n');
  fs.symlinkSync(path.join(root, 'secret'), path.join(root, 'scan', 'gateway-a', 'run'));
  fs.mkdirSync(path.join(root, 'home', 'profiles', 'p'), { recursive: true });
  fs.writeFileSync(path.join(root, 'home', 'profiles', 'p', 'SOUL.md'), '');
  fs.symlinkSync(path.join(root, 'secret'), path.join(root, 'home', 'profiles', 'p', 'gateway_state.json'));
  return root;
}

test('observing leaves the working directory where it was and follows no symlink', (t) => {
  const root = tree(t);
  const before = process.cwd();
  const scandir = openRoot(path.join(root, 'scan'));
  const home = openRoot(path.join(root, 'home'));
  try {
    const slots = observeScandir(scandir, { servicePrefix: 'gateway-' }).slots;
    const run = slots.get('gateway-a')?.files.get('run');
    t.deepEqual(run && run.kind === 'refused' ? run.reason : run?.kind, 'is a symlink');
    t.is(slots.get('gateway-a')?.files.get('type')?.kind, 'file');
    const profile = observeHome(home).profiles.find((p) => p.name === 'p');
    t.is(profile?.state.kind, 'unreadable', 'a symlinked state file is not read');
    t.is(process.cwd(), before);
  } finally {
    closeDir(scandir);
    closeDir(home);
  }
});

test('the cursor returns to the original directory even when it was entered many times', (t) => {
  const root = tree(t);
  const before = process.cwd();
  const a = openRoot(path.join(root, 'scan'));
  const b = openRoot(path.join(root, 'home'));
  const cursor = new CwdCursor();
  try {
    const here = cursor.enter(a);
    t.true(here.here, 'entered: addressed by bare names');
    t.is(fs.realpathSync('.'), fs.realpathSync(path.join(root, 'scan')));
    t.true(fs.existsSync(path.join('gateway-a', 'type')));
    cursor.enter(b);
    t.is(fs.realpathSync('.'), fs.realpathSync(path.join(root, 'home')));
  } finally {
    cursor.close();
    closeDir(a);
    closeDir(b);
  }
  t.is(process.cwd(), before);
});
