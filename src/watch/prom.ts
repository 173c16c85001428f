/**
 * The four prom-client classes the metrics use, imported from the package's own modules. Its index
 * also loads the Pushgateway (http, https), the cluster aggregator and the default collectors: a
 * watcher that kept ~12 MB more resident for none of them (measured with `node -e`, 15.1.3).
 * Static imports, so esbuild inlines exactly these modules into the bundle (issue 12: nothing is
 * loaded from node_modules at run time); their types are declared in prom-client-lib.d.ts.
 */
import RegistryClass from 'prom-client/lib/registry.js';
import CounterClass from 'prom-client/lib/counter.js';
import GaugeClass from 'prom-client/lib/gauge.js';
import HistogramClass from 'prom-client/lib/histogram.js';

/** prom-client's Registry. */
export const Registry = RegistryClass;
/** prom-client's Counter. */
export const Counter = CounterClass;
/** prom-client's Gauge. */
export const Gauge = GaugeClass;
/** prom-client's Histogram. */
export const Histogram = HistogramClass;
