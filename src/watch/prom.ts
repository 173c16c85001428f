/**
 * The four prom-client classes the metrics use, loaded from the package's own modules. Its index
 * also loads the Pushgateway (http, https), the cluster aggregator and the default collectors: a
 * watcher that kept ~12 MB more resident for none of them (measured with `node -e`, 15.1.3).
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const load = createRequire(import.meta.url);

/** prom-client's Registry. */
export const Registry = load('prom-client/lib/registry') as typeof Prom.Registry;
/** prom-client's Counter. */
export const Counter = load('prom-client/lib/counter') as typeof Prom.Counter;
/** prom-client's Gauge. */
export const Gauge = load('prom-client/lib/gauge') as typeof Prom.Gauge;
/** prom-client's Histogram. */
export const Histogram = load('prom-client/lib/histogram') as typeof Prom.Histogram;
