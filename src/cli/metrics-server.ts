/**
 * `watch --metrics-listen HOST:PORT`: a small HTTP server for Prometheus and Kubernetes probes.
 * `/metrics` is the exposition, `/healthz` says the process answers, `/readyz` says a first pass
 * completed, the last one ran to the end and is not older than 2× `--interval` (a wedged loop, or
 * passes that fail with an invalid config or a missing scandir, turn it unready).
 * GET and HEAD only; nothing here changes state.
 */
import http from 'node:http';
import { FatalError } from '../errors.js';

/** What the server asks the watcher. */
export interface MetricsSource {
  /** The exposition text and its content type. */
  exposition(): Promise<{ text: string; contentType: string }>;
  /** Why the watcher is not ready, or undefined when it is. */
  notReady(): string | undefined;
}

/**
 * What one client may take: at most `maxConnections` at once (more are closed as they come: the
 * watcher's descriptors are for its passes), each with `requestTimeoutMs` to send its request and
 * as long without progress while it reads the answer.
 */
export interface ServerLimits {
  readonly maxConnections: number;
  readonly requestTimeoutMs: number;
}

const SERVER_LIMITS: ServerLimits = { maxConnections: 32, requestTimeoutMs: 10_000 };

/** A listening metrics server. */
export interface MetricsServer {
  /** The bound address (the port is the real one when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

/** Starts listening; throws FatalError naming the address when it cannot. */
export async function startMetricsServer(
  listen: { host: string; port: number },
  source: MetricsSource,
  limits: ServerLimits = SERVER_LIMITS,
): Promise<MetricsServer> {
  // A flood of connections (or slow ones that never finish a request) must not take the
  // watcher's descriptors: past the cap a new connection is closed at once, and one that sends no
  // whole request in time is dropped. Node looks for those only every connectionsCheckingInterval
  // (30 s by default: three times the timeout). A scraper or probe opens one or two at a time.
  // One request per connection (a scrape every 15 s gains nothing from keep-alive): Node parses
  // every request a client sends in one write and hands each to this handler, and a client that
  // pipelined thousands and read none had an exposition made for each (900 MB from 32
  // connections). A second request on a socket gets nothing made and the socket stops reading; the
  // first answer says `Connection: close`, after which Node ends the connection (destroying it at
  // once would lose that answer). One that stops reading its answer is dropped after the timeout.
  const timeout = limits.requestTimeoutMs;
  const served = new WeakSet<object>();
  const server = http.createServer(
    { connectionsCheckingInterval: Math.min(1000, timeout / 2), headersTimeout: timeout, requestTimeout: timeout },
    (req, res) => {
      if (served.has(req.socket)) {
        req.socket.pause();
        return;
      }
      served.add(req.socket);
      void answer(req, res, source);
    },
  );
  server.setTimeout(timeout);
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
      reject(
        new FatalError(`--metrics-listen ${where}: cannot listen: ${err.message}; choose a free port or another address`, { cause: err }),
      );
    });
    server.listen(listen.port, listen.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : listen.port;
  return {
    address: { host: listen.host, port },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, source: MetricsSource): Promise<void> {
  const url = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'only GET and HEAD are served\n', { Allow: 'GET, HEAD' });
  try {
    if (url === '/metrics') {
      const { text, contentType } = await source.exposition();
      return reply(res, 200, text, { 'Content-Type': contentType });
    }
    if (url === '/healthz') return reply(res, 200, 'ok\n');
    if (url === '/readyz') {
      const why = source.notReady();
      return why === undefined ? reply(res, 200, 'ready\n') : reply(res, 503, `not ready: ${why}\n`);
    }
    return reply(res, 404, 'not found; try /metrics, /healthz or /readyz\n');
  } catch (err) {
    return reply(res, 500, `error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

function reply(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    ...headers,
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
