/**
 * A user-writable volume under a root-run tool (reference §0, §6.4): nothing is followed through
 * a symlink, nothing blocks on a FIFO, and names at and beyond the length limit are handled.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { bootJson, sandbox } from '../../helpers/cli.js';
import { makeHermesHome, writeFileTree } from '../../helpers/tree.js';

test('a symlinked profile dir is skipped and its target is never swept', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const outside = path.join(box.root, 'outside');
  await writeFileTree(outside, { 'SOUL.md': 'soul\n', 'gateway.pid': '1\n', 'gateway_state.json': '{"gateway_state":"running"}' });
  await makeHermesHome(box.home, {});
  await symlink(outside, path.join(box.home, 'profiles', 'link'));
  const r = await bootJson(box.home, box.scandir);
  t.is(r.code, 0, r.stderr);
  t.like((r.doc['profiles'] as unknown[])[1], {
    profile: 'link',
    action: 'skipped',
    reason: 'unusable: the profile directory is a symlink, which is never followed: move the directory itself into profiles/',
  });
  t.true(existsSync(path.join(outside, 'gateway.pid')));
  t.false(existsSync(path.join(box.scandir, 'gateway-link')));
});

test('a FIFO as a state file never blocks: no prior state with a warning', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: {} });
  spawnSync('mkfifo', [path.join(box.home, 'profiles/coder/gateway_state.json'), path.join(box.home, 'gateway_state.json')]);
  const r = await bootJson(box.home, box.scandir, [], { timeoutMs: 10_000 });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    (r.doc['profiles'] as { action: string; priorState: unknown }[]).map((p) => [p.action, p.priorState]),
    [
      ['registered', null],
      ['registered', null],
    ],
  );
  t.regex(r.stderr, /could not read .*gateway_state\.json/);
});

test('a state file that is a symlink is not followed', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const target = path.join(box.root, 'running.json');
  await writeFile(target, '{"gateway_state":"running"}');
  await makeHermesHome(box.home, {});
  await symlink(target, path.join(box.home, 'gateway_state.json'));
  const r = await bootJson(box.home, box.scandir);
  t.like((r.doc['profiles'] as unknown[])[0], { profile: 'default', priorState: null, action: 'registered' });
});

test('a 243-character name gets its slot; 244 characters are skipped with exit 0', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const longest = 'a'.repeat(243);
  const tooLong = 'b'.repeat(244);
  await makeHermesHome(box.home, { [longest]: { state: { gateway_state: 'running' } }, [tooLong]: {} });
  const r = await bootJson(box.home, box.scandir);
  t.is(r.code, 0, r.stderr);
  t.true(existsSync(path.join(box.scandir, `gateway-${longest}`, 'run')));
  t.false(existsSync(path.join(box.scandir, `gateway-${tooLong}`)));
  t.like((r.doc['profiles'] as unknown[])[2], {
    profile: tooLong,
    action: 'skipped',
    reason: 'invalid-name: name longer than 243 characters',
  });
  t.deepEqual((await bootJson(box.home, box.scandir)).doc['operations'], []);
});

test('a profile directory whose name is not UTF-8 is skipped, the others converge', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: {} });
  const raw = Buffer.concat([Buffer.from(path.join(box.home, 'profiles') + '/'), Buffer.from([0x61, 0xff])]);
  await mkdir(raw);
  await writeFile(Buffer.concat([raw, Buffer.from('/SOUL.md')]), 'soul\n');
  const r = await bootJson(box.home, box.scandir);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    (r.doc['profiles'] as { action: string }[]).map((p) => p.action),
    ['registered', 'skipped', 'registered'],
  );
});
