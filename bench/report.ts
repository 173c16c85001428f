// The run's report: rows derived from the watch and soak records, the targets that span rows,
// the three tables (stdout and bench/README.md), and results/latest.json.

import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, RUNS, SIZES, WARMUP } from './config.js';
import { type Row, addTarget, infoRow, log, results } from './results.js';

const fmtMs = (x: number | null): string => (x == null ? '-' : x >= 100 ? String(Math.round(x)) : x.toFixed(1));
export const fmtMb = (kb: unknown): string => (typeof kb !== 'number' ? '-' : (kb / 1024).toFixed(1));
const fmtRatio = (r: number | null): string => (r == null || !Number.isFinite(r) ? '-' : `${r.toFixed(2)}×`);
const passText = (p: Row['pass'] | undefined): string => (p === true ? 'pass' : p === false ? 'FAIL' : p === 'error' ? 'ERROR' : '-');

/** Reads a field of a loosely typed record (the watch and soak records). */
const get = (o: unknown, key: string): unknown => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** Rows for the soak record. */
export function soakRows(): void {
  const k = results.soak;
  if (!k) return;
  const n = Number(k['n']);
  if (k['flat'] == null) {
    infoRow('watch RSS over passes', n, { target: 'flat', pass: 'error', note: String(k['error'] ?? 'too few samples').slice(0, 120) });
    return;
  }
  infoRow('watch RSS over passes', n, {
    wallMs: Number(k['seconds']) * 1000,
    rssKb: numOrNull(k['maxKb']),
    target: 'flat',
    pass: k['flat'] === true && !k['error'],
    note: `${String(k['passes'])} passes: live heap ${liveHeapText(k['liveHeap'], 'pass')}; RSS ${fmtMb(k['earlyKb'])} MB (passes 10–20%) → ${fmtMb(k['lateKb'])} MB (last 10%)`,
  });
}

/** The row for the churn record: watch RSS over profile create/delete cycles. */
export function churnRows(): void {
  const k = results.churn;
  if (!k) return;
  const cycles = Number(k['cycles']);
  if (k['flat'] == null) {
    infoRow('watch RSS over churn', cycles, { target: 'flat', pass: 'error', note: String(k['error'] ?? 'too few samples').slice(0, 120) });
    return;
  }
  infoRow('watch RSS over churn', cycles, {
    wallMs: Number(k['seconds']) * 1000,
    rssKb: numOrNull(k['maxKb']),
    target: 'flat',
    pass: k['flat'] === true && !k['error'],
    note: `${String(k['cycles'])} create/delete cycles: live heap ${liveHeapText(k['liveHeap'], 'cycle')}; RSS ${fmtMb(k['earlyKb'])} → ${fmtMb(k['lateKb'])} MB`,
  });
}

/** `7.9 MB (cycle 2000) → 8.1 MB (cycle 10000)` from a soak record's heap snapshots. */
function liveHeapText(v: unknown, unit: string): string {
  if (!Array.isArray(v)) return '-';
  return (v as { cycles: number; bytes: number }[]).map((x) => `${(x.bytes / 1048576).toFixed(1)} MB (${unit} ${x.cycles})`).join(' → ');
}

/** Rows for the watch record: latency p95 and idle CPU, quiet and under load, and RSS. */
export function watchRows(): void {
  const w = results.watch;
  if (!w || w['unavailable']) return;
  const n = Number(w['n']);
  const latency = (name: string, l: unknown): void => {
    if (!l) return;
    const p95 = numOrNull(get(l, 'p95'));
    infoRow(`watch change→converged p95 (${name})`, n, {
      wallMs: p95,
      target: '≤ 500 ms',
      pass: p95 != null && get(l, 'timeouts') === 0 ? p95 <= 500 : false,
      note: `p50=${String(get(l, 'p50'))} ms, max=${String(get(l, 'max'))} ms, ${String(get(l, 'count'))} changes, ${String(get(l, 'timeouts'))} timeouts`,
    });
  };
  const idle = (name: string, x: unknown, limit: number): void => {
    if (!x) return;
    const pct = Number(get(x, 'pctOfCore'));
    infoRow(`watch idle CPU (${name})`, n, {
      wallMs: Number(get(x, 'seconds')) * 1000,
      cpuMs: numOrNull(get(x, 'cpuMs')),
      rssKb: numOrNull(get(x, 'rssEndKb')),
      ratio: `${pct}% core`,
      target: `≤ ${limit}% of a core`,
      pass: pct <= limit,
      note: `RSS ${fmtMb(get(x, 'rssStartKb'))}→${fmtMb(get(x, 'rssEndKb'))} MB`,
    });
  };
  latency('quiet', w['latencyQuiet']);
  idle('quiet', w['idleQuiet'], 1);
  latency('writer', w['latencyWriter']);
  idle('writer', w['idleWriter'], 5);
  const rss = w['rss'];
  if (get(rss, 'flat') != null) {
    const d = (x: unknown): string =>
      get(x, 'flat') == null
        ? 'n/a'
        : `${fmtMb(get(x, 'firstKb'))}→${fmtMb(get(x, 'lastKb'))} MB (${String(get(x, 'slopeMbPerMin'))} MB/min)`;
    // For the record: within a 60 s window RSS follows V8's lazy heap sizing (it grows under the
    // writer load and drops after a major GC). Whether the watcher retains anything is judged by
    // the pass and churn soaks, on its live heap.
    infoRow('watch RSS over time', n, {
      rssKb: numOrNull(get(rss, 'maxKb')),
      note: `quiet ${d(get(rss, 'quiet'))}; writer ${d(get(rss, 'writer'))}; retention: see the soaks' live heap`,
    });
  }
  if (w['error']) infoRow('watch', n, { pass: 'error', note: String(w['error']).slice(0, 120) });
}

/** Peak RSS at N=10000 and the cost exponents between sizes. */
export function deriveTargets(): void {
  const big = Math.max(...SIZES);
  const toolRows = results.rows.filter((x) => !x.scenario.startsWith('floor') && !x.scenario.startsWith('watch'));
  for (const r of toolRows.filter((x) => x.n === 10000 && x.rssKb != null)) {
    addTarget(`${r.scenario} N=10000: peak RSS`, `${fmtMb(r.rssKb)} MB`, '≤ 150 MB', (r.rssKb ?? 0) <= 150 * 1024);
  }
  if (big < 10000) results.notes.push('peak-RSS target (N=10000) not evaluated: N=10000 not in BENCH_SIZES');
  // Linear cost: exponent of (wall − node -e 0) between successive sizes ≥ 100.
  const start = results.floors.startup?.wallMs ?? 0;
  const byScenario = new Map<string, (Row & { n: number })[]>();
  for (const r of toolRows) {
    if (typeof r.n !== 'number' || r.n < 100) continue;
    byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r as Row & { n: number }]);
  }
  for (const [sc, rs] of byScenario) {
    rs.sort((a, b) => a.n - b.n);
    for (let i = 1; i < rs.length; i++) {
      const a = rs[i - 1];
      const b = rs[i];
      if (a === undefined || b === undefined) continue;
      const ta = Math.max(1, (a.wallMs ?? 0) - start);
      const tb = Math.max(1, (b.wallMs ?? 0) - start);
      const k = Math.log(tb / ta) / Math.log(b.n / a.n);
      addTarget(`${sc}: cost exponent N=${a.n}→${b.n} (wall − node -e 0)`, k.toFixed(2), '≤ 1.15 (1 = linear)', k <= 1.15);
    }
  }
  // (zero slot writes and ≤ 1 mkfifo / s6-svscanctl per pass are judged in the syscall table)
}

/** A text table; in markdown a literal | inside a cell is escaped. */
export function renderTable(headers: readonly string[], rows: readonly (readonly unknown[])[], { markdown = false } = {}): string {
  const esc = (c: unknown): string => (markdown ? String(c).replace(/\|/g, '\\|') : String(c));
  const h = headers.map(esc);
  const body = rows.map((r) => r.map(esc));
  const w = h.map((x, i) => Math.max(x.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(w[i] ?? 0)).join(' | ')} |`;
  return [line(h), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** The main, syscall and targets tables. */
export function buildTables(opts: { markdown?: boolean } = {}): { t1: string; t2: string; t3: string } {
  const main = results.rows.map((r) => [
    r.scenario,
    r.n,
    fmtMs(r.wallMs),
    r.cpuMs == null ? '-' : Math.round(r.cpuMs),
    fmtMb(r.rssKb),
    r.floor ?? '-',
    fmtMs(r.floorMs),
    typeof r.ratio === 'string' ? r.ratio : fmtRatio(r.ratio),
    r.target,
    passText(r.pass),
    r.note ?? '',
  ]);
  const t1 = renderTable(
    ['scenario', 'N', 'wall ms (median)', 'CPU ms', 'peak RSS MB', 'floor', 'floor ms', 'ratio', 'target', 'result', 'note'],
    main,
    opts,
  );
  const sc = results.syscalls.map((s) => [
    s.scenario,
    s.n,
    s.totalSyscalls ?? '-',
    s.perProfile ?? '-',
    s.slotMutations,
    s.slotMutationsPerSlot,
    s.slotsTouched,
    s.scandirTopMutations,
    s.hermesHomeMutations,
    s.mkfifoExecs,
    s.fifoCreates,
    `${s.svscanctlExecs} / ${s.controlWrites}`,
    s.target,
    passText(s.pass),
  ]);
  const t2 = sc.length
    ? renderTable(
        [
          'scenario (strace -f)',
          'N',
          'syscalls',
          'per profile',
          'slot writes',
          'per slot/change',
          'slots touched',
          'other scandir writes',
          'HERMES_HOME writes',
          'mkfifo execs',
          'FIFOs',
          'svscanctl execs / ctl writes',
          'target',
          'result',
        ],
        sc,
        opts,
      )
    : '';
  const t3 = results.targets.length
    ? renderTable(
        ['target', 'measured', 'wanted', 'result'],
        results.targets.map((t) => [t.name, t.value, t.target, passText(t.pass)]),
        opts,
      )
    : '';
  return { t1, t2, t3 };
}

/** One line describing the machine and the scratch space. */
export function machineLine(): string {
  const m = results.machine;
  return `${m.cpus} × ${m.cpuModel}, ${(m.totalMemMB / 1024).toFixed(1)} GiB RAM, ${m.kernel}, Node ${m.node}; scratch: ${results.scratch?.note}`;
}

/** Prints the tables and notes on stdout. */
export function printReport(): void {
  const { t1, t2, t3 } = buildTables();
  const header = `reconcile-gateways bench — ${results.startedAt} (${results.mode}, ${RUNS} runs + ${WARMUP} warm-up, median)\nmachine: ${machineLine()}`;
  console.log(`\n${header}\n\n${t1}\n`);
  if (t2) console.log(`${t2}\n`);
  if (t3) console.log(`${t3}\n`);
  if (results.notes.length) console.log(`notes:\n${results.notes.map((x) => `  - ${x}`).join('\n')}\n`);
}

/**
 * Writes the record atomically: a run that also rewrites the README's section (a full run) to
 * bench/results/latest.json, the committed record that section shows (git history keeps earlier
 * runs); a partial run (quick, one slice, another CLI) to partial.json beside it, ignored by git,
 * so a slice measured while working never replaces the full record.
 */
export function writeResults(full: boolean): void {
  const resDir = path.join(BENCH_DIR, 'results');
  const name = full ? 'latest.json' : 'partial.json';
  fs.mkdirSync(resDir, { recursive: true });
  const tmp = path.join(resDir, `${name}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(results, null, 1) + '\n');
  fs.renameSync(tmp, path.join(resDir, name));
  console.log(`results: bench/results/${name}; ${results.elapsedSeconds}s`);
}

/** Rewrites the "Latest results" section of bench/README.md. */
export function updateReadme(): void {
  const { t1, t2, t3 } = buildTables({ markdown: true });
  const text = [
    `Run ${results.startedAt} (${results.mode}; ${RUNS} runs + ${WARMUP} warm-up, medians; ${results.elapsedSeconds} s).`,
    '',
    `Machine: ${machineLine()}.`,
    '',
    t1,
    '',
    t2,
    '',
    t3,
    '',
    ...(results.notes.length ? ['Notes:', '', ...results.notes.map((x) => `- ${x}`), ''] : []),
  ].join('\n');
  const file = path.join(BENCH_DIR, 'README.md');
  if (!fs.existsSync(file)) return;
  const begin = '<!-- BENCH:LATEST:BEGIN -->';
  const end = '<!-- BENCH:LATEST:END -->';
  const src = fs.readFileSync(file, 'utf8');
  const a = src.indexOf(begin);
  const b = src.indexOf(end);
  if (a < 0 || b < a) {
    log('README has no BENCH:LATEST markers; not updated');
    return;
  }
  fs.writeFileSync(file, `${src.slice(0, a + begin.length)}\n${text}\n${src.slice(b)}`);
  log('bench/README.md: latest results updated');
}
