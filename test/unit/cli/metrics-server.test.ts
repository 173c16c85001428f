/** The metrics server over real HTTP on 127.0.0.1, an ephemeral port each. */
import http from 'node:http';
import net from 'node:net';
import test from 'ava';
import { type MetricsSource, startMetricsServer } from '../../../src/cli/metrics-server.js';
import { FatalError } from '../../../src/errors.js';
import { Metrics } from '../../../src/watch/metrics.js';
import { TRIGGERS } from '../../../src/watch/scheduler.js';

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

function request(port: number, urlPath: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A server whose readiness the test sets. */
async function serve(t: import('ava').ExecutionContext, source: Partial<MetricsSource> = {}) {
  let why: string | undefined = 'no pass has completed yet';
  const server = await startMetricsServer(
    { host: '127.0.0.1', port: 0 },
    {
      exposition: async () => ({ text: 'reconcile_gateways_passes_total 3\n', contentType: 'text/plain; version=0.0.4; charset=utf-8' }),
      notReady: () => why,
      ...source,
    },
  );
  t.teardown(() => server.close());
  return { server, port: server.address.port, setReady: (w: string | undefined) => (why = w) };
}

test('it listens on the asked host and reports the real port for port 0', async (t) => {
  const { server, port } = await serve(t);
  t.is(server.address.host, '127.0.0.1');
  t.true(port > 0);
});

test('/metrics serves the exposition with its content type', async (t) => {
  const { port } = await serve(t);
  const r = await request(port, '/metrics?name[]=x');
  t.is(r.status, 200);
  t.is(r.body, 'reconcile_gateways_passes_total 3\n');
  t.is(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  t.is(r.headers['content-length'], String(r.body.length));
});

test('it serves a real Metrics registry: its content type, and the drift and heal series before any pass', async (t) => {
  const metrics = new Metrics(TRIGGERS);
  const { port } = await serve(t, { exposition: async () => ({ text: await metrics.text(), contentType: metrics.contentType }) });
  const r = await request(port, '/metrics');
  t.is(r.headers['content-type'], metrics.contentType);
  const lines = r.body.split('\n');
  t.true(lines.includes('reconcile_gateways_heals_total 0'));
  t.true(lines.includes('reconcile_gateways_drift_conditions{condition="IntentRunningButDown"} 0'));
});

test('/healthz answers ok while the process answers at all', async (t) => {
  const { port } = await serve(t);
  t.deepEqual([(await request(port, '/healthz')).status, (await request(port, '/healthz')).body], [200, 'ok\n']);
});

test('/readyz is 503 with the reason until the watcher is ready, then 200', async (t) => {
  const { port, setReady } = await serve(t);
  const before = await request(port, '/readyz');
  t.deepEqual([before.status, before.body], [503, 'not ready: no pass has completed yet\n']);
  setReady(undefined);
  const after = await request(port, '/readyz');
  t.deepEqual([after.status, after.body], [200, 'ready\n']);
});

test('an unknown path is 404 naming the paths served; other methods are 405', async (t) => {
  const { port } = await serve(t);
  const missing = await request(port, '/metric');
  t.deepEqual([missing.status, missing.body], [404, 'not found; try /metrics, /healthz or /readyz\n']);
  const post = await request(port, '/metrics', 'POST');
  t.is(post.status, 405);
  t.is(post.headers['allow'], 'GET, HEAD');
});

test('HEAD answers the headers without a body', async (t) => {
  const { port } = await serve(t);
  const r = await request(port, '/healthz', 'HEAD');
  t.is(r.status, 200);
  t.is(r.body, '');
  t.is(r.headers['content-length'], '3');
});

test('an exposition that fails is a 500 with its message, and the server keeps serving', async (t) => {
  const { port } = await serve(t, {
    exposition: async () => {
      throw new Error('registry broken');
    },
  });
  const r = await request(port, '/metrics');
  t.deepEqual([r.status, r.body], [500, 'error: registry broken\n']);
  t.is((await request(port, '/healthz')).status, 200);
});

test('a port in use is a fatal error naming the address and what to do', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as net.AddressInfo).port;
  const source: MetricsSource = { exposition: async () => ({ text: '', contentType: 'text/plain' }), notReady: () => undefined };
  const err = await t.throwsAsync(startMetricsServer({ host: '127.0.0.1', port }, source), { instanceOf: FatalError });
  t.true(err?.message.startsWith(`--metrics-listen 127.0.0.1:${port}: cannot listen: `));
  t.true(err?.message.endsWith('; choose a free port or another address'));
});

test('close ends open keep-alive connections and stops listening', async (t) => {
  const server = await startMetricsServer(
    { host: '127.0.0.1', port: 0 },
    { exposition: async () => ({ text: '', contentType: 'text/plain' }), notReady: () => undefined },
  );
  const port = server.address.port;
  t.is((await request(port, '/healthz')).status, 200);
  await server.close();
  await t.throwsAsync(request(port, '/healthz'), { code: 'ECONNREFUSED' });
});

test('a flood of idle connections takes no more than the cap: the rest are closed at once, and scrapes work again once it ends', async (t) => {
  // A request timeout far past the guard below: only the cap can close the extra connection in time.
  const limits = { maxConnections: 4, requestTimeoutMs: 120_000 };
  const server = await startMetricsServer(
    { host: '127.0.0.1', port: 0 },
    { exposition: async () => ({ text: '', contentType: 'text/plain' }), notReady: () => undefined },
    limits,
  );
  t.teardown(() => server.close());
  const port = server.address.port;
  const open = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    });
  const held: net.Socket[] = [];
  for (let i = 0; i < limits.maxConnections; i++) held.push(await open());
  // The kernel accepts it; the server closes it without reading: the client sees the end.
  const extra = await open();
  const closed = await new Promise<boolean>((resolve) => {
    const guard = setTimeout(() => resolve(false), 20_000); // a liveness bound only: without the cap it never closes
    extra.on('close', () => {
      clearTimeout(guard);
      resolve(true);
    });
    extra.resume();
  });
  extra.destroy();
  t.true(closed, 'a connection past the cap is closed by the server');
  for (const s of held) s.destroy();
  // The server counts a connection until it has seen it close: ask until it answers again.
  let reply: Reply | undefined;
  const until = Date.now() + 20_000;
  while (reply?.status !== 200 && Date.now() < until) {
    reply = await request(port, '/healthz').catch(() => undefined);
    if (reply === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.is(reply?.status, 200, 'served again once the flood ended');
});

test('a connection that sends no request in time is closed by the server (within its timeout, not 30 s later)', async (t) => {
  const server = await startMetricsServer(
    { host: '127.0.0.1', port: 0 },
    { exposition: async () => ({ text: '', contentType: 'text/plain' }), notReady: () => undefined },
    { maxConnections: 4, requestTimeoutMs: 400 },
  );
  t.teardown(() => server.close());
  const silent = net.connect(server.address.port, '127.0.0.1');
  silent.on('error', () => undefined);
  silent.resume();
  const closed = await new Promise<boolean>((resolve) => {
    // A liveness bound only, far past the 400 ms asked for and short of Node's 30 s default check.
    const guard = setTimeout(() => resolve(false), 15_000);
    silent.on('close', () => {
      clearTimeout(guard);
      resolve(true);
    });
  });
  silent.destroy();
  t.true(closed, 'the silent connection was closed');
});

test('pipelined requests get one answer, then the connection closes: nothing is made for the others', async (t) => {
  let made = 0;
  const { port } = await serve(t, {
    exposition: async () => {
      made += 1;
      return { text: 'reconcile_gateways_passes_total 3\n', contentType: 'text/plain' };
    },
  });
  const socket = net.connect(port, '127.0.0.1');
  socket.on('connect', () => socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(500)));
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (received += c));
  await new Promise<void>((resolve, reject) => {
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  t.is(received.split('HTTP/1.1 200 OK').length - 1, 1, received.slice(0, 400));
  t.is(made, 1, 'one exposition made for one connection');
  // The next client is served as usual.
  t.is((await request(port, '/metrics')).status, 200);
});

test('every answer says Connection: close', async (t) => {
  const { port } = await serve(t);
  t.is((await request(port, '/healthz')).headers.connection, 'close');
});

test('a client that stops reading its answer is dropped after the timeout, and its connection slot serves others', async (t) => {
  // An answer far larger than the kernel's socket buffers, so the server has writes pending.
  const big = 'x'.repeat(64 * 1024 * 1024);
  const server = await startMetricsServer(
    { host: '127.0.0.1', port: 0 },
    { exposition: async () => ({ text: big, contentType: 'text/plain' }), notReady: () => undefined },
    { maxConnections: 1, requestTimeoutMs: 300 },
  );
  t.teardown(() => server.close());
  const port = server.address.port;
  const stalled = net.connect(port, '127.0.0.1');
  stalled.on('error', () => undefined);
  stalled.pause();
  const dropped = new Promise<void>((resolve) => stalled.on('close', () => resolve()));
  await new Promise<void>((resolve) => stalled.on('connect', () => resolve()));
  stalled.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
  // Reading nothing, it would hold the only slot forever; the server's timeout ends it.
  let reply: Reply | undefined;
  const until = Date.now() + 30_000; // a liveness bound only
  while (reply?.status !== 200 && Date.now() < until) {
    reply = await request(port, '/healthz').catch(() => undefined);
    if (reply === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.is(reply?.status, 200, 'another client was served');
  stalled.resume();
  await dropped;
  stalled.destroy();
});
