import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Operation, OperationResult } from '../../../src/model.js';
import { DRIFT_TYPES } from '../../../src/desired/drift.js';
import type { ConditionTable, ServiceCondition } from '../../../src/watch/conditions.js';
import { Metrics, type PassRecord, writeMetricsFile } from '../../../src/watch/metrics.js';
import { TRIGGERS } from '../../../src/watch/scheduler.js';
import { removeTree, tempDir } from '../../helpers/tree.js';

/** The value of the sample `name{labels}` in an exposition, or undefined when there is none. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The series (name and labels) of metric `name` in an exposition. */
function series(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));
}

const op = (kind: Operation['kind'], service: string): Operation => ({ kind, service, profile: 'p', reason: 'r' }) as Operation;

function pass(
  result: PassRecord['summary']['result'],
  results: OperationResult[] = [],
  trigger: PassRecord['summary']['trigger'] = 'interval',
): PassRecord {
  return { summary: { result, durationMs: 40, finishedAt: '2026-12-06T03:00:00.000Z', trigger }, results };
}

function condition(service: string, over: Partial<ServiceCondition> = {}): ServiceCondition {
  return { service, profile: service.slice(8), condition: 'Ready', consecutiveFailures: 0, restartPending: false, sinceMs: 0, ...over };
}

const DOCUMENTED = [
  'passes_total',
  'pass_duration_seconds',
  'operations_total',
  'heals_total',
  'gateways',
  'drift_conditions',
  'service_drift',
  'service_live',
  'restarts_pending',
  'last_success_timestamp_seconds',
].map((n) => `reconcile_gateways_${n}`);

test('the exposition declares every documented metric, and docs/metrics.md documents each', async (t) => {
  const text = await new Metrics(TRIGGERS).text();
  const docs = fs.readFileSync(new URL('../../../../docs/metrics.md', import.meta.url), 'utf8');
  for (const name of DOCUMENTED) {
    t.true(text.includes(`# TYPE ${name} `), name);
    t.true(docs.includes(name), `docs/metrics.md names ${name}`);
  }
  const declared = text
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2]);
  t.deepEqual(declared.sort(), [...DOCUMENTED].sort());
});

test('a fresh registry reports zero drift of every type and zero heals', async (t) => {
  const text = await new Metrics(TRIGGERS).text();
  for (const type of DRIFT_TYPES) t.is(sample(text, `reconcile_gateways_drift_conditions{condition="${type}"}`), 0);
  t.is(sample(text, 'reconcile_gateways_heals_total'), 0);
});

test('every failure series an alert watches starts at 0, so the first failure is an increase', async (t) => {
  const text = await new Metrics(TRIGGERS).text();
  for (const kind of ['create', 'update', 'restart', 'up', 'down', 'remove', 'purge', 'heal', 'pickup']) {
    t.is(sample(text, `reconcile_gateways_operations_total{kind="${kind}",result="failed"}`), 0, kind);
    t.is(sample(text, `reconcile_gateways_operations_total{kind="${kind}",result="applied"}`), 0, kind);
  }
  t.false(text.includes('kind="sweep"'), 'no series for what only boot plans: it writes no metrics');
  for (const trigger of TRIGGERS) {
    for (const result of ['converged', 'partial', 'blocked', 'error']) {
      t.is(sample(text, `reconcile_gateways_passes_total{trigger="${trigger}",result="${result}"}`), 0, `${trigger} ${result}`);
    }
  }
  const once = await new Metrics(['once']).text();
  t.is(sample(once, 'reconcile_gateways_passes_total{trigger="once",result="error"}'), 0);
  t.false(once.includes('trigger="interval"'), "sync's file has only its own trigger");
});

test('counters move as passes are recorded', async (t) => {
  const m = new Metrics(TRIGGERS);
  m.recordPass(pass('converged', [{ op: op('create', 'gateway-a'), status: 'applied' }]));
  m.recordPass(
    pass('partial', [
      { op: op('create', 'gateway-b'), status: 'failed', error: 'EIO' },
      { op: op('heal', 'gateway-c'), status: 'applied' },
    ]),
  );
  m.recordPass(pass('converged', [], 'event'));
  const text = await m.text();
  t.is(sample(text, 'reconcile_gateways_passes_total{trigger="interval",result="converged"}'), 1);
  t.is(sample(text, 'reconcile_gateways_passes_total{trigger="interval",result="partial"}'), 1);
  t.is(sample(text, 'reconcile_gateways_passes_total{trigger="event",result="converged"}'), 1);
  t.is(sample(text, 'reconcile_gateways_operations_total{kind="create",result="applied"}'), 1);
  t.is(sample(text, 'reconcile_gateways_operations_total{kind="create",result="failed"}'), 1);
  t.is(sample(text, 'reconcile_gateways_heals_total'), 1);
  t.is(sample(text, 'reconcile_gateways_pass_duration_seconds_count'), 3);
  t.is(sample(text, 'reconcile_gateways_pass_duration_seconds_sum'), 0.12);
  t.is(sample(text, 'reconcile_gateways_last_success_timestamp_seconds'), Date.parse('2026-12-06T03:00:00.000Z') / 1000);
});

test('a pass that did not converge leaves the last success time alone', async (t) => {
  const m = new Metrics(TRIGGERS);
  m.recordPass(pass('error'));
  m.recordPass(pass('partial', [{ op: op('create', 'gateway-b'), status: 'failed', error: 'EIO' }]));
  t.is(sample(await m.text(), 'reconcile_gateways_last_success_timestamp_seconds'), 0);
});

test('a pass whose only failures are refusals (waiting for an operator, not the reconciler) is a success for last_success', async (t) => {
  const m = new Metrics(TRIGGERS);
  const refused = { ...op('update', 'gateway-z'), dirs: [], changes: [], refused: true } as Operation;
  m.recordPass(pass('partial', [{ op: refused, status: 'failed', error: 'not adopted' }]));
  const text = await m.text();
  t.is(sample(text, 'reconcile_gateways_last_success_timestamp_seconds'), Date.parse('2026-12-06T03:00:00.000Z') / 1000);
  t.is(sample(text, 'reconcile_gateways_operations_total{kind="update",result="failed"}'), 1, 'and the failure is counted');
  const mixed = new Metrics(TRIGGERS);
  mixed.recordPass(
    pass('partial', [
      { op: refused, status: 'failed', error: 'not adopted' },
      { op: op('create', 'gateway-b'), status: 'failed', error: 'EIO' },
    ]),
  );
  t.is(sample(await mixed.text(), 'reconcile_gateways_last_success_timestamp_seconds'), 0, 'a real failure beside it is no success');
});

test('per-service gauges have one series per existing slot, and forget removed ones', async (t) => {
  const m = new Metrics(TRIGGERS);
  const table: ConditionTable = {
    'gateway-a': condition('gateway-a', { autostart: true, live: 'up' }),
    'gateway-b': condition('gateway-b', {
      autostart: true,
      live: 'down',
      restartPending: true,
      drift: [{ type: 'IntentRunningButDown', service: 'gateway-b', profile: 'b', sinceUnix: 1, evidence: {} }],
    }),
    'gateway-c': condition('gateway-c'),
  };
  m.setServices(table);
  let text = await m.text();
  t.deepEqual(series(text, 'reconcile_gateways_service_live'), [
    'reconcile_gateways_service_live{service="gateway-a",intent="running",live="up"}',
    'reconcile_gateways_service_live{service="gateway-b",intent="running",live="down"}',
    'reconcile_gateways_service_live{service="gateway-c",intent="unknown",live="absent"}',
  ]);
  t.deepEqual(series(text, 'reconcile_gateways_service_drift'), [
    'reconcile_gateways_service_drift{service="gateway-b",condition="IntentRunningButDown"}',
  ]);
  t.is(sample(text, 'reconcile_gateways_drift_conditions{condition="IntentRunningButDown"}'), 1);
  t.is(sample(text, 'reconcile_gateways_gateways{intent="running",live="up"}'), 1);
  t.is(sample(text, 'reconcile_gateways_restarts_pending'), 1);

  m.setServices({ 'gateway-a': condition('gateway-a', { autostart: false, live: 'up' }) });
  text = await m.text();
  t.deepEqual(series(text, 'reconcile_gateways_service_live'), [
    'reconcile_gateways_service_live{service="gateway-a",intent="stopped",live="up"}',
  ]);
  t.deepEqual(series(text, 'reconcile_gateways_service_drift'), []);
  t.is(sample(text, 'reconcile_gateways_drift_conditions{condition="IntentRunningButDown"}'), 0);
  t.is(sample(text, 'reconcile_gateways_restarts_pending'), 0);
});

test('a drift that clears loses its series while its service stays', async (t) => {
  const m = new Metrics(TRIGGERS);
  const drift = [{ type: 'IntentRunningButDown' as const, service: 'gateway-a', profile: 'a', sinceUnix: 1, evidence: {} }];
  m.setServices({ 'gateway-a': condition('gateway-a', { autostart: true, live: 'down', restartPending: true, drift }) });
  let text = await m.text();
  t.deepEqual(series(text, 'reconcile_gateways_service_drift'), [
    'reconcile_gateways_service_drift{service="gateway-a",condition="IntentRunningButDown"}',
  ]);
  t.is(sample(text, 'reconcile_gateways_gateways{intent="running",live="down"}'), 1);
  t.is(sample(text, 'reconcile_gateways_restarts_pending'), 1);
  m.setServices({ 'gateway-a': condition('gateway-a', { autostart: true, live: 'up', drift: [] }) });
  text = await m.text();
  t.deepEqual(series(text, 'reconcile_gateways_service_drift'), []);
  t.deepEqual(series(text, 'reconcile_gateways_service_live'), [
    'reconcile_gateways_service_live{service="gateway-a",intent="running",live="up"}',
  ]);
  t.is(sample(text, 'reconcile_gateways_drift_conditions{condition="IntentRunningButDown"}'), 0);
});

test('no service label appears outside the per-service gauges', async (t) => {
  const m = new Metrics(TRIGGERS);
  m.recordPass(pass('converged', [{ op: op('create', 'gateway-a'), status: 'applied' }]));
  m.setServices({ 'gateway-a': condition('gateway-a', { autostart: true, live: 'up' }) });
  const withService = (await m.text())
    .split('\n')
    .filter((l) => l.includes('service="'))
    .map((l) => l.slice(0, l.indexOf('{')));
  t.deepEqual([...new Set(withService)].sort(), ['reconcile_gateways_service_live']);
});

test('the metrics file is written whole, readable by node_exporter, replacing the last', async (t) => {
  const dir = await tempDir('rg-metrics-');
  t.teardown(() => removeTree(dir));
  const file = path.join(dir, 'reconcile.prom');
  writeMetricsFile(file, 'first 1\n');
  writeMetricsFile(file, await new Metrics(TRIGGERS).text());
  const text = fs.readFileSync(file, 'utf8');
  t.true(text.includes('# TYPE reconcile_gateways_passes_total counter'));
  t.is(fs.statSync(file).mode & 0o777, 0o644);
  t.deepEqual(fs.readdirSync(dir), ['reconcile.prom'], 'no temp file left behind');
});
