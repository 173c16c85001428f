/**
 * Issue 4, trust model: HERMES_HOME is attacker-writable. No symlink in it is followed for
 * reading or writing, a secret behind one is never read, and the pass still completes.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { removeWorlds, runWorld, runWorldJson, type World, writeConfig, writeProfiles, makeWorld } from '../../helpers/cli.js';
import { diffSnapshot, snapshot } from './tree-check.js';

const SECRET = `TOPSECRET-${process.pid}-d41d8cd98f`;

test.after.always('remove scratch trees', async () => {
  await removeWorlds();
});

async function layout(prefix: string, settings: Record<string, unknown> = {}): Promise<World & { outside: string }> {
  const l = await makeWorld(prefix, { settings });
  const outside = path.join(l.root, 'outside');
  fs.mkdirSync(path.join(outside, 'profiles', 'evil'), { recursive: true });
  fs.mkdirSync(path.join(outside, 'state'), { recursive: true });
  fs.mkdirSync(path.join(outside, 'logs'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret.txt'), `${SECRET}\n`);
  fs.writeFileSync(path.join(outside, 'secret.yaml'), `multiplex_profiles: true\n# ${SECRET}\n`);
  fs.writeFileSync(path.join(outside, 'victim.log'), 'victim log\n');
  fs.writeFileSync(path.join(outside, 'victim.1'), 'victim rotated log\n');
  fs.writeFileSync(path.join(outside, 'victim.pid'), '4242\n');
  fs.writeFileSync(path.join(outside, 'victim.processes'), '[]\n');
  fs.writeFileSync(path.join(outside, 'profiles', 'evil', 'SOUL.md'), 'soul\n');
  fs.writeFileSync(path.join(outside, 'profiles', 'evil', 'gateway_state.json'), '{"desired_state":"running"}');
  fs.writeFileSync(path.join(outside, 'profiles', 'evil', 'gateway.pid'), '77\n');
  fs.writeFileSync(path.join(outside, 'state', 'gateway.lifecycle.json'), '{"phase":"running"}');
  return { ...l, outside };
}

function link(target: string, at: string): void {
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.symlinkSync(target, at);
}

function slots(l: World): string[] {
  return fs
    .readdirSync(l.scandir)
    .filter((n) => !n.startsWith('.'))
    .sort();
}

test('boot never follows a symlinked state, lifecycle, SOUL.md, config, runtime file or profile dir, and never reads the secret behind one', async (t) => {
  const l = await layout('home-links');
  const o = l.outside;
  const p = (...parts: string[]): string => path.join(l.home, ...parts);
  link(path.join(o, 'secret.txt'), p('gateway_state.json'));
  link(path.join(o, 'secret.yaml'), p('config.yaml'));
  link(path.join(o, 'victim.pid'), p('gateway.pid'));
  link(path.join(o, 'victim.processes'), p('processes.json'));
  writeProfiles(l.home, {
    ok: 'running',
    statesym: undefined,
    dangling: undefined,
    lcsym: 'running',
    stdir: 'running',
    soulsym: undefined,
  });
  link(path.join(o, 'profiles', 'evil'), p('profiles', 'linked'));
  link(path.join(o, 'secret.txt'), p('profiles', 'statesym', 'gateway_state.json'));
  link(path.join(o, 'nowhere.json'), p('profiles', 'dangling', 'gateway_state.json'));
  link(path.join(o, 'state', 'gateway.lifecycle.json'), p('profiles', 'lcsym', 'state', 'gateway.lifecycle.json'));
  link(path.join(o, 'state'), p('profiles', 'stdir', 'state'));
  fs.rmSync(p('profiles', 'soulsym', 'SOUL.md'));
  link(path.join(o, 'secret.txt'), p('profiles', 'soulsym', 'SOUL.md'));
  link(path.join(o, 'victim.pid'), p('profiles', 'ok', 'gateway.pid'));
  const outsideBefore = snapshot(o);

  const { doc, ...result } = await runWorldJson('boot', l);
  t.false(result.timedOut);
  t.is(result.code, 0, result.stderr);
  t.false(`${result.stdout}${result.stderr}`.includes(SECRET), 'the secret leaked into the output');
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(o)), [], 'something outside HERMES_HOME changed');
  t.false(fs.existsSync(path.join(o, 'nowhere.json')), 'a dangling symlink was written through');
  t.deepEqual(slots(l), ['gateway-dangling', 'gateway-default', 'gateway-lcsym', 'gateway-ok', 'gateway-statesym', 'gateway-stdir']);
  const byName = new Map((doc.profiles ?? []).map((d) => [d.profile, d]));
  t.is(byName.get('linked')?.action, 'skipped');
  t.is(byName.get('soulsym')?.action, 'skipped');
  t.is(byName.get('default')?.priorState, null, 'the root intent was read through the symlink');
  t.is(byName.get('statesym')?.priorState, null);
  t.is(byName.get('ok')?.action, 'started');
  const warnings = (doc.warnings ?? []).join('\n');
  t.regex(warnings, /gateway_state\.json \(is a symlink\)/);
  t.regex(warnings, /config\.yaml could not be read \(is a symlink\)/);
  t.false(warnings.includes(SECRET));
  t.true(fs.lstatSync(p('profiles', 'stdir', 'state')).isSymbolicLink());
});

test('a symlinked profiles/ is unreadable, not empty: boot creates no slot from it and sync removes nothing', async (t) => {
  const l = await layout('profiles-link');
  writeProfiles(l.home, { alice: 'running', bob: 'stopped' });
  t.is((await runWorld('boot', l)).code, 0);
  t.deepEqual(slots(l), ['gateway-alice', 'gateway-bob', 'gateway-default']);
  fs.renameSync(path.join(l.home, 'profiles'), path.join(l.root, 'moved-profiles'));
  link(path.join(l.outside, 'profiles'), path.join(l.home, 'profiles'));
  const outsideBefore = snapshot(l.outside);

  const { doc, ...result } = await runWorldJson('sync', l);
  t.is(result.code, 2, 'the empty-set guard blocks pruning');
  t.deepEqual(slots(l), ['gateway-alice', 'gateway-bob', 'gateway-default']);
  t.regex(
    String((doc as { pruneBlocked?: string }).pruneBlocked),
    /profiles cannot be used \(is a symlink\): .* named slot\(s\) are kept as they are until it can be read/,
  );
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);
  t.false((doc.profiles ?? []).some((d) => d.profile === 'evil'));
});

test('boot over a symlinked profiles/ says that no named profile is used, and why, instead of registering the root alone without a word', async (t) => {
  const l = await layout('profiles-link-boot');
  fs.mkdirSync(path.join(l.root, 'real', 'coder'), { recursive: true });
  fs.writeFileSync(path.join(l.root, 'real', 'coder', 'SOUL.md'), '');
  fs.rmSync(path.join(l.home, 'profiles'), { recursive: true, force: true });
  link(path.join(l.root, 'real'), path.join(l.home, 'profiles'));
  const r = await runWorld('boot', l);
  t.is(r.code, 0, r.stderr);
  t.true(
    r.stderr.includes(
      `warn: ${l.home}/profiles cannot be used (is a symlink): no named profile is used, only the root profile default; ` +
        'make it a directory the user running the tool can read (a symlink there is never followed)',
    ),
    r.stderr,
  );
  t.deepEqual(slots(l), ['gateway-default']);
});

test('a symlinked profiles/default is upstream’s shadowed default: one default line and its warning, whatever it points at', async (t) => {
  const l = await layout('default-link');
  fs.mkdirSync(path.join(l.root, 'real'));
  fs.writeFileSync(path.join(l.root, 'real', 'SOUL.md'), '');
  link(path.join(l.root, 'real'), path.join(l.home, 'profiles', 'default'));
  const { doc, ...r } = await runWorldJson('boot', l);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    (doc.profiles ?? []).filter((d) => d.profile === 'default').length,
    1,
    'the root profile once, not a second, skipped default',
  );
  t.regex(r.stderr, /profiles\/default\/ exists \u2014 skipping to avoid colliding with the reserved root-profile s6 slot/);
});

test('a symlinked logs/ or container-boot.log is never written through; the pass still completes', async (t) => {
  const l = await layout('logs-link');
  writeProfiles(l.home, { alice: 'running' });
  link(path.join(l.outside, 'logs'), path.join(l.home, 'logs'));
  const outsideBefore = snapshot(l.outside);
  const first = await runWorldJson('boot', l);
  t.is(first.code, 0);
  t.regex((first.doc.warnings ?? []).join('\n'), /could not write the boot log/);
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);

  fs.unlinkSync(path.join(l.home, 'logs'));
  link(path.join(l.outside, 'victim.log'), path.join(l.home, 'logs', 'container-boot.log'));
  const second = await runWorldJson('boot', l);
  t.is(second.code, 0);
  t.regex((second.doc.warnings ?? []).join('\n'), /could not write the boot log/);
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);
  t.true(fs.lstatSync(path.join(l.home, 'logs', 'container-boot.log')).isSymbolicLink());
});

test('rotation onto a symlinked container-boot.log.1 replaces the link, never the file it points to', async (t) => {
  const l = await layout('rotate-link', { bootLogMaxBytes: 1024 });
  writeProfiles(l.home, { alice: 'running' });
  fs.mkdirSync(path.join(l.home, 'logs'));
  const full = 'x'.repeat(2000) + '\n';
  fs.writeFileSync(path.join(l.home, 'logs', 'container-boot.log'), full);
  link(path.join(l.outside, 'victim.1'), path.join(l.home, 'logs', 'container-boot.log.1'));
  const outsideBefore = snapshot(l.outside);

  const result = await runWorld('boot', l);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);
  const rotated = path.join(l.home, 'logs', 'container-boot.log.1');
  t.true(fs.lstatSync(rotated).isFile(), 'the rotated log replaced the symlink');
  t.is(fs.readFileSync(rotated, 'utf8'), full);
  t.regex(fs.readFileSync(path.join(l.home, 'logs', 'container-boot.log'), 'utf8'), /profile=alice prior_state=running action=started/);
});

test('the legacy seed never writes through a dangling root gateway_state.json symlink', async (t) => {
  const l = await layout('seed-link');
  const target = path.join(l.outside, 'planted.json');
  link(target, path.join(l.home, 'gateway_state.json'));
  writeConfig(l);
  const argv = JSON.stringify(['/init', '/opt/hermes/docker/main-wrapper.sh', 'gateway', 'run']);
  const { doc, ...result } = await runWorldJson('boot', l, ['--container-argv', argv]);
  t.is(result.code, 0, result.stderr);
  t.false(fs.existsSync(target), 'the seed was written through the symlink');
  t.true(fs.lstatSync(path.join(l.home, 'gateway_state.json')).isSymbolicLink());
  t.is((doc.profiles ?? []).find((d) => d.profile === 'default')?.action, 'registered');
});

test('a state file that is not JSON (say a hard link to a secret) never has its bytes echoed in a warning', async (t) => {
  const l = await layout('state-bytes');
  writeProfiles(l.home, { alice: undefined, bob: undefined });
  fs.linkSync(path.join(l.outside, 'secret.txt'), path.join(l.home, 'profiles', 'alice', 'gateway_state.json'));
  fs.writeFileSync(path.join(l.home, 'profiles', 'bob', 'gateway_state.json'), `{"desired_state": ${SECRET}}`);
  const { doc, ...result } = await runWorldJson('boot', l);
  t.is(result.code, 0, result.stderr);
  t.false(`${result.stdout}${result.stderr}`.includes(SECRET.slice(0, 9)), 'bytes of the state file reached the output');
  t.regex((doc.warnings ?? []).join('\n'), /alice\/gateway_state\.json \(invalid JSON\)/);
});

test('a boot log that is a hard link to another file is never appended to', async (t) => {
  const l = await layout('log-hardlink');
  writeProfiles(l.home, { alice: 'running' });
  fs.mkdirSync(path.join(l.home, 'logs'));
  fs.linkSync(path.join(l.outside, 'victim.log'), path.join(l.home, 'logs', 'container-boot.log'));
  const outsideBefore = snapshot(l.outside);
  const { doc, ...result } = await runWorldJson('boot', l);
  t.is(result.code, 0, result.stderr);
  t.regex((doc.warnings ?? []).join('\n'), /could not write the boot log: .*has 2 hard links/);
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);
});
