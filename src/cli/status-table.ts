/**
 * The `status` table: one line per profile, columns a person reads at a glance, then the
 * scandir and watcher summary. Every name is escaped; nothing here reads the system.
 */
import { escapeLine } from '../escape.js';
import type { StatusRow } from './status-report.js';

/** The watcher part of the report. */
export type WatcherReport =
  | { readonly state: 'absent'; readonly statusFile: string }
  | { readonly state: 'unreadable'; readonly statusFile: string; readonly reason: string }
  | {
      readonly state: 'present';
      readonly statusFile: string;
      readonly pid: number;
      readonly running: boolean;
      readonly lastPass: Record<string, unknown> | null;
      readonly nextFullPassAt: string;
    };

/** What the table shows besides the rows. */
export interface TableContext {
  readonly svscanLive: boolean;
  readonly serviceCount: number;
  readonly warnings: readonly string[];
  readonly watcher: WatcherReport;
  readonly nowMs: number;
}

const HEADER = ['PROFILE', 'INTENT', 'SLOT', 'OWNED', 'MARKER', 'LIVE', 'PID', 'FOR', 'WANT', 'LAST-EXIT', 'PERM-FAIL', 'RESTART', 'DRIFT'];

/** Renders the whole text report. */
export function renderStatusTable(rows: readonly StatusRow[], ctx: TableContext): string {
  const cells = [HEADER, ...rows.map(rowCells)];
  const widths = HEADER.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)));
  const lines = cells.map((c) => c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
  lines.push('');
  lines.push(`scandir: ${ctx.serviceCount} services (loggers included); s6-svscan ${ctx.svscanLive ? 'is running' : 'is not running'}`);
  for (const w of ctx.warnings) lines.push(`warning: ${escapeLine(w)}`);
  lines.push(watcherLine(ctx.watcher, ctx.nowMs));
  return `${lines.join('\n')}\n`;
}

function rowCells(r: StatusRow): string[] {
  const live = r.live;
  const intent =
    r.intent.stateFile === 'parsed'
      ? `${r.intent.desiredState ?? '-'}/${r.intent.gatewayState ?? '-'}`
      : r.intent.stateFile === 'unknown'
        ? '-'
        : r.intent.stateFile;
  return [
    escapeLine(r.profile),
    escapeLine(intent),
    r.slot.present ? (r.slot.kind === 'dir' ? 'yes' : (r.slot.kind ?? 'yes')) : 'no',
    r.slot.present ? (r.slot.owned ? 'yes' : 'no') : '-',
    r.slot.marker ?? '-',
    live === null ? '-' : !live.supervised ? 'unsupervised' : live.up ? 'up' : live.finishing ? 'finishing' : 'down',
    live?.pid === null || live === null ? '-' : String(live.pid),
    live === null ? '-' : duration(live.forSeconds),
    live === null ? '-' : live.wantedUp ? 'up' : 'down',
    live?.lastExit == null ? '-' : 'code' in live.lastExit ? `exit ${live.lastExit.code}` : `signal ${live.lastExit.signal}`,
    live === null ? '-' : live.permanentFailure ? 'YES' : 'no',
    r.restartPending ? 'pending' : '-',
    r.drift.length === 0 ? '-' : escapeLine(r.drift.join('; ')),
  ];
}

/** `3d4h`, `5m12s`, `42s`. */
export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function watcherLine(w: WatcherReport, nowMs: number): string {
  if (w.state === 'absent') return `watcher: no status file at ${escapeLine(w.statusFile)}`;
  if (w.state === 'unreadable') return `watcher: status file ${escapeLine(w.statusFile)} unreadable: ${escapeLine(w.reason)}`;
  const who = `pid ${w.pid} ${w.running ? 'running' : 'not running'}`;
  const p = w.lastPass;
  if (p === null) return `watcher: ${who}; no pass completed yet`;
  const finished = typeof p['finishedAt'] === 'string' ? p['finishedAt'] : '';
  const ago = finished === '' ? '' : ` (${duration(Math.max(0, Math.floor((nowMs - Date.parse(finished)) / 1000)))} ago)`;
  const scope = String(p['scope']);
  return escapeLine(
    `watcher: ${who}; last pass ${finished}${ago}: ${scope} (${String(p['trigger'])}) ${String(p['result'])} in ${String(p['durationMs'])} ms; ` +
      `next full pass ${w.nextFullPassAt}`,
  );
}
