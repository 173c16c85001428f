/**
 * Metrics for `watch` (`--metrics-listen`, `--metrics-file`) and `sync --metrics-file`: prom-client
 * is loaded only when one of them is asked for, so a watcher without metrics pays nothing.
 */
import type { PassResult } from '../reconcile.js';
import { recordOutcomes } from '../watch/conditions.js';
import type { PassDetail } from '../watch/controller.js';
import { passOutcomes } from '../watch/outcomes.js';
import { TRIGGERS } from '../watch/scheduler.js';
import type { PassSummary } from '../watch/status-file.js';
import { escapeLine } from '../escape.js';
import type { Args } from './args.js';
import type { Logger } from './logger.js';
import type { MetricsServer } from './metrics-server.js';
import { metricsFileWarning } from './report.js';

/** The watcher's metrics: fed after every pass, served and/or written. */
export interface WatchMetrics {
  afterPass(summary: PassSummary, detail: PassDetail): void;
  /**
   * A container of a skipped role (dashboard, none, …): no pass will ever run, and that is its
   * healthy state, so /readyz says ready (a probe must not restart it), last_success is always
   * now, and the metrics file is written every --interval, without passes.
   */
  skipped(): void;
  /** The bound `--metrics-listen` address, if any. */
  readonly address: { readonly host: string; readonly port: number } | undefined;
  close(): Promise<void>;
}

/** What /readyz answers from: what the passes so far came back with. */
interface Readiness {
  /** A pass has come back without an error since the start. */
  ready: boolean;
  /** A skipped role's container (see WatchMetrics.skipped): ready with no pass at all. */
  idle: boolean;
  lastPassEndMs: number | undefined;
  /** Why the last pass did not run to the end (an invalid config, a missing scandir), if it did not. */
  lastError: string | undefined;
}

/** Starts the metrics of `watch`, or returns undefined when neither flag is given. */
export async function startWatchMetrics(args: Args, logger: Logger): Promise<WatchMetrics | undefined> {
  if (args.metricsListen === undefined && args.metricsFile === undefined) return undefined;
  const { Metrics, writeMetricsFile } = await import('../watch/metrics.js');
  const metrics = new Metrics(TRIGGERS);
  const state: Readiness = { ready: false, idle: false, lastPassEndMs: undefined, lastError: undefined };
  let rewrite: NodeJS.Timeout | undefined;
  const server =
    args.metricsListen === undefined
      ? undefined
      : await serveMetrics(args.metricsListen, metrics, () => whyNotReady(state, args.interval), logger);
  return {
    address: server?.address,
    afterPass(summary, detail) {
      metrics.recordPass({ summary, results: detail.results });
      metrics.setServices(detail.table);
      state.lastPassEndMs = Date.parse(summary.finishedAt);
      if (summary.result !== 'error') state.ready = true;
      state.lastError = summary.result === 'error' ? escapeLine(summary.error?.message ?? 'unknown error') : undefined;
      if (args.metricsFile !== undefined) void writeFile(args.metricsFile, metrics, writeMetricsFile, logger);
    },
    skipped() {
      state.idle = true;
      metrics.markIdle();
      const file = args.metricsFile;
      if (file === undefined) return;
      // Rewritten every --interval, as a watcher's passes would, so the file's last_success stays fresh.
      const write = (): void => void writeFile(file, metrics, writeMetricsFile, logger);
      write();
      rewrite = setInterval(write, args.interval * 1000);
    },
    close: async () => {
      if (rewrite !== undefined) clearInterval(rewrite);
      await server?.close();
    },
  };
}

/** Why the watcher is not ready (what /readyz says), or undefined when it is; `intervalS` is --interval. */
function whyNotReady(state: Readiness, intervalS: number): string | undefined {
  if (state.idle) return undefined;
  if (!state.ready || state.lastPassEndMs === undefined) {
    return state.lastError === undefined
      ? 'no pass has completed yet'
      : `no pass has completed yet; the last one failed: ${state.lastError}`;
  }
  if (state.lastError !== undefined) return `the last pass failed: ${state.lastError}`;
  const maxAgeMs = 2 * intervalS * 1000;
  const age = Date.now() - state.lastPassEndMs;
  return age > maxAgeMs ? `the last pass ended ${Math.round(age / 1000)} s ago, more than 2x --interval (${intervalS} s)` : undefined;
}

/** `--metrics-listen`: serves /metrics, /healthz and /readyz, and says where. */
async function serveMetrics(
  listen: { readonly host: string; readonly port: number },
  metrics: { text(): Promise<string>; readonly contentType: string },
  notReady: () => string | undefined,
  logger: Logger,
): Promise<MetricsServer> {
  const { startMetricsServer } = await import('./metrics-server.js');
  const server = await startMetricsServer(listen, {
    exposition: async () => ({ text: await metrics.text(), contentType: metrics.contentType }),
    notReady,
  });
  // An IPv6 host is bracketed, so the address can be pasted back into --metrics-listen.
  const host = server.address.host.includes(':') ? `[${server.address.host}]` : server.address.host;
  logger.info(`serving /metrics, /healthz and /readyz on ${host}:${server.address.port}`);
  return server;
}

async function writeFile(
  file: string,
  metrics: { text(): Promise<string> },
  write: (f: string, t: string) => void,
  logger: Logger,
): Promise<void> {
  try {
    write(file, await metrics.text());
  } catch (err) {
    logger.warn(metricsFileWarning(file, err));
  }
}

/** `sync --metrics-file`: the metrics of this one pass, written atomically. */
export async function writeSyncMetrics(
  file: string,
  result: PassResult,
  summary: Pick<PassSummary, 'result' | 'durationMs' | 'finishedAt'>,
): Promise<void> {
  const { Metrics, readLastSuccess, writeMetricsFile } = await import('../watch/metrics.js');
  const metrics = new Metrics(['once']);
  const nowMs = Date.parse(summary.finishedAt);
  const earlier = summary.result === 'converged' ? undefined : readLastSuccess(file);
  if (earlier !== undefined) metrics.setLastSuccess(earlier);
  metrics.recordPass({ summary: { ...summary, trigger: 'once' }, results: result.results });
  metrics.setServices(recordOutcomes({}, passOutcomes(result), nowMs, true));
  writeMetricsFile(file, await metrics.text());
}
