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

/** Starts the metrics of `watch`, or returns undefined when neither flag is given. */
export async function startWatchMetrics(args: Args, logger: Logger): Promise<WatchMetrics | undefined> {
  if (args.metricsListen === undefined && args.metricsFile === undefined) return undefined;
  const { Metrics, writeMetricsFile } = await import('../watch/metrics.js');
  const metrics = new Metrics(TRIGGERS);
  let ready = false;
  let idle = false;
  let rewrite: NodeJS.Timeout | undefined;
  let lastPassEndMs: number | undefined;
  // Why the last pass did not run to the end (an invalid config, a missing scandir), if it did not.
  let lastError: string | undefined;
  const maxAgeMs = 2 * args.interval * 1000;
  const notReady = (): string | undefined => {
    if (idle) return undefined;
    if (!ready || lastPassEndMs === undefined) {
      return lastError === undefined ? 'no pass has completed yet' : `no pass has completed yet; the last one failed: ${lastError}`;
    }
    if (lastError !== undefined) return `the last pass failed: ${lastError}`;
    const age = Date.now() - lastPassEndMs;
    return age > maxAgeMs ? `the last pass ended ${Math.round(age / 1000)} s ago, more than 2x --interval (${args.interval} s)` : undefined;
  };
  let server: Awaited<ReturnType<typeof import('./metrics-server.js').startMetricsServer>> | undefined;
  if (args.metricsListen !== undefined) {
    const { startMetricsServer } = await import('./metrics-server.js');
    server = await startMetricsServer(args.metricsListen, {
      exposition: async () => ({ text: await metrics.text(), contentType: metrics.contentType }),
      notReady,
    });
    // An IPv6 host is bracketed, so the address can be pasted back into --metrics-listen.
    const host = server.address.host.includes(':') ? `[${server.address.host}]` : server.address.host;
    logger.info(`serving /metrics, /healthz and /readyz on ${host}:${server.address.port}`);
  }
  return {
    address: server?.address,
    afterPass(summary, detail) {
      metrics.recordPass({ summary, results: detail.results });
      metrics.setServices(detail.table);
      lastPassEndMs = Date.parse(summary.finishedAt);
      if (summary.result !== 'error') ready = true;
      lastError = summary.result === 'error' ? escapeLine(summary.error?.message ?? 'unknown error') : undefined;
      if (args.metricsFile !== undefined) void writeFile(args.metricsFile, metrics, writeMetricsFile, logger);
    },
    skipped() {
      idle = true;
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
