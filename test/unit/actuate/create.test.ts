/**
 * src/actuate/create.ts: new slots built in private staging and published whole, on a temp
 * scandir. Each slot has its files, modes, down marker and supervise skeleton; anything in the way
 * (a symlink, a file, a directory that appeared meanwhile) fails that slot alone and is left as it
 * is; staging never outlives the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { type FifoMaker, applyCreates, clearStaging, skeletonOwnership } from '../../../src/actuate/create.js';
import { makeFifos } from '../../../src/actuate/fifo.js';
import { renderSlotFiles } from '../../../src/desired/render.js';
import type { CreateOp } from '../../../src/model.js';
import { closeDir, openDirAt } from '../../../src/safe-fs/index.js';
import { STAGING_PREFIX, STATE_DIR, STATE_MARKER } from '../../../src/state-dir/index.js';
import { TEST_SETTINGS } from '../../helpers/cli.js';
import { makeFifo } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { makeReadOnly, modeOf, put, tempRoot } from '../support.js';

const ROOT_MODEL = skeletonOwnership({ ...TEST_SETTINGS, superviseOwner: 'root' }, false);
const USER_MODEL = skeletonOwnership({ ...TEST_SETTINGS, superviseOwner: 'user' }, false);

function createOf(profile: string, autostart = true): CreateOp {
  const service = `gateway-${profile}`;
  return {
    kind: 'create',
    service,
    profile,
    reason: 'new profile',
    spec: { service, profile, autostart, files: renderSlotFiles(service, profile, TEST_SETTINGS) },
  };
}

/** `type mode` of every entry under a slot, by slot-relative path (lstat only). */
function layout(slot: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(slot, rel)).sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(path.join(slot, p));
      const type = st.isDirectory() ? 'dir' : st.isFIFO() ? 'fifo' : st.isFile() ? 'file' : 'other';
      out[p] = `${type} ${(st.mode & 0o7777).toString(8)}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

test("skeletonOwnership: root model is what s6-svperms grants; user model is upstream's; owners only as root", (t) => {
  t.deepEqual(skeletonOwnership({ uid: 10000, gid: 10001, superviseOwner: 'root' }, true), {
    superviseMode: 0o710,
    controlMode: 0o620,
    superviseEvent: false,
    owner: { uid: 0, gid: 10001 },
  });
  t.deepEqual(skeletonOwnership({ uid: 10000, gid: 10001, superviseOwner: 'user' }, true), {
    superviseMode: 0o755,
    controlMode: 0o660,
    superviseEvent: true,
    owner: { uid: 10000, gid: 10001 },
  });
  t.is(skeletonOwnership({ uid: 10000, gid: 10001, superviseOwner: 'user' }, false).owner, undefined);
});

test('a create publishes a complete slot with every file, mode and FIFO, and the rendered bytes', async (t) => {
  const { root, dir } = tempRoot(t);
  const op = createOf('a');
  t.deepEqual(await applyCreates(dir, [op], ROOT_MODEL), [{ op, status: 'applied' }]);
  const slot = path.join(root, 'gateway-a');
  t.deepEqual(layout(slot), {
    '.reconcile-gateways.json': 'file 644',
    event: 'dir 3730',
    finish: 'file 755',
    log: 'dir 755',
    'log/event': 'dir 3730',
    'log/run': 'file 755',
    'log/supervise': 'dir 710',
    'log/supervise/control': 'fifo 620',
    run: 'file 755',
    supervise: 'dir 710',
    'supervise/control': 'fifo 620',
    type: 'file 644',
  });
  t.is(modeOf(slot), 0o755);
  for (const f of op.spec.files) t.is(fs.readFileSync(path.join(slot, f.path), 'utf8'), f.content, f.path);
});

test('a slot that must not start gets its down marker; the user model seeds supervise/event', async (t) => {
  const { root, dir } = tempRoot(t);
  const op = createOf('b', false);
  t.is((await applyCreates(dir, [op], USER_MODEL))[0]?.status, 'applied');
  const got = layout(path.join(root, 'gateway-b'));
  t.is(got['down'], 'file 644');
  t.is(got['supervise'], 'dir 755');
  t.is(got['supervise/control'], 'fifo 660');
  t.is(got['supervise/event'], 'dir 3730');
  t.is(got['log/supervise/event'], 'dir 3730');
});

test('no staging directory is left behind, and no create means nothing is made at all', async (t) => {
  const { root, dir } = tempRoot(t);
  t.deepEqual(await applyCreates(dir, [], ROOT_MODEL), []);
  t.deepEqual(fs.readdirSync(root), []);
  await applyCreates(dir, [createOf('a'), createOf('b')], ROOT_MODEL);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR)), [STATE_MARKER]);
  t.deepEqual(fs.readdirSync(root).sort(), [STATE_DIR, 'gateway-a', 'gateway-b']);
});

test("a FIFO mkfifo could not make fails its slot alone, with mkfifo's words; the others are published whole", async (t) => {
  const { root, dir } = tempRoot(t);
  // The real mkfifo makes every FIFO but the first, which it reports as ENOSPC would.
  const losesFirst: FifoMaker = async (base, paths, mode, gid) => {
    const [lost, ...rest] = paths;
    const made = await makeFifos(base, rest, mode, gid);
    return { ...made, errors: `mkfifo: cannot create fifo '${lost ?? ''}': No space left on device\n${made.errors}` };
  };
  const results = await applyCreates(dir, [createOf('a'), createOf('b')], ROOT_MODEL, { fifoMaker: losesFirst });
  t.is(results[0]?.status, 'failed');
  t.regex(results[0]?.error ?? '', /cannot create fifo 's0\/supervise\/control': No space left on device/);
  t.false(fs.existsSync(path.join(root, 'gateway-a')), 'a slot without its FIFO was published');
  t.is(results[1]?.status, 'applied');
  for (const fifo of ['supervise/control', 'log/supervise/control'])
    t.true(fs.lstatSync(path.join(root, 'gateway-b', fifo)).isFIFO(), fifo);
});

test('a symlink, a file or a FIFO in the way fails that slot, is left untouched, and the other slots are created', async (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'elsewhere/keep', '');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'gateway-link'));
  put(root, 'gateway-file', 'mine');
  makeFifo(path.join(root, 'gateway-fifo'));
  const ops = [createOf('link'), createOf('file'), createOf('fifo'), createOf('ok')];
  const results = await applyCreates(dir, ops, ROOT_MODEL);
  t.deepEqual(
    results.map((r) => r.status),
    ['failed', 'failed', 'failed', 'applied'],
  );
  t.true(results[0]?.error?.includes('EEXIST: a symlink is in the way; refusing to replace it'), results[0]?.error);
  t.true(results[1]?.error?.includes('EEXIST: a regular file is in the way; refusing to replace it'), results[1]?.error);
  t.true(results[2]?.error?.includes('EEXIST: a FIFO is in the way; refusing to replace it'), results[2]?.error);
  t.true(results[1]?.error?.endsWith('refusing to replace it: move or delete it and the next run creates the slot'), results[1]?.error);
  t.is(fs.readlinkSync(path.join(root, 'gateway-link')), path.join(root, 'elsewhere'));
  t.deepEqual(fs.readdirSync(path.join(root, 'elsewhere')), ['keep']);
  t.is(fs.readFileSync(path.join(root, 'gateway-file'), 'utf8'), 'mine');
  t.true(fs.lstatSync(path.join(root, 'gateway-fifo')).isFIFO());
  t.true(fs.existsSync(path.join(root, 'gateway-ok', 'run')));
});

test('a directory that appeared at the slot path meanwhile is theirs: EEXIST, left as it is', async (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'gateway-a/run', 'registered by the Hermes CLI');
  const [result] = await applyCreates(dir, [createOf('a')], ROOT_MODEL);
  t.is(result?.status, 'failed');
  t.true(result?.error?.includes('EEXIST: the slot appeared while this pass ran'), result?.error);
  t.deepEqual(fs.readdirSync(path.join(root, 'gateway-a')), ['run']);
});

test('a failure just before publishing fails that slot alone and publishes nothing of it', async (t) => {
  const { root, dir } = tempRoot(t);
  const results = await applyCreates(dir, [createOf('a'), createOf('b')], ROOT_MODEL, {
    beforePublish: (op) => {
      if (op.profile === 'a') throw new Error('injected');
    },
  });
  t.like(results[0], { status: 'failed', error: 'unexpected error: injected' });
  t.is(results[1]?.status, 'applied');
  t.false(fs.existsSync(path.join(root, 'gateway-a')));
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR)), [STATE_MARKER]);
});

test('a symlink planted as the state directory is replaced, never followed', async (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'elsewhere/keep', '');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, STATE_DIR));
  t.is((await applyCreates(dir, [createOf('a')], ROOT_MODEL))[0]?.status, 'applied');
  t.true(fs.lstatSync(path.join(root, STATE_DIR)).isDirectory());
  t.deepEqual(fs.readdirSync(path.join(root, 'elsewhere')), ['keep']);
});

needsRoot(test)('a read-only scandir fails every create with the reason, and throws nothing', async (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'scan'));
  makeReadOnly(t, path.join(root, 'scan'));
  const scan = openDirAt(dir, 'scan');
  t.teardown(() => closeDir(scan));
  const results = await applyCreates(scan, [createOf('a'), createOf('b')], ROOT_MODEL);
  t.deepEqual(
    results.map((r) => r.status),
    ['failed', 'failed'],
  );
  t.true(results[0]?.error?.includes('EROFS'), results[0]?.error);
});

needsRoot(test)('as root the skeleton gets its owners: root:gid in the root model, uid:gid in the user model', async (t) => {
  const { root, dir } = tempRoot(t);
  const rootModel = skeletonOwnership({ uid: 65534, gid: 65534, superviseOwner: 'root' }, true);
  const userModel = skeletonOwnership({ uid: 65534, gid: 65534, superviseOwner: 'user' }, true);
  t.is((await applyCreates(dir, [createOf('r')], rootModel))[0]?.status, 'applied');
  t.is((await applyCreates(dir, [createOf('u')], userModel))[0]?.status, 'applied');
  const owner = (p: string): string => {
    const st = fs.lstatSync(path.join(root, p));
    return `${st.uid}:${st.gid}`;
  };
  t.is(owner('gateway-r/supervise'), '0:65534');
  t.is(owner('gateway-r/supervise/control'), '0:65534');
  t.is(owner('gateway-r/log/supervise/control'), '0:65534');
  t.is(owner('gateway-r/run'), '0:0');
  t.is(owner('gateway-u/supervise'), '65534:65534');
  t.is(owner('gateway-u/log/supervise/control'), '65534:65534');
  t.is(modeOf(path.join(root, 'gateway-r/supervise/control')), 0o620);
  t.is(modeOf(path.join(root, 'gateway-r/log/supervise/control')), 0o620);
  t.is(modeOf(path.join(root, 'gateway-u/supervise/control')), 0o660);
});

test('clearStaging removes staging of dead runs and keeps that of a live process', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, STATE_DIR), { mode: 0o700 });
  fs.chmodSync(path.join(root, STATE_DIR), 0o700);
  const dead = `${STAGING_PREFIX}2147483646`;
  const live = `${STAGING_PREFIX}1`;
  put(root, `${STATE_DIR}/${dead}/s0/run`, 'x');
  put(root, `${STATE_DIR}/${STAGING_PREFIX}${process.pid}/s0/run`, 'x');
  fs.mkdirSync(path.join(root, STATE_DIR, live));
  fs.mkdirSync(path.join(root, STATE_DIR, 'trash'));
  clearStaging(dir);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR)).sort(), [live, 'trash']);
});

test('clearStaging does nothing in a state directory that is not ours', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, `${STATE_DIR}/${STAGING_PREFIX}2147483646/keep`, '');
  fs.chmodSync(path.join(root, STATE_DIR), 0o755);
  clearStaging(dir);
  t.true(fs.existsSync(path.join(root, STATE_DIR, `${STAGING_PREFIX}2147483646`, 'keep')));
});
