/**
 * src/observe/trash.ts: slots earlier passes moved into `<scandir>/.reconcile-gateways/trash/`
 * and did not finish deleting, with whether a supervisor still runs. A trash that is not ours
 * (another mode, a symlink) is never read.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { SCANDIR_LINKS_MAX, observeTrash } from '../../../src/observe/trash.js';
import { STATE_DIR, TRASH_DIR } from '../../../src/state-dir/index.js';
import { listenOnControl, makeFifo, superviseStandIn, svscanStandIn, workerIn } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { tempRoot } from '../support.js';

/** Makes the private state directory and its trash (both 0700) and returns the trash's path. */
function makeTrash(root: string): string {
  const trash = path.join(root, STATE_DIR, TRASH_DIR);
  fs.mkdirSync(trash, { recursive: true });
  fs.chmodSync(path.join(root, STATE_DIR), 0o700);
  fs.chmodSync(trash, 0o700);
  return trash;
}

test('no state directory or no trash reads as empty', (t) => {
  const { root, dir } = tempRoot(t);
  t.deepEqual(observeTrash(dir, 'gateway-'), []);
  fs.mkdirSync(path.join(root, STATE_DIR), { mode: 0o700 });
  t.deepEqual(observeTrash(dir, 'gateway-'), []);
});

test('trashed slots are listed sorted, with their profile and whether a supervisor still runs', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  const trash = makeTrash(root);
  fs.mkdirSync(path.join(trash, 'gateway-c'));
  superviseStandIn(t, path.join(trash, 'gateway-b', 'log', 'supervise'));
  makeFifo(path.join(trash, 'gateway-a', 'supervise', 'control'));
  fs.mkdirSync(path.join(trash, 'odd-name'));
  t.deepEqual(observeTrash(dir, 'gateway-'), [
    { service: 'gateway-a', profile: 'a', supervised: false, stopping: false },
    { service: 'gateway-b', profile: 'b', supervised: true, stopping: false },
    { service: 'gateway-c', profile: 'c', supervised: false, stopping: false },
    { service: 'odd-name', profile: 'odd-name', supervised: false, stopping: false },
  ]);
});

test('a control FIFO a process holds open, with no supervisor working in its directory, is no running supervisor: said, not waited for', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  const trash = makeTrash(root);
  listenOnControl(t, path.join(trash, 'gateway-a', 'supervise'));
  listenOnControl(t, path.join(trash, 'gateway-b', 'log', 'supervise'));
  fs.writeFileSync(path.join(trash, 'gateway-b', 'log', 'supervise', 'lock'), '');
  superviseStandIn(t, path.join(trash, 'gateway-c', 'supervise'));
  t.deepEqual(observeTrash(dir, 'gateway-'), [
    { service: 'gateway-a', profile: 'a', supervised: false, stopping: false, heldOpen: true },
    { service: 'gateway-b', profile: 'b', supervised: false, stopping: false, heldOpen: true },
    { service: 'gateway-c', profile: 'c', supervised: true, stopping: false },
  ]);
  // A foreign trash's are not pending removals, but a running one: the pass that replaces it takes that over.
  fs.chmodSync(path.join(root, STATE_DIR), 0o755);
  t.deepEqual(observeTrash(dir, 'gateway-'), [{ service: 'gateway-c', profile: 'c', supervised: true, stopping: false }]);
});

test('with only, just the named services are listed', (t) => {
  const { root, dir } = tempRoot(t);
  const trash = makeTrash(root);
  fs.mkdirSync(path.join(trash, 'gateway-a'));
  fs.mkdirSync(path.join(trash, 'gateway-b'));
  t.deepEqual(observeTrash(dir, 'gateway-', new Set(['gateway-b'])), [
    { service: 'gateway-b', profile: 'b', supervised: false, stopping: false },
  ]);
});

test('a symlink inside the trash is listed but never followed to a listener', (t) => {
  const { root, dir } = tempRoot(t);
  const trash = makeTrash(root);
  superviseStandIn(t, path.join(root, 'live', 'supervise'));
  fs.symlinkSync(path.join(root, 'live'), path.join(trash, 'gateway-a'));
  t.deepEqual(observeTrash(dir, 'gateway-'), [{ service: 'gateway-a', profile: 'a', supervised: false, stopping: false }]);
});

test('a trash that is not private, or a symlink to one, is not ours and reads as empty', (t) => {
  const { root, dir } = tempRoot(t);
  const trash = makeTrash(root);
  fs.mkdirSync(path.join(trash, 'gateway-a'));
  fs.chmodSync(trash, 0o755);
  t.deepEqual(observeTrash(dir, 'gateway-'), []);
  fs.chmodSync(trash, 0o700);
  fs.renameSync(trash, path.join(root, STATE_DIR, 'elsewhere'));
  fs.symlinkSync(path.join(root, STATE_DIR, 'elsewhere'), trash);
  t.deepEqual(observeTrash(dir, 'gateway-'), []);
});

test('a trashed gateway that is up while s6 wants it down is stopping: a purge waits for it and does not tell it again', (t) => {
  const { root, dir } = tempRoot(t);
  const trash = makeTrash(root);
  const status = (wantUp: boolean): Buffer => {
    const b = Buffer.alloc(35);
    b.writeBigUInt64BE(4242n, 24); // a pid: up
    b[34] = wantUp ? 4 : 0;
    return b;
  };
  for (const [name, wantUp] of [
    ['gateway-a', false],
    ['gateway-b', true],
  ] as const) {
    superviseStandIn(t, path.join(trash, name, 'supervise'));
    fs.writeFileSync(path.join(trash, name, 'supervise', 'status'), status(wantUp));
  }
  t.deepEqual(observeTrash(dir, 'gateway-'), [
    { service: 'gateway-a', profile: 'a', supervised: true, stopping: true },
    { service: 'gateway-b', profile: 'b', supervised: true, stopping: false },
  ]);
});

test('a foreign state directory’s trash: only the slots whose supervisors still run are read (a pass takes them over)', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  const trash = makeTrash(root);
  superviseStandIn(t, path.join(trash, 'gateway-running', 'supervise'));
  fs.mkdirSync(path.join(trash, 'gateway-idle'));
  fs.writeFileSync(path.join(trash, 'a-file'), '');
  fs.chmodSync(path.join(root, STATE_DIR), 0o755);
  t.deepEqual(observeTrash(dir, 'gateway-'), [{ service: 'gateway-running', profile: 'running', supervised: true, stopping: false }]);
  fs.renameSync(path.join(root, STATE_DIR), path.join(root, 'elsewhere'));
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, STATE_DIR));
  t.deepEqual(observeTrash(dir, 'gateway-'), [], 'a symlink under the name is never followed');
});

needsRoot(test)(
  'a foreign trash entry counts when a supervisor listens on it, whoever owns its control, and only under a service name',
  (t) => {
    const { root, dir } = tempRoot(t);
    svscanStandIn(t, root);
    const trash = makeTrash(root);
    superviseStandIn(t, path.join(trash, 'gateway-real', 'supervise'));
    // A slot the Hermes CLI registered (or superviseOwner: user) has a hermes-owned control under a real supervisor.
    const hermes = superviseStandIn(t, path.join(trash, 'gateway-hermes', 'supervise'));
    fs.chownSync(hermes.path, 65534, 65534);
    superviseStandIn(t, path.join(trash, 'gateway-x y', 'supervise'));
    superviseStandIn(t, path.join(trash, 'gateway-\u001b[31m', 'supervise'));
    fs.chmodSync(path.join(root, STATE_DIR), 0o755);
    t.deepEqual(
      observeTrash(dir, 'gateway-').map((e) => e.service),
      ['gateway-hermes', 'gateway-real'],
      'no name that could forge an output field is taken over',
    );
  },
);

test('a scandir symlink to a trashed slot whose supervisor runs (into the trash, or its /proc/<pid>/cwd) is named: s6-svscan keeps that supervisor through it', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  const trash = makeTrash(root);
  superviseStandIn(t, path.join(trash, 'gateway-a', 'supervise'));
  superviseStandIn(t, path.join(trash, 'gateway-b', 'supervise'));
  superviseStandIn(t, path.join(trash, 'gateway-c', 'supervise'));
  superviseStandIn(t, path.join(trash, 'gateway-e', 'supervise'));
  fs.mkdirSync(path.join(trash, 'gateway-d'));
  fs.symlinkSync(`${STATE_DIR}/${TRASH_DIR}/gateway-a`, path.join(root, 'zz'));
  fs.symlinkSync(`${STATE_DIR}/${TRASH_DIR}/gateway-c`, path.join(root, '.dot')); // s6-svscan skips dot names
  fs.symlinkSync(`${STATE_DIR}/${TRASH_DIR}/gateway-e`, Buffer.concat([Buffer.from(`${root}/e-`), Buffer.from([0xff])]));
  fs.symlinkSync(`/proc/${workerIn(t, path.join(trash, 'gateway-b')).pid}/cwd`, path.join(root, 'yy'));
  fs.symlinkSync(`${STATE_DIR}/${TRASH_DIR}/gateway-d`, path.join(root, 'idle')); // no supervisor: nothing to keep
  fs.symlinkSync('nowhere', path.join(root, 'dangling'));
  fs.symlinkSync('loop', path.join(root, 'loop'));
  t.deepEqual(
    observeTrash(dir, 'gateway-').map((e) => [e.service, e.supervised, e.linkedFrom]),
    [
      ['gateway-a', true, 'zz'],
      ['gateway-b', true, 'yy'],
      ['gateway-c', true, undefined],
      ['gateway-d', false, undefined],
      ['gateway-e', true, 'e-\\xff'],
    ],
  );
});

test(`past the scandir's first ${SCANDIR_LINKS_MAX} symlinks a running trashed slot's entry says the rest were not followed`, (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  const trash = makeTrash(root);
  superviseStandIn(t, path.join(trash, 'gateway-a', 'supervise'));
  fs.mkdirSync(path.join(trash, 'gateway-b'));
  for (let i = 0; i <= SCANDIR_LINKS_MAX; i++) fs.symlinkSync('nowhere', path.join(root, `l${i}`));
  const entries = (): unknown[] => observeTrash(dir, 'gateway-').map((e) => [e.service, e.linksUnchecked]);
  t.deepEqual(entries(), [
    ['gateway-a', true],
    ['gateway-b', undefined],
  ]);
  fs.rmSync(path.join(root, 'l0'));
  t.deepEqual(entries(), [
    ['gateway-a', undefined],
    ['gateway-b', undefined],
  ]);
});
