import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { healBackoffSeconds } from '../../../src/desired/drift.js';
import { decodeDeathTally } from '../../../src/observe/death-tally.js';
import { waitFor } from '../../helpers/s6.js';
import { type S6World, makeS6World, removeS6Worlds, waitHealDue } from '../../helpers/s6-world.js';
import { type ServiceEntry, type Watcher, freePort, readiness, readStatus, serviceIn, startWatch } from '../../helpers/watcher.js';
import { PROMTOOL, decide, isCi, needsS6 } from '../../helpers/needs.js';

const RUNNING = { desired_state: 'running' };
test.after.always('stop watchers and s6, remove temp dirs', removeS6Worlds);

async function setup(profiles: Record<string, object | undefined>): Promise<S6World> {
  const env = await makeS6World('live', { profiles });
  return env;
}

interface Drift {
  type: string;
  since: string;
  evidence: Record<string, number>;
}

function driftOf(doc: Record<string, unknown> | undefined, service: string): Drift[] {
  return (serviceIn(doc ?? {}, service) as (ServiceEntry & { drift?: Drift[] }) | undefined)?.drift ?? [];
}

async function waitDrift(w: Watcher, service: string, type: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  let doc: Record<string, unknown> | undefined;
  await waitFor(
    () => {
      doc = readStatus(w);
      return driftOf(doc, service).some((d) => d.type === type);
    },
    timeoutMs,
    `${service} to show ${type} (stderr: ${w.stderr.slice(-400)})`,
  );
  return doc ?? {};
}

/**
 * `promtool check metrics` on an exposition, as test/helpers/needs.ts decides for PROMTOOL: without
 * it the test fails under CI and, elsewhere, goes on with the lint skipped and says why.
 */
function checkWithPromtool(t: ExecutionContext, text: string, what: string): void {
  const decision = decide([PROMTOOL], isCi());
  if (decision.kind !== 'run') {
    if (decision.kind === 'fail') t.fail(decision.reason);
    else t.log(`${what} not linted: ${decision.reason}`);
    return;
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.is(r.status, 0, `promtool check metrics on ${what}: ${r.error?.message ?? ''}${r.stdout}${r.stderr}`);
}

/** The value of one exposition sample, found by its exact series text. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

needsS6(test)(
  'a gateway that exits 0 while its intent is running shows IntentRunningButDown in status, the status file and the metrics, and stays down without --heal',
  async (t) => {
    const env = await setup({ quit: RUNNING, ok: RUNNING });
    const port = await freePort();
    const metricsFile = path.join(env.root, 'metrics.prom');
    const w = startWatch(env, [
      '--interval',
      '1',
      '--drift-grace',
      '0.5',
      '--metrics-listen',
      `127.0.0.1:${port}`,
      '--metrics-file',
      metricsFile,
    ]);
    await readiness(w);
    const doc = await waitDrift(w, 'gateway-quit', 'IntentRunningButDown');
    const { validateStatusFile, validateStatusReport } = await loadValidators();
    t.true(validateStatusFile?.(doc), JSON.stringify(validateStatusFile?.errors));
    t.like(driftOf(doc, 'gateway-quit')[0], { type: 'IntentRunningButDown', evidence: { exitcode: 0 } });
    t.deepEqual(driftOf(doc, 'gateway-ok'), []);
    const passLine = (x: Watcher, part: string): boolean =>
      x.stdout.split('\n').some((l) => l.startsWith('reconcile: pass ') && l.includes(part));
    await waitFor(() => passLine(w, ' running_but_down=1 '), 10_000, 'a pass line naming the drift (stdout follows the status file)');

    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    t.is(res.status, 200);
    t.regex(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    t.is(sample(text, 'reconcile_gateways_service_drift{service="gateway-quit",condition="IntentRunningButDown"}'), 1);
    t.is(sample(text, 'reconcile_gateways_drift_conditions{condition="IntentRunningButDown"}'), 1);
    t.is(sample(text, 'reconcile_gateways_heals_total'), 0);
    checkWithPromtool(t, text, '/metrics');
    t.is((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    t.is((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    t.is((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
    await waitFor(() => statSync(metricsFile, { throwIfNoEntry: false }) !== undefined, 10_000, 'the metrics file');
    checkWithPromtool(t, readFileSync(metricsFile, 'utf8'), '--metrics-file');

    const status = await env.json('status', ['--drift-grace', '0.5', '--status-file', w.statusFile]);
    t.true(validateStatusReport?.(status.doc), JSON.stringify(validateStatusReport?.errors));
    const row = (status.doc['profiles'] as { service: string; driftConditions: Drift[] }[]).find((r) => r.service === 'gateway-quit');
    t.is(row?.driftConditions[0]?.type, 'IntentRunningButDown');
    const table = await env.cli('status', ['--drift-grace', '0.5', '--status-file', w.statusFile]);
    t.true(
      table.stdout.split('\n').some((l) => l.startsWith('quit ') && l.includes('IntentRunningButDown')),
      table.stdout,
    );
    t.false((await env.svscan.svstat('gateway-quit')).up, 'without --heal the gateway is left down');

    w.child.kill('SIGTERM');
    t.is(await w.exited, 0);
    const healer = startWatch(env, ['--interval', '1', '--drift-grace', '0.5', '--heal']);
    await readiness(healer);
    await env.waitUp('quit');
    await waitFor(() => driftOf(readStatus(healer), 'gateway-quit').length === 0, 10_000, 'the drift to clear');
    await waitFor(() => passLine(healer, ' heal=1 '), 10_000, 'a pass line naming the heal');
    t.pass();
  },
);

needsS6(test)(
  'with --heal a gateway that keeps exiting 0 (held down by finish) is healed with back-off until it is CrashLooping, then left down',
  async (t) => {
    const env = await setup({ zero: RUNNING });
    const port = await freePort();
    const flags = ['--interval', '0.5', '--drift-grace', '0.2', '--crash-restarts', '2', '--heal', '--metrics-listen', `127.0.0.1:${port}`];
    const w = startWatch(env, flags);
    await readiness(w);
    const doc = await waitDrift(w, 'gateway-zero', 'CrashLooping');
    const loop = driftOf(doc, 'gateway-zero').find((d) => d.type === 'CrashLooping');
    t.true((loop?.evidence['restarts'] ?? 0) > 2);
    t.is(loop?.evidence['exitcode'], 0);
    const tally = path.join(env.slot('zero'), 'supervise', 'death_tally');
    const deaths = statSync(tally).size;
    const passes = Number(readStatus(w)?.['passes']);
    await waitFor(() => Number(readStatus(w)?.['passes']) >= passes + 3, 15_000, 'three more passes');
    t.is(statSync(tally).size, deaths, 'no heal after CrashLooping: s6 recorded no further death');
    // Each heal waited a whole back-off step after the death before it: a lower bound only.
    const times = decodeDeathTally(readFileSync(tally)).map((d) => d.atUnix);
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
      t.true(
        gap >= healBackoffSeconds(i),
        `death ${i + 1} came ${gap.toFixed(3)} s after death ${i}, within the ${healBackoffSeconds(i)} s step`,
      );
    }
    t.false((await env.svscan.svstat('gateway-zero')).up);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    t.true((sample(text, 'reconcile_gateways_heals_total') ?? 0) >= 1);
    t.is(sample(text, 'reconcile_gateways_service_drift{service="gateway-zero",condition="CrashLooping"}'), 1);
  },
);

needsS6(test)(
  'sync --heal leaves a gateway that exited 78 (a config error) down, says why, and keeps it IntentRunningButDown',
  async (t) => {
    const env = await setup({ crash: RUNNING });
    t.is((await env.cli('sync')).code, 0);
    await env.svscan.waitSvstat('gateway-crash', 'up,wantedup,exitcode', 'false false 78');
    const tally = path.join(env.slot('crash'), 'supervise', 'death_tally');
    const deaths = statSync(tally).size;
    const heal = await env.json('sync', ['--heal', '--drift-grace', '0']);
    t.is(heal.code, 0, heal.stderr);
    t.deepEqual(heal.doc['operations'], [], 'no heal: it would run into the same error');
    t.like((heal.doc['drift'] as unknown[])[0], { type: 'IntentRunningButDown', service: 'gateway-crash', evidence: { exitcode: 78 } });
    t.regex(
      heal.stderr,
      new RegExp(
        `gateway-crash: no heal: its \\./run exited 78, a config error, which finish makes final; fix the cause, then s6-svc -u ${env.slot('crash')} \\(or hermes -p crash gateway start\\)`,
      ),
    );
    t.is(statSync(tally).size, deaths, 's6 recorded no further death: nothing started it');
  },
);

needsS6(test)(
  'sync --heal brings an IntentRunningButDown gateway up, --diff shows the heal first, and --metrics-file passes promtool',
  async (t) => {
    const env = await setup({ quit: RUNNING });
    t.is((await env.cli('sync')).code, 0);
    await env.svscan.waitSvstat('gateway-quit', 'up,wantedup,exitcode', 'false false 0');
    const plain = await env.json('sync', ['--drift-grace', '0']);
    t.deepEqual(plain.doc['operations'], [], 'without --heal nothing is planned');
    // ...but the run says what it found, in the JSON and after the text summary, and exits 0.
    t.like((plain.doc['drift'] as unknown[])[0], { type: 'IntentRunningButDown', service: 'gateway-quit' });
    const said = await env.cli('sync', ['--drift-grace', '0']);
    t.is(said.code, 0, said.stderr);
    t.regex(said.stdout, / exit=0 running_but_down=1 crash_looping=0 stopped_but_up=0 logger_down=0 drifting=gateway-quit\n$/);
    await waitHealDue(env, 'quit');
    const preview = await env.cli('sync', ['--diff', '--heal', '--drift-grace', '0']);
    t.is(preview.code, 1);
    t.true(
      preview.stdout.split('\n').some((l) => l.startsWith('gateway-quit heal: ')),
      preview.stdout,
    );
    const metricsFile = path.join(env.root, 'sync.prom');
    const healed = await env.json('sync', ['--heal', '--drift-grace', '0', '--metrics-file', metricsFile]);
    t.is(healed.code, 0, healed.stderr);
    t.like((healed.doc['operations'] as unknown[])[0], { kind: 'heal', service: 'gateway-quit', status: 'applied' });
    const { validatePlan } = await loadValidators();
    t.true(validatePlan?.(healed.doc), JSON.stringify(validatePlan?.errors));
    await env.waitUp('quit');
    const text = readFileSync(metricsFile, 'utf8');
    t.is(sample(text, 'reconcile_gateways_operations_total{kind="heal",result="applied"}'), 1);
    checkWithPromtool(t, text, 'sync --metrics-file');
  },
);

needsS6(test)(
  'a pass reports no drift for what it just fixed: stopping a running gateway leaves no IntentStoppedButUp behind',
  async (t) => {
    const env = await setup({ stop: RUNNING, stays: RUNNING });
    t.is((await env.cli('sync')).code, 0);
    await env.waitUp('stop');
    await env.waitUp('stays');
    await env.profile('stop', { desired_state: 'stopped' });
    const metricsFile = path.join(env.root, 'after.prom');
    const r = await env.json('sync', ['--metrics-file', metricsFile]);
    t.is(r.code, 0, r.stderr);
    t.like((r.doc['operations'] as unknown[])[0], { kind: 'down', service: 'gateway-stop', status: 'applied' });
    const text = readFileSync(metricsFile, 'utf8');
    t.is(sample(text, 'reconcile_gateways_drift_conditions{condition="IntentStoppedButUp"}'), 0, text);
    t.false(text.includes('reconcile_gateways_service_drift{service="gateway-stop"'), 'no drift series for the service just stopped');
    // The preview before the next pass, and that pass, see s6 as it now is: converged, no drift.
    await env.svscan.waitSvstat('gateway-stop', 'up', 'false');
    const again = await env.json('sync', ['--metrics-file', metricsFile]);
    t.deepEqual(again.doc['operations'], []);
    t.deepEqual(again.doc['drift'], []);
    t.is(sample(readFileSync(metricsFile, 'utf8'), 'reconcile_gateways_drift_conditions{condition="IntentStoppedButUp"}'), 0);
  },
);

needsS6(test)(
  'a logger that cannot run (its log directory is a file) is LoggerDown in status, the plan JSON, the summary and the metrics; its healthy neighbour is not',
  async (t) => {
    const env = await setup({ mute: RUNNING, ok: RUNNING });
    // s6-log cannot make its directory: it exits 111, and s6 starts it again every second.
    writeFileSync(path.join(env.home, 'logs', 'gateways', 'mute'), 'not a directory\n');
    t.is((await env.cli('sync')).code, 0);
    await env.waitUp('mute');
    await env.waitUp('ok');
    const loggerTally = path.join(env.slot('mute'), 'log', 'supervise', 'death_tally');
    await waitFor(() => decodeDeathTally(readFileSync(loggerTally)).length > 2, 30_000, 'three deaths of the logger of gateway-mute');
    const flags = ['--crash-restarts', '2'];
    const status = await env.json('status', flags);
    const { validateStatusReport, validatePlan } = await loadValidators();
    t.true(validateStatusReport?.(status.doc), JSON.stringify(validateStatusReport?.errors));
    const rows = status.doc['profiles'] as { service: string; driftConditions: Drift[] }[];
    t.like(rows.find((r) => r.service === 'gateway-mute')?.driftConditions[0], { type: 'LoggerDown', evidence: { exitcode: 111 } });
    t.deepEqual(rows.find((r) => r.service === 'gateway-ok')?.driftConditions, [], 'a logger that runs is no drift');
    const table = await env.cli('status', flags);
    t.regex(table.stdout, /^mute .*LoggerDown/m);
    const note = table.stdout.replace(/\s+/g, ' ');
    t.true(
      note.includes("its logger is not running: the gateway's output goes nowhere, and it hangs once the pipe fills; s6-log keeps dying"),
      note,
    );
    t.true(
      note.includes(`check that its directory ${path.join(env.home, 'logs', 'gateways', 'mute')} is a directory its user can write`),
      note,
    );

    const metricsFile = path.join(env.root, 'logger.prom');
    const plan = await env.json('sync', [...flags, '--heal', '--drift-grace', '0', '--metrics-file', metricsFile]);
    t.is(plan.code, 0, plan.stderr);
    t.true(validatePlan?.(plan.doc), JSON.stringify(validatePlan?.errors));
    t.like((plan.doc['drift'] as unknown[])[0], { type: 'LoggerDown', service: 'gateway-mute' });
    t.deepEqual(plan.doc['operations'], [], 'never healed: s6 restarts a logger by itself');
    const text = readFileSync(metricsFile, 'utf8');
    t.is(sample(text, 'reconcile_gateways_service_drift{service="gateway-mute",condition="LoggerDown"}'), 1);
    t.is(sample(text, 'reconcile_gateways_drift_conditions{condition="LoggerDown"}'), 1);
    checkWithPromtool(t, text, 'sync --metrics-file');
    const said = await env.cli('sync', flags);
    t.regex(said.stdout, / logger_down=1 drifting=gateway-mute\n$/);
  },
);
