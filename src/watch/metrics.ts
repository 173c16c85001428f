/**
 * The Prometheus metrics of `watch` and `sync` (docs/metrics.md), made with prom-client on a
 * registry of their own (no process-global default registry, no default collectors: they would
 * add timers to an idle watcher). Label cardinality is bounded: only the per-service live-state
 * and drift gauges carry a `service` label, one series per existing slot (and drift condition).
 */
import { isRefused } from '../diff/index.js';
import path from 'node:path';
import type * as Prom from 'prom-client';
import { Counter, Gauge, Histogram, Registry } from './prom.js';
import { DRIFT_TYPES } from '../desired/drift.js';
import { BOOT_ONLY_KINDS, OPERATION_KINDS } from '../model/constants.js';
import type { OperationResult } from '../model.js';
import { closeDir, openRoot, readFileAt, writeFileAt } from '../safe-fs/index.js';
import type { ConditionTable } from './conditions.js';
import type { PassSummary } from './status-file.js';

const PREFIX = 'reconcile_gateways_';

const PASS_RESULTS = ['converged', 'partial', 'blocked', 'error'] as const satisfies readonly PassSummary['result'][];
const OPERATION_RESULTS = ['applied', 'failed'] as const satisfies readonly OperationResult['status'][];

/** A pass as the metrics count it: its summary and, when it ran, what it applied. */
export interface PassRecord {
  /** `trigger` is the watcher's, or `once` for `sync`. */
  readonly summary: Pick<PassSummary, 'result' | 'durationMs' | 'finishedAt'> & { readonly trigger: PassSummary['trigger'] | 'once' };
  readonly results: readonly OperationResult[];
}

/** Every metric of the tool, on one registry. */
export class Metrics {
  readonly registry = new Registry();
  readonly #passes = this.#counter('passes_total', 'Reconcile passes, by what triggered them and how they ended.', ['trigger', 'result']);
  readonly #duration = new Histogram({
    name: `${PREFIX}pass_duration_seconds`,
    help: 'Duration of reconcile passes.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #operations = this.#counter('operations_total', 'Operations applied, by kind and result (applied or failed).', [
    'kind',
    'result',
  ]);
  readonly #heals = this.#counter('heals_total', 'Services brought up again by --heal (heal operations applied).', []);
  readonly #gateways = this.#gauge('gateways', 'Gateway slots by intent (running, stopped, unknown) and live s6 state.', [
    'intent',
    'live',
  ]);
  readonly #drift = this.#gauge('drift_conditions', 'Services in each drift condition.', ['condition']);
  readonly #serviceDrift = this.#gauge('service_drift', '1 while a service is in the drift condition (series exist only while it holds).', [
    'service',
    'condition',
  ]);
  readonly #serviceLive = this.#gauge('service_live', '1 for each slot, labelled with its intent and live s6 state.', [
    'service',
    'intent',
    'live',
  ]);
  readonly #restarts = this.#gauge('restarts_pending', 'Services whose run-time files changed and wait for a restart.', []);
  readonly #lastSuccess = this.#gauge(
    'last_success_timestamp_seconds',
    'When the last pass that converged (or failed only by refusals) finished (unix seconds).',
    [],
  );

  /**
   * `triggers`: those of the passes this registry will count (`once` for `sync`). Every series an
   * alert rule may watch starts at 0, so the first failure is an increase (`increase()` sees
   * nothing in a series that first appears at 1).
   */
  constructor(triggers: readonly PassRecord['summary']['trigger'][]) {
    for (const condition of DRIFT_TYPES) this.#drift.set({ condition }, 0);
    this.#heals.inc(0);
    for (const trigger of triggers) for (const result of PASS_RESULTS) this.#passes.inc({ trigger, result }, 0);
    for (const kind of OPERATION_KINDS) {
      if (!BOOT_ONLY_KINDS.has(kind)) for (const result of OPERATION_RESULTS) this.#operations.inc({ kind, result }, 0);
    }
  }

  /** Counts one pass. */
  recordPass(p: PassRecord): void {
    this.#passes.inc({ trigger: p.summary.trigger, result: p.summary.result });
    this.#duration.observe(p.summary.durationMs / 1000);
    for (const r of p.results) {
      this.#operations.inc({ kind: r.op.kind, result: r.status });
      if (r.op.kind === 'heal' && r.status === 'applied') this.#heals.inc();
    }
    if (p.summary.result === 'converged' || onlyRefusals(p)) this.#lastSuccess.set(Date.parse(p.summary.finishedAt) / 1000);
  }

  /** When the last converged pass finished, as an earlier exposition said (`sync` carries it over). */
  setLastSuccess(unixSeconds: number): void {
    this.#lastSuccess.set(unixSeconds);
  }

  /** Sets the per-service gauges from the watcher's condition table (every slot it knows). */
  setServices(table: ConditionTable): void {
    this.#gateways.reset();
    this.#serviceLive.reset();
    this.#serviceDrift.reset();
    const drift = new Map<string, number>(DRIFT_TYPES.map((t) => [t, 0]));
    let restarts = 0;
    for (const c of Object.values(table)) {
      const intent = c.autostart === undefined ? 'unknown' : c.autostart ? 'running' : 'stopped';
      const live = c.live ?? 'absent';
      this.#gateways.inc({ intent, live });
      this.#serviceLive.set({ service: c.service, intent, live }, 1);
      for (const d of c.drift ?? []) {
        drift.set(d.type, (drift.get(d.type) ?? 0) + 1);
        this.#serviceDrift.set({ service: c.service, condition: d.type }, 1);
      }
      if (c.restartPending) restarts += 1;
    }
    for (const [condition, n] of drift) this.#drift.set({ condition }, n);
    this.#restarts.set(restarts);
  }

  #idle = false;

  /**
   * A watcher of a skipped role: nothing to reconcile, so it is always up to date, and
   * last_success reads as the moment of each exposition (an alert on its age must not fire).
   */
  markIdle(): void {
    this.#idle = true;
  }

  /** The exposition in the Prometheus text format. */
  text(): Promise<string> {
    if (this.#idle) this.#lastSuccess.set(Date.now() / 1000);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Prom.Counter<L> {
    return new Counter({ name: `${PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }

  #gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Prom.Gauge<L> {
    return new Gauge({ name: `${PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }
}

/**
 * A partial pass whose failures are all refusals (a slot this tool may not adopt, or this user may
 * not remove) did all it could: they wait for an operator, not for the reconciler, so the pass
 * counts as a success for last_success (ReconcilerStale would fire for as long as one stays).
 */
function onlyRefusals(p: PassRecord): boolean {
  const failed = p.results.filter((r) => r.status === 'failed');
  return p.summary.result === 'partial' && failed.length > 0 && failed.every((r) => isRefused(r.op));
}

/** Most of a metrics file read back for its last_success (10,000 slots' exposition is ~1 MiB). */
const METRICS_FILE_CAP = 8 * 1024 * 1024;

/**
 * The last_success an earlier exposition in `file` recorded, or undefined (no file, none in it, or
 * not a positive number). A `sync` whose pass did not converge keeps it: its fresh registry would
 * say 0, and an alert on the age of the last success would fire at once.
 */
export function readLastSuccess(file: string): number | undefined {
  let dir;
  try {
    dir = openRoot(path.dirname(path.resolve(file)));
  } catch {
    return undefined;
  }
  try {
    const read = readFileAt(dir, path.basename(file), METRICS_FILE_CAP);
    if (read.kind !== 'file') return undefined;
    const match = new RegExp(`^${PREFIX}last_success_timestamp_seconds (\\S+)$`, 'm').exec(new TextDecoder().decode(read.bytes));
    const value = Number(match?.[1]);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } finally {
    closeDir(dir);
  }
}

/** Writes the exposition atomically (temp + rename) for node_exporter's textfile collector. */
export function writeMetricsFile(file: string, text: string): void {
  const dir = openRoot(path.dirname(path.resolve(file)));
  try {
    writeFileAt(dir, path.basename(file), text, { mode: 0o644, fsync: false, overFileOnly: true });
  } finally {
    closeDir(dir);
  }
}
