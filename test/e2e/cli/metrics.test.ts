import test from 'ava';
import { type Args, parseCliArgs } from '../../../src/cli/args.js';
import { UsageError } from '../../../src/errors.js';
import { startMetricsServer } from '../../../src/cli/metrics-server.js';
import { Metrics } from '../../../src/watch/metrics.js';
import { FatalError } from '../../../src/errors.js';

/** The arguments of a command line that runs a command. */
function args(argv: readonly string[]): Args {
  const parsed = parseCliArgs(argv, {});
  if (parsed.kind !== 'run') throw new Error(`${argv.join(' ')} does not run a command`);
  return parsed.args;
}

test('--metrics-listen takes HOST:PORT, [v6]:PORT or :PORT and names the flag when it is wrong', (t) => {
  const listen = (v: string): unknown => args(['watch', '--metrics-listen', v]).metricsListen;
  t.deepEqual(listen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  t.deepEqual(listen('[::1]:9464'), { host: '::1', port: 9464 });
  t.deepEqual(listen(':9464'), { host: '0.0.0.0', port: 9464 });
  for (const bad of ['9464', 'localhost', '127.0.0.1:']) {
    const err = t.throws(() => listen(bad), { instanceOf: UsageError });
    t.regex(err?.message ?? '', /^watch: --metrics-listen must be HOST:PORT/);
  }
  const port = t.throws(() => listen('127.0.0.1:70000'), { instanceOf: UsageError });
  t.regex(port?.message ?? '', /^watch: --metrics-listen: the port must be 0 to 65535/, 'a bad port is named as such');
  t.throws(() => parseCliArgs(['sync', '--metrics-listen', '127.0.0.1:1'], {}), { instanceOf: UsageError }, 'sync has no server');
});

test('drift flags have defaults and bounds; --heal is sync and watch only', (t) => {
  t.deepEqual(args(['status']).drift, { graceSeconds: 30, crashRestarts: 5, crashWindowSeconds: 600 });
  t.deepEqual(args(['sync', '--drift-grace', '0.5', '--crash-restarts', '2', '--crash-window', '60']).drift, {
    graceSeconds: 0.5,
    crashRestarts: 2,
    crashWindowSeconds: 60,
  });
  t.true(args(['watch', '--heal']).heal);
  t.throws(() => parseCliArgs(['status', '--heal'], {}), { instanceOf: UsageError });
  t.throws(() => parseCliArgs(['sync', '--crash-restarts', '0'], {}), {
    message: /--crash-restarts must be an integer between 1 and 99/,
  });
});

test('the metrics server answers /metrics, /healthz and /readyz, refuses other methods and paths, and names a busy address', async (t) => {
  const metrics = new Metrics();
  let why: string | undefined = 'no pass has completed yet';
  const source = { exposition: async () => ({ text: await metrics.text(), contentType: metrics.contentType }), notReady: () => why };
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, source);
  t.teardown(() => server.close());
  const url = (p: string): string => `http://127.0.0.1:${server.address.port}${p}`;
  t.is((await fetch(url('/healthz'))).status, 200);
  const unready = await fetch(url('/readyz'));
  t.is(unready.status, 503);
  t.is(await unready.text(), 'not ready: no pass has completed yet\n');
  why = undefined;
  t.is((await fetch(url('/readyz'))).status, 200);
  const lines = (await (await fetch(url('/metrics'))).text()).split('\n');
  t.true(lines.includes('reconcile_gateways_heals_total 0'));
  t.true(lines.includes('reconcile_gateways_drift_conditions{condition="IntentRunningButDown"} 0'));
  t.is((await fetch(url('/metrics'), { method: 'POST' })).status, 405);
  const head = await fetch(url('/metrics'), { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(await head.text(), '');
  t.is((await fetch(url('/'))).status, 404);
  await t.throwsAsync(startMetricsServer({ host: '127.0.0.1', port: server.address.port }, source), {
    instanceOf: FatalError,
    message: new RegExp(`^--metrics-listen 127\\.0\\.0\\.1:${server.address.port}: cannot listen: .*EADDRINUSE`),
  });
});

test('per-service gauges follow the condition table: a cleared drift loses its series', async (t) => {
  const metrics = new Metrics();
  const drift = [{ type: 'IntentRunningButDown' as const, service: 'gateway-a', profile: 'a', sinceUnix: 1, evidence: {} }];
  const condition = {
    service: 'gateway-a',
    profile: 'a',
    condition: 'Ready' as const,
    consecutiveFailures: 0,
    restartPending: true,
    autostart: true,
    live: 'down' as const,
    sinceMs: 0,
  };
  metrics.setServices({ 'gateway-a': { ...condition, drift } });
  let lines = (await metrics.text()).split('\n');
  t.true(lines.includes('reconcile_gateways_service_drift{service="gateway-a",condition="IntentRunningButDown"} 1'));
  t.true(lines.includes('reconcile_gateways_gateways{intent="running",live="down"} 1'));
  t.true(lines.includes('reconcile_gateways_restarts_pending 1'));
  metrics.setServices({ 'gateway-a': { ...condition, live: 'up', restartPending: false, drift: [] } });
  lines = (await metrics.text()).split('\n');
  t.false(lines.some((l) => l.startsWith('reconcile_gateways_service_drift{')));
  t.true(lines.includes('reconcile_gateways_service_live{service="gateway-a",intent="running",live="up"} 1'));
  t.true(lines.includes('reconcile_gateways_drift_conditions{condition="IntentRunningButDown"} 0'));
});
