import test from 'ava';
import { chownSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { makeHermesHome } from '../../helpers/tree.js';
import { makeS6World, removeS6Worlds, waitHealDue } from '../../helpers/s6-world.js';
import { makeWorld, runCli } from '../../helpers/cli.js';
import { worldArgs, writeProfile } from '../../helpers/world.js';
import { readiness, startWatch } from '../../helpers/watcher.js';
import { needsS6 } from '../../helpers/needs.js';
import { waitFor } from '../../helpers/s6.js';
import { decodeDeathTally } from '../../../src/observe/death-tally.js';

const RUNNING = { desired_state: 'running' };
test.after.always('stop watchers and s6, remove temp dirs', removeS6Worlds);

needsS6(test)(
  'status shows intent, slot, marker, live state, drift and the watcher, as a table and as a valid JSON document, without running s6 tools',
  async (t) => {
    const env = await makeS6World('live', {
      profiles: { up: RUNNING, idle: { desired_state: 'stopped', gateway_state: 'stopped' }, crash: RUNNING },
    });
    const w = startWatch(env);
    await readiness(w);
    await env.waitUp('up');
    await env.svscan.waitSvstat('gateway-crash', 'up,wantedup,exitcode', 'false false 78');
    w.child.kill('SIGTERM');
    t.is(await w.exited, 0);
    await env.profile('new', RUNNING);
    // A PATH whose s6 tools record every call: status must decode supervise/status itself.
    const spy = path.join(env.root, 'spy');
    await mkdir(spy);
    for (const tool of ['s6-svstat', 's6-svok', 's6-svc', 's6-svscanctl']) {
      await writeFile(path.join(spy, tool), `#!/bin/sh\necho ${tool} >> ${spy}/calls\nexit 1\n`, { mode: 0o755 });
    }
    const argv = ['status', ...env.flags, '--status-file', w.statusFile];
    const withSpy = { env: { PATH: `${spy}:${process.env['PATH'] ?? ''}` } };

    const json = await runCli([...argv, '--output', 'json'], withSpy);
    t.is(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as Record<string, unknown>;
    const { validateStatusReport } = await loadValidators();
    t.true(validateStatusReport?.(doc), JSON.stringify(validateStatusReport?.errors));
    const rows = doc['profiles'] as {
      profile: string;
      intent: Record<string, unknown>;
      slot: Record<string, unknown>;
      live: Record<string, unknown> | null;
      drift: string[];
      watcher: unknown;
    }[];
    const row = (p: string): (typeof rows)[number] | undefined => rows.find((r) => r.profile === p);
    t.like(row('up'), {
      intent: { desiredState: 'running', action: 'started', autostart: true },
      slot: { present: true, owned: true, marker: 'up' },
    });
    t.like(row('up')?.live, { up: true, wantedUp: true, permanentFailure: false, pid: await env.pid('up') });
    t.like(row('idle'), {
      intent: { desiredState: 'stopped', gatewayState: 'stopped' },
      slot: { marker: 'down' },
      live: { up: false, wantedUp: false },
    });
    t.like(row('crash')?.live, { permanentFailure: true, lastExit: { code: 78 } });
    t.like(row('new'), { slot: { present: false }, live: null, drift: ['create: slot missing'] });
    t.like(row('up')?.watcher, { condition: 'Ready' });
    t.like(doc['watcher'], { state: 'present', running: false, lastPass: { result: 'converged' }, stopped: { by: 'SIGTERM' } });
    t.is(doc['svscanLive'], true);

    const text = await runCli(argv, withSpy);
    t.is(text.code, 0, text.stderr);
    const lines = text.stdout.split('\n');
    t.regex(lines[0] ?? '', /^PROFILE +INTENT +SLOT +LIVE +FOR +NOTE$/);
    t.regex(text.stdout, /^crash +running +ours,up +failed exit 78 +\S+ +live: failed \(exit 78, config error\)/m);
    t.regex(text.stdout, /^idle +stopped +ours,down +down +\S+$/m, 'never ran: no made-up exit 0');
    t.regex(text.stdout, new RegExp(`^up +running +ours,up +up ${await env.pid('up')} +\\S+$`, 'm'));
    t.true(
      lines.some((l) => l.startsWith('Legend: ')),
      'a legend explains the short words',
    );
    const bare = await runCli([...argv, '--no-legend'], withSpy);
    t.is(bare.code, 0, bare.stderr);
    t.false(bare.stdout.includes('Legend: '), '--no-legend leaves it out');
    t.is(bare.stdout.split('\n')[0], lines[0], 'and keeps the table');
    const stopped = (doc['watcher'] as { stopped: { at: string } }).stopped;
    t.true(
      lines.some((l) =>
        l.startsWith(`watcher: pid ${String((doc['watcher'] as { pid: number }).pid)} stopped by SIGTERM at ${stopped.at} (`),
      ),
      'the clean stop the watcher recorded',
    );
    t.true(lines.some((l) => /^last pass \S+ \(\S+ ago\): (full|targeted) \((start|event)\) converged in \d+ ms$/.test(l)));
    t.false(text.stdout.includes('next full pass'), 'a watcher that is gone promises no next pass');
    for (const l of lines) t.true(l.length <= 100, `fits 100 columns: ${l}`);
    t.is(await readFileOrEmpty(path.join(spy, 'calls')), '', 'no s6 tool was run');

    // The same status file, read for another scandir (one that does not exist: a mistyped path):
    // it is named as another watcher's, its conditions are not shown, and the missing scandir is said.
    const elsewhere = path.join(env.root, 'no-such-scandir');
    const other = await runCli(['status', ...env.flags, '--scandir', elsewhere, '--status-file', w.statusFile, '--output', 'json']);
    t.is(other.code, 0, other.stderr);
    const otherDoc = JSON.parse(other.stdout) as { watcher: unknown; profiles: { watcher?: unknown }[]; warnings: string[] };
    t.true(validateStatusReport?.(otherDoc), JSON.stringify(validateStatusReport?.errors));
    t.like(otherDoc.watcher, { state: 'elsewhere', statusFile: w.statusFile });
    t.true(
      otherDoc.profiles.every((r) => r.watcher === undefined || r.watcher === null),
      'conditions of another scandir were shown',
    );
    t.true(otherDoc.warnings.some((m) => m.startsWith(`scandir ${elsewhere} does not exist`)));
    const otherText = await runCli(['status', ...env.flags, '--scandir', elsewhere, '--status-file', w.statusFile]);
    t.regex(otherText.stdout.replaceAll('\n  ', ' '), /^watcher: status file \S+ is of a watcher over \S+ and \S+, not these/m);
  },
);

test('sync and status warn when the scandir holds more than 500 services, a logger counting with its service as s6-svscan counts', async (t) => {
  const w = await makeWorld('many', { create: 'none', settings: false });
  const home = await makeHermesHome(w.home, { a: { state: RUNNING } });
  const scandir = w.scandir;
  const foreign = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i += 1) await mkdir(path.join(scandir, `svc${i}`, 'log'), { recursive: true });
  };
  const flags = ['--hermes-home', home, '--scandir', scandir, '--container-argv', '[]', '--lock-file', path.join(w.root, 'lock')];
  const warningsOf = async (): Promise<string[]> => {
    const sync = await runCli(['sync', ...flags, '--output', 'json']);
    t.is(sync.code, 0, sync.stderr);
    return (JSON.parse(sync.stdout) as { warnings: string[] }).warnings;
  };
  // 400 services with loggers and two slots (a, default): 402, not 804.
  await foreign(0, 400);
  t.false(
    (await warningsOf()).some((m) => m.includes('at most 500')),
    'loggers do not count on their own',
  );
  await foreign(400, 499);
  const warnings = await warningsOf();
  t.true(
    warnings.some((m) => /^the scandir holds 501 services \(a logger counts with its service\); s6-svscan supervises at most 500/.test(m)),
    warnings.join('\n'),
  );
  const status = await runCli(['status', ...flags, '--status-file', path.join(w.root, 'none.json')]);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /^warning: the scandir holds 501 services/m);
  t.regex(status.stdout, /^watcher: no status file at /m);
});

test('status in a container of another role says that nothing there acts on its notes, and a RUNNING intent is warned about', async (t) => {
  const w = await makeWorld('role', {});
  writeProfile(w.home, 'coder', { desired_state: 'RUNNING' });
  const flags = [...worldArgs(w), '--status-file', path.join(w.root, 'none.json')];
  const note =
    /^warning: role none: boot, sync and watch change nothing in this container; the notes say what they would do in a gateway container$/m;
  const none = await runCli(['status', ...flags, '--role', 'none']);
  t.is(none.code, 0, none.stderr);
  t.regex(none.stdout.replace(/\n {2}/g, ' '), note);
  const json = await runCli(['status', ...flags, '--role', 'dashboard', '--output', 'json']);
  t.true((JSON.parse(json.stdout) as { warnings: string[] }).warnings.some((m) => m.startsWith('role dashboard: ')));
  const gateway = await runCli(['status', ...flags]);
  t.notRegex(gateway.stdout, /role /);
  t.regex(
    gateway.stdout.replace(/\n {2}/g, ' '),
    /desired_state "RUNNING" is neither "running" nor "stopped"; only "running" starts a gateway/,
  );
});

test('status names the directories under profiles/ that are no profiles (no SOUL.md), as a line and in JSON', async (t) => {
  const w = await makeWorld('nosoul', {});
  writeProfile(w.home, 'coder', { desired_state: 'running' });
  await mkdir(path.join(w.home, 'profiles', 'draft'), { recursive: true });
  await writeFile(path.join(w.home, 'profiles', 'draft', 'gateway_state.json'), '{"desired_state":"running"}');
  const flags = [...worldArgs(w), '--status-file', path.join(w.root, 'none.json')];
  const text = await runCli(['status', ...flags]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^not profiles \(no SOUL\.md, so no gateway\): profiles\/draft; a SOUL\.md in one makes it a profile$/m);
  t.notRegex(text.stdout, /^draft /m, 'no row');
  const json = await runCli(['status', ...flags, '--output', 'json']);
  const doc = JSON.parse(json.stdout) as Record<string, unknown>;
  const { validateStatusReport } = await loadValidators();
  t.true(validateStatusReport?.(doc), JSON.stringify(validateStatusReport?.errors));
  t.deepEqual(doc['notProfiles'], ['draft']);
  await writeFile(path.join(w.home, 'profiles', 'draft', 'SOUL.md'), 'soul\n');
  const after = JSON.parse((await runCli(['status', ...flags, '--output', 'json'])).stdout) as Record<string, unknown>;
  t.false('notProfiles' in after, 'absent when every directory is a profile');
});

async function readFileOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

needsS6(test)(
  'as a user who may not look into .s6-svscan, status says it cannot tell whether s6-svscan runs, and still shows the live state it can read',
  async (t) => {
    const env = await makeS6World('live-nobody', { profiles: { coder: RUNNING } });
    t.is((await env.cli('sync')).code, 0);
    await env.waitUp('coder');
    const nobody = { uid: 65534, gid: 65534 };
    const json = await env.json('status', [], nobody);
    t.is(json.code, 0, json.stderr);
    const { validateStatusReport } = await loadValidators();
    t.true(validateStatusReport?.(json.doc), JSON.stringify(validateStatusReport?.errors));
    t.is(json.doc['svscanLive'], false);
    t.is(json.doc['svscanUnknown'], '.s6-svscan/control: permission denied');
    const rows = json.doc['profiles'] as { profile: string; live: { up: boolean } | null; drift: string[] }[];
    const coder = rows.find((r) => r.profile === 'coder');
    t.is(coder?.live?.up, true, "coder's supervise/ lets its group read the state");
    t.deepEqual(coder?.drift, [], 'no pickup is planned for a supervised slot');
    const table = await env.cli('status', [], nobody);
    t.regex(
      table.stdout.replace(/\n\s*/g, ' '),
      /whether s6-svscan runs is unknown to this user \(\.s6-svscan\/control: permission denied\)/,
    );
    t.notRegex(table.stdout, /s6-svscan is not running/);
  },
);

needsS6(test)(
  'as a user who cannot tell whether s6-svscan runs, sync --heal applies the heal its --diff previews, through the supervise/ its group may only search',
  async (t) => {
    const env = await makeS6World('live-nobody-heal', { profiles: { zero: RUNNING } });
    t.is((await env.cli('sync')).code, 0);
    await env.svscan.waitSvstat('gateway-zero', 'up,wantedup,exitcode', 'false false 0');
    await waitHealDue(env, 'zero');
    const nobody = { uid: 65534, gid: 65534 };
    const locks = path.join(env.root, 'locks');
    await mkdir(locks);
    chownSync(locks, nobody.uid, nobody.gid);
    const flags = ['--heal', '--drift-grace', '0', '--lock-file', path.join(locks, 'run.lock')];
    const diff = await env.cli('sync', ['--diff', ...flags], nobody);
    t.is(diff.code, 1, diff.stderr);
    t.regex(diff.stdout, /^gateway-zero heal: /m);
    // Root's state directory is no use to nobody, but with the lock elsewhere a heal needs none.
    t.notRegex(diff.stderr, /a real sync by this user/);
    const deaths = (): number => decodeDeathTally(readFileSync(path.join(env.slot('zero'), 'supervise', 'death_tally'))).length;
    const before = deaths();
    const sync = await env.cli('sync', flags, nobody);
    t.is(sync.code, 0, sync.stderr);
    t.regex(sync.stdout, /^reconcile: applied service=gateway-zero kind=heal /m, 'the pass reads the live state its --diff read');
    await waitFor(() => deaths() > before, 20_000, 'the healed gateway to run (and crash) again');
  },
);

needsS6(test)(
  'a forged supervise/status dated past the year 9999 is reported as 9999, by status, sync and watch alike, never a crash',
  async (t) => {
    const env = await makeS6World('forged', { profiles: { hy: RUNNING, other: RUNNING } });
    t.is((await env.cli('sync')).code, 0);
    await env.waitUp('hy');
    // What a slot's user can write in place of s6's status: the largest TAI64N label, a pid, want up.
    const forged = Buffer.alloc(35);
    forged.writeBigUInt64BE(2n ** 64n - 1n, 0);
    forged.writeUInt32BE(0xffffffff, 8);
    forged.writeBigUInt64BE(4242n, 24);
    forged[34] = 4;
    const supervise = path.join(env.slot('hy'), 'supervise');
    await writeFile(path.join(supervise, 'status.forged'), forged);
    await rename(path.join(supervise, 'status.forged'), path.join(supervise, 'status'));

    const status = await env.json('status', ['--status-file', path.join(env.root, 'none.json')]);
    t.is(status.code, 0, status.stderr);
    const { validateStatusReport } = await loadValidators();
    t.true(validateStatusReport?.(status.doc), JSON.stringify(validateStatusReport?.errors));
    const row = (status.doc['profiles'] as { profile: string; live: { since: string; pid: number } | null }[]).find(
      (r) => r.profile === 'hy',
    );
    t.like(row?.live, { since: '9999-12-31T23:59:59.000Z', pid: 4242 });
    t.is((await env.json('sync')).code, 0, 'sync reports over it too');
    const w = startWatch(env);
    await readiness(w);
    w.child.kill('SIGTERM');
    t.is(await w.exited, 0, 'the watcher became ready and stopped cleanly');
  },
);
