import test from 'ava';
import { Counter, Gauge, Histogram, Registry } from '../../../src/watch/prom.js';

test('the four classes work on a registry of their own, which starts empty', async (t) => {
  const registry = new Registry();
  t.is(await registry.metrics(), '\n');
  const counter = new Counter({ name: 'c_total', help: 'a counter', labelNames: ['kind'], registers: [registry] });
  const gauge = new Gauge({ name: 'g', help: 'a gauge', registers: [registry] });
  const histogram = new Histogram({ name: 'h_seconds', help: 'a histogram', buckets: [1, 5], registers: [registry] });
  counter.inc({ kind: 'create' }, 2);
  gauge.set(7);
  histogram.observe(3);
  const text = await registry.metrics();
  t.true(text.includes('# TYPE c_total counter\nc_total{kind="create"} 2\n'));
  t.true(text.includes('# TYPE g gauge\ng 7\n'));
  t.true(text.includes('h_seconds_bucket{le="1"} 0\nh_seconds_bucket{le="5"} 1\nh_seconds_bucket{le="+Inf"} 1\n'));
  t.true(registry.contentType.startsWith('text/plain'));
});

test('metrics on one registry do not appear on another (no process-global default registry)', async (t) => {
  const a = new Registry();
  const b = new Registry();
  new Gauge({ name: 'only_on_a', help: 'x', registers: [a] }).set(1);
  t.true((await a.metrics()).includes('only_on_a 1'));
  t.false((await b.metrics()).includes('only_on_a'));
});
