/** runOnce, the pass behind boot and sync: output formats and the colour decision. */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { healWaitLines, runOnce } from '../../../../src/cli/commands/once.js';
import type { LiveStatus } from '../../../../src/model.js';
import type { DriftEvidence } from '../../../../src/desired/drift.js';
import { HOST, home, liveUp, observedOf, scandirOf, slotOf, specOf } from '../../../helpers/observed.js';
import { PASS_OPTIONS } from '../../../helpers/pass-result.js';
import { TEST_SETTINGS, writeConfig } from '../../../helpers/cli.js';
import { captureIo, recordingLogger, world } from '../support.js';

const ESC = '\u001b';

test('the mode decides the document’s mode field', async (t) => {
  const w = await world(t, { a: {} });
  for (const mode of ['boot', 'sync'] as const) {
    const io = captureIo();
    await runOnce(mode, w.args(mode, '--diff', '--output', 'json'), io, recordingLogger().logger);
    t.like(JSON.parse(io.out()), { mode, dryRun: true, exitCode: 1 });
  }
});

test('--diff is coloured on a terminal only, never with a non-empty NO_COLOR, with colours the only escape sequences', async (t) => {
  const w = await world(t, { a: {} });
  const diff = async (env: NodeJS.ProcessEnv, tty: boolean): Promise<string> => {
    const io = captureIo(env, tty);
    t.is(await runOnce('sync', w.args('sync', '--diff'), io, recordingLogger().logger), 1);
    return io.out();
  };
  const terminal = await diff({}, true);
  t.true(terminal.includes(`${ESC}[32mcreate${ESC}[39m`));
  t.false(terminal.replace(/\u001b\[\d+m/g, '').includes(ESC), 'colours are the only escape sequences');
  t.false((await diff({}, false)).includes(ESC));
  t.false((await diff({ NO_COLOR: '1' }, true)).includes(ESC));
  t.true((await diff({ NO_COLOR: '' }, true)).includes(`${ESC}[32mcreate${ESC}[39m`), 'an empty NO_COLOR is no request (no-color.org)');
  t.false((await diff({ TERM: 'dumb' }, true)).includes(ESC), 'a dumb terminal gets none');
});

test('multiplex fold notices go to stdout in text and to stderr with --output json', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const fold = writeConfig(w, { ...TEST_SETTINGS, multiplexPolicy: 'fold' }, true);
  const env = { GATEWAY_MULTIPLEX_PROFILES: '1' };
  const notice =
    'reconcile: profile gateway(s) a asked to autostart; one gateway per container serves every profile, so the ROOT slot (gateway-default) was started instead and multiplexes them.\n';
  const text = captureIo(env);
  await runOnce('sync', w.args('sync', '--diff', '--config', fold), text, recordingLogger().logger);
  t.true(text.out().startsWith(notice));
  const json = captureIo(env);
  await runOnce('sync', w.args('sync', '--diff', '--output', 'json', '--config', fold), json, recordingLogger().logger);
  t.is(json.err(), notice);
  t.like(JSON.parse(json.out()), { multiplex: true, foldedProfiles: ['a'] });
});

test('at --log-level debug a run says its role, config, lock, what it read and planned, and what it applied', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const { logger, records } = recordingLogger();
  t.is(await runOnce('sync', w.args('sync', '--log-level', 'debug'), captureIo(), logger), 0);
  const debug = records.filter((r) => r.level === 'debug').map((r) => r.message);
  t.true(debug.includes('role: gateway (from --container-argv [])'), debug.join('\n'));
  t.true(debug.includes(`config: ${w.configFile}`));
  t.true(debug.includes(`holding the run lock ${w.scandir}/.reconcile-gateways/lock`));
  t.true(
    debug.some((m) => /^read 2 profiles and 0 slots, planned 2 operations in \d+ ms$/.test(m)),
    debug.join('\n'),
  );
  t.true(
    debug.some((m) => /^applied 2 operations in \d+ ms$/.test(m)),
    debug.join('\n'),
  );
});

test('at --log-level debug a run names the directories under profiles/ it skipped for lack of a SOUL.md', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  for (const dir of ['half-made', 'notes']) fs.mkdirSync(path.join(w.home, 'profiles', dir), { recursive: true });
  fs.writeFileSync(path.join(w.home, 'profiles', 'half-made', 'gateway_state.json'), '{"desired_state": "running"}');
  const { logger, records } = recordingLogger();
  t.is(await runOnce('sync', w.args('sync', '--diff', '--log-level', 'debug'), captureIo(), logger), 1);
  const debug = records.filter((r) => r.level === 'debug').map((r) => r.message);
  t.true(debug.includes('not profiles (no SOUL.md): profiles/half-made and profiles/notes'), debug.join('\n'));
});

const NOW_S = 2_000_000_000;

/** The heal lines `sync --heal` prints for one down gateway `name` whose IntentRunningButDown began at `live`'s since. */
function healLines(name: string, live: LiveStatus, graceSeconds: number, evidence: DriftEvidence): string[] {
  const observed = observedOf(home(), scandirOf([slotOf(specOf(name, true), { live })], { svscanLive: true }));
  const drift = [
    { type: 'IntentRunningButDown' as const, service: `gateway-${name}`, profile: name, sinceUnix: live.updownSinceUnix, evidence },
  ];
  const options = {
    ...PASS_OPTIONS,
    host: { ...HOST, nowMs: NOW_S * 1000 },
    drift: { graceSeconds, crashRestarts: 5, crashWindowSeconds: 600 },
  };
  return healWaitLines({ observed, drift, options });
}

test('sync --heal says which heal its back-off holds back, for how long, and why', (t) => {
  const deaths = [NOW_S - 9, NOW_S - 6, NOW_S - 3].map((atUnix) => ({ atUnix, exitcode: 1, signum: -1 }));
  const live = { ...liveUp(NOW_S - 3), up: false, wantedUp: false, pid: -1, exitcode: 1, deaths };
  t.deepEqual(healLines('quit', live, 0, { exitcode: 1 }), [
    'gateway-quit: heal held back 1 s more (back-off after 3 recent deaths: 1 s, doubling, at most 300 s); a later sync --heal or watch --heal brings it up',
  ]);
});

test('sync --heal says why it leaves alone a gateway s6 wants up but cannot start', (t) => {
  const live = { ...liveUp(NOW_S - 60), up: false, wantedUp: true, pid: -1, exitcode: 0, deaths: [] };
  t.deepEqual(healLines('lost', live, 30, {}), [
    "gateway-lost: no heal: s6 already wants it up but has not started ./run (s6-svc -u would change nothing); can it run? s6-svscan's output says why",
  ]);
});
