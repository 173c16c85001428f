/** The watcher's metrics: served over real HTTP on 127.0.0.1:0 and written to a file. */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import test from 'ava';
import { IPV6_LOOPBACK, needs } from '../../helpers/needs.js';
import { startWatchMetrics, writeSyncMetrics } from '../../../src/cli/watch-metrics.js';
import type { PassSummary } from '../../../src/watch/status-file.js';
// Loaded up front: see the note in commands/sync.test.ts (Node 20 hands a second concurrent first
// import prom-client's unfinished CommonJS exports; the shipped bundle never meets this).
import '../../../src/watch/metrics.js';
import { home, liveUp, observedOf, scandirOf, slotOf, specOf } from '../../helpers/observed.js';
import { decisionOf, passResultOf } from '../../helpers/pass-result.js';
import { waitFor } from '../../helpers/s6.js';
import { recordingLogger, world } from './support.js';

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function summary(result: PassSummary['result'], finishedAtMs = Date.now()): PassSummary {
  const at = new Date(finishedAtMs).toISOString();
  const error = { code: 'fatal', message: 'scandir /run/service is missing\u001b[2J', terminal: false };
  return {
    startedAt: at,
    finishedAt: at,
    durationMs: 5,
    scope: 'full',
    trigger: 'start',
    result,
    exitCode: 0,
    warnings: [],
    ...(result === 'error' ? { error } : {}),
  };
}

const DETAIL = { table: {}, results: [] };

test('without --metrics-listen or --metrics-file there is nothing to start', async (t) => {
  const w = await world(t);
  t.is(await startWatchMetrics(w.args('watch'), recordingLogger().logger), undefined);
});

test('the server is not ready until a pass completes, then counts it', async (t) => {
  const w = await world(t);
  const { logger, records } = recordingLogger();
  const m = await startWatchMetrics(w.args('watch', '--metrics-listen', '127.0.0.1:0'), logger);
  if (m?.address === undefined) throw new Error('no server');
  t.teardown(() => m.close());
  const port = m.address.port;
  t.deepEqual(
    records.map((r) => r.message),
    [`serving /metrics, /healthz and /readyz on 127.0.0.1:${port}`],
  );
  t.deepEqual(await get(port, '/readyz'), { status: 503, body: 'not ready: no pass has completed yet\n' });
  m.afterPass(summary('error'), DETAIL);
  t.deepEqual(
    await get(port, '/readyz'),
    { status: 503, body: 'not ready: no pass has completed yet; the last one failed: scandir /run/service is missing\\x1b[2J\n' },
    'a failed first pass is not readiness, and says why',
  );
  m.afterPass(summary('converged'), DETAIL);
  t.deepEqual(await get(port, '/readyz'), { status: 200, body: 'ready\n' });
  m.afterPass(summary('error'), DETAIL);
  t.deepEqual(
    await get(port, '/readyz'),
    { status: 503, body: 'not ready: the last pass failed: scandir /run/service is missing\\x1b[2J\n' },
    'a watcher whose passes fail is not ready, even after it was',
  );
  m.afterPass(summary('partial'), DETAIL);
  t.deepEqual(await get(port, '/readyz'), { status: 200, body: 'ready\n' }, 'a pass that ran to the end is, whatever it applied');
  const metrics = await get(port, '/metrics');
  t.true(metrics.body.includes('reconcile_gateways_passes_total{trigger="start",result="converged"} 1\n'));
  t.true(metrics.body.includes('reconcile_gateways_passes_total{trigger="start",result="error"} 2\n'));
});

test('a last pass older than twice the interval turns the watcher unready, saying why', async (t) => {
  const w = await world(t);
  const m = await startWatchMetrics(w.args('watch', '--metrics-listen', '127.0.0.1:0', '--interval', '60'), recordingLogger().logger);
  if (m?.address === undefined) throw new Error('no server');
  t.teardown(() => m.close());
  m.afterPass(summary('converged', Date.now() - 3_600_000), DETAIL);
  const r = await get(m.address.port, '/readyz');
  t.is(r.status, 503);
  t.regex(r.body, /^not ready: the last pass ended \d+ s ago, more than 2x --interval \(60 s\)\n$/);
});

test('--metrics-file is rewritten after each pass', async (t) => {
  const w = await world(t);
  const file = path.join(w.root, 'watch.prom');
  const m = await startWatchMetrics(w.args('watch', '--metrics-file', file), recordingLogger().logger);
  if (m === undefined) throw new Error('no metrics');
  t.is(m.address, undefined);
  m.afterPass(summary('converged'), DETAIL);
  const counted = (n: number) => () => fs.readFileSync(file, 'utf8').includes(`passes_total{trigger="start",result="converged"} ${n}\n`);
  await waitFor(counted(1), 30_000, 'the first metrics file');
  m.afterPass(summary('converged'), DETAIL);
  await waitFor(counted(2), 30_000, 'the second metrics file');
  await m.close();
  t.pass();
});

test('a metrics file that cannot be written is a warning that says what to do', async (t) => {
  const w = await world(t);
  const file = path.join(w.root, 'missing-dir', 'watch.prom');
  const { logger, records } = recordingLogger();
  const m = await startWatchMetrics(w.args('watch', '--metrics-file', file), logger);
  m?.afterPass(summary('converged'), DETAIL);
  await waitFor(() => records.some((r) => r.level === 'warn'), 30_000, 'the warning');
  const warning = records.find((r) => r.level === 'warn')?.message ?? '';
  t.regex(
    warning,
    /^cannot write --metrics-file \S+ \(.*ENOENT: no such file or directory\); its directory does not exist: create it, or choose another path$/,
  );
  t.true(warning.startsWith(`cannot write --metrics-file ${file} (`));
});

test('a port in use fails the start, naming the address', async (t) => {
  const w = await world(t);
  const first = await startWatchMetrics(w.args('watch', '--metrics-listen', '127.0.0.1:0'), recordingLogger().logger);
  if (first?.address === undefined) throw new Error('no server');
  t.teardown(() => first.close());
  await t.throwsAsync(startWatchMetrics(w.args('watch', '--metrics-listen', `127.0.0.1:${first.address.port}`), recordingLogger().logger), {
    message: new RegExp(`^--metrics-listen 127\\.0\\.0\\.1:${first.address.port}: cannot listen: `),
  });
});

test('sync --metrics-file: one pass, counted under trigger once', async (t) => {
  const w = await world(t);
  const file = path.join(w.root, 'sync.prom');
  const result = passResultOf({
    observed: observedOf(home(), scandirOf([slotOf(specOf('a', true), { live: liveUp() })])),
    desired: { decisions: [decisionOf('a')] },
  });
  await writeSyncMetrics(file, result, { result: 'partial', durationMs: 20, finishedAt: new Date().toISOString() });
  const text = fs.readFileSync(file, 'utf8');
  t.true(text.includes('reconcile_gateways_passes_total{trigger="once",result="partial"} 1\n'));
  t.true(text.includes('reconcile_gateways_last_success_timestamp_seconds 0\n'), 'never converged: 0');
  t.true(text.includes('reconcile_gateways_service_live{service="gateway-a",intent="running",live="up"} 1\n'));

  const last = (): string | undefined =>
    /^reconcile_gateways_last_success_timestamp_seconds (\S+)$/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
  await writeSyncMetrics(file, result, { result: 'converged', durationMs: 20, finishedAt: '2026-12-07T08:00:00.000Z' });
  t.is(last(), String(Date.parse('2026-12-07T08:00:00.000Z') / 1000));
  await writeSyncMetrics(file, result, { result: 'partial', durationMs: 20, finishedAt: '2026-12-07T08:05:00.000Z' });
  t.is(last(), String(Date.parse('2026-12-07T08:00:00.000Z') / 1000), 'a run that did not converge keeps the last success the file had');
  t.true(fs.readFileSync(file, 'utf8').includes('reconcile_gateways_passes_total{trigger="once",result="partial"} 1\n'));
});

needs(test, IPV6_LOOPBACK)('an IPv6 address is logged in brackets, as --metrics-listen takes it back', async (t) => {
  const w = await world(t);
  const { logger, records } = recordingLogger();
  const m = await startWatchMetrics(w.args('watch', '--metrics-listen', '[::1]:0'), logger);
  if (m?.address === undefined) throw new Error('no server');
  t.teardown(() => m.close());
  t.deepEqual(
    records.map((r) => r.message),
    [`serving /metrics, /healthz and /readyz on [::1]:${m.address.port}`],
  );
});
