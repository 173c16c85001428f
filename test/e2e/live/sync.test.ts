import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { processAlive } from '../../helpers/s6.js';
import { type S6World, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { writeState } from '../../helpers/cli.js';
import { needsS6 } from '../../helpers/needs.js';

const execFileAsync = promisify(execFile);
const RUNNING = { desired_state: 'running', gateway_state: 'running' };
const STOPPED = { desired_state: 'stopped', gateway_state: 'stopped' };

test.after.always('stop s6 and remove temp dirs', removeS6Worlds);

async function setup(profiles: Record<string, object | string | undefined>): Promise<S6World> {
  const env = await makeS6World('live', { profiles });
  const boot = await env.cli('sync');
  if (boot.code !== 0) throw new Error(`first sync failed: ${boot.stderr}`);
  return env;
}

interface Op {
  kind: string;
  service: string;
  status?: string;
}

function opsOf(doc: Record<string, unknown>): string[] {
  return (doc['operations'] as Op[]).map((o) => `${o.kind} ${o.service}${o.status === undefined ? '' : ` ${o.status}`}`);
}

needsS6(test)(
  'sync brings a newly wanted gateway up and an unwanted one down, picks up a new profile, and leaves healthy gateways running',
  async (t) => {
    const env = await setup({ a: RUNNING, b: STOPPED, c: RUNNING });
    await env.waitUp('a');
    await env.waitUp('c');
    const healthy = await env.pid('c');

    writeState(path.join(env.home, 'profiles/a/gateway_state.json'), STOPPED);
    writeState(path.join(env.home, 'profiles/b/gateway_state.json'), RUNNING);
    await env.profile('d', RUNNING);
    const sync = await env.json('sync');
    t.is(sync.code, 0, sync.stderr);
    t.is(sync.doc['mode'], 'sync');
    t.deepEqual(opsOf(sync.doc), ['down gateway-a applied', 'up gateway-b applied', 'create gateway-d applied']);

    await env.svscan.waitSvstat('gateway-a', 'up,wantedup', 'false false');
    await env.waitUp('b');
    await env.waitUp('d');
    t.is(await env.pid('c'), healthy, 'a gateway whose intent did not change keeps its process');
    t.true(processAlive(healthy));

    const preview = await env.json('sync', ['--diff']);
    t.is(preview.code, 0, 'a second sync plans nothing');
    t.deepEqual(opsOf(preview.doc), []);
    const again = await env.json('sync');
    t.is(again.code, 0);
    t.deepEqual(opsOf(again.doc), []);
    t.is(await env.pid('c'), healthy);
  },
);

needsS6(test)('an unreadable or missing state file leaves a running gateway running, reported as pending', async (t) => {
  const env = await setup({ a: RUNNING, b: RUNNING });
  await env.waitUp('a');
  await env.waitUp('b');
  const [pidA, pidB] = [await env.pid('a'), await env.pid('b')];

  writeState(path.join(env.home, 'profiles/a/gateway_state.json'), '{"desired_state": "stopp');
  await rm(path.join(env.home, 'profiles/b/gateway_state.json'));
  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(opsOf(sync.doc), []);
  const decisions = sync.doc['profiles'] as { profile: string; action: string; reason?: string }[];
  t.like(
    decisions.find((d) => d.profile === 'a'),
    { action: 'pending' },
  );
  t.regex(decisions.find((d) => d.profile === 'a')?.reason ?? '', /unreadable: invalid JSON/);
  t.regex(decisions.find((d) => d.profile === 'b')?.reason ?? '', /state file missing/);
  t.is(await env.pid('a'), pidA);
  t.is(await env.pid('b'), pidB);
  t.true((await env.svscan.svstat('gateway-a')).normallyup, 'no down marker was written');
});

needsS6(test)('sync respects a gateway s6 stopped after a permanent failure and an operator s6-svc -d', async (t) => {
  const env = await setup({ crash: RUNNING, manual: RUNNING });
  // The fake gateway exits 78 for crash*: the rendered finish exits 125, a permanent failure.
  await env.svscan.waitSvstat('gateway-crash', 'up,wantedup,exitcode', 'false false 78');
  await env.waitUp('manual');
  await execFileAsync('s6-svc', ['-d', env.slot('manual')]);
  await env.svscan.waitSvstat('gateway-manual', 'up,wantedup', 'false false');

  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(opsOf(sync.doc), [], 'the down marker already matches intent: nothing is sent to s6');
  await new Promise((r) => setTimeout(r, 300));
  t.like(await env.svscan.svstat('gateway-crash'), { up: false, wantedup: false });
  t.like(await env.svscan.svstat('gateway-manual'), { up: false, wantedup: false });

  const status = await env.json('status', ['--status-file', path.join(env.root, 'none.json')]);
  const rows = status.doc['profiles'] as {
    profile: string;
    live: { permanentFailure: boolean; lastExit: unknown } | null;
    drift: string[];
  }[];
  const crash = rows.find((r) => r.profile === 'crash');
  t.true(crash?.live?.permanentFailure, 'status shows the permanent failure');
  t.deepEqual(crash?.live?.lastExit, { code: 78 });
  t.true(crash?.drift.some((d) => /failed \(exit 78, config error\)/.test(d)));
  const manual = rows.find((r) => r.profile === 'manual');
  t.false(manual?.live?.permanentFailure);
  t.true(manual?.drift.some((d) => /stopped \(s6 or operator\)/.test(d)));
});

needsS6(test)('sync with no live s6-svscan changes only files', async (t) => {
  const env = await setup({ a: RUNNING });
  await env.waitUp('a');
  const pid = await env.pid('a');
  await env.svscan.stop();
  t.false(processAlive(pid));
  writeState(path.join(env.home, 'profiles/a/gateway_state.json'), STOPPED);
  await env.profile('b', RUNNING);
  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(opsOf(sync.doc), ['down gateway-a applied', 'create gateway-b applied']);
  t.true(existsSync(path.join(env.slot('a'), 'down')), 'the down marker is the persisted intent');
  t.true(existsSync(path.join(env.slot('b'), 'run')));
  // Applied, yet nothing started: said, not left to the summary.
  const warning = `no s6-svscan runs on ${env.scandir}: the changes to gateway-a and gateway-b are written, but until one runs there no new slot is supervised`;
  t.true(
    (sync.doc['warnings'] as string[]).some((w) => w.startsWith(warning)),
    JSON.stringify(sync.doc['warnings']),
  );
  const converged = await env.json('sync');
  t.deepEqual(converged.doc['warnings'], [], 'a pass that changes nothing has nothing to warn of');
  writeState(path.join(env.home, 'profiles/b/gateway_state.json'), STOPPED);
  const boot = await env.json('boot');
  t.deepEqual(opsOf(boot.doc), ['down gateway-b applied']);
  t.false(
    (boot.doc['warnings'] as string[]).some((w) => w.startsWith('no s6-svscan runs')),
    'boot runs before s6-svscan starts, by design',
  );
  writeState(path.join(env.home, 'profiles/a/gateway_state.json'), RUNNING);
  const preview = await env.json('sync', ['--diff']);
  t.true(
    (preview.doc['warnings'] as string[]).some((w) =>
      w.startsWith(`no s6-svscan runs on ${env.scandir}: the changes to gateway-a would be written`),
    ),
    JSON.stringify(preview.doc['warnings']),
  );
});
