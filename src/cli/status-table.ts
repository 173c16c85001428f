/**
 * The `status` table: one line per profile in at most `width` columns (100, or the terminal's
 * width; a long note goes on under NOTE on lines of its own), a legend for the short words, then
 * the scandir and watcher summary, every line wrapped by us so the terminal wraps nothing. Every
 * name is escaped; nothing here reads the system.
 */
import path from 'node:path';
import { escapeLine } from '../escape.js';
import type { WatcherStop } from '../watch/status-file.js';
import { isHermesIntent } from '../desired/index.js';
import { NAME_RULE } from '../model/names.js';
import { namesInProse } from '../model/text.js';
import { type StatusRow, driftConditionLine, driftNote, duration } from './status-report.js';

export { duration } from './status-report.js';
import { restartPendingNote } from './output.js';
import { type Painter, painter } from './status-paint.js';

/** The watcher part of the report. */
export type WatcherReport =
  /** `lockHeld`: whether a process holds the watcher lock beside the file (unknown without /proc). */
  | { readonly state: 'absent'; readonly statusFile: string; readonly lockHeld?: boolean }
  | { readonly state: 'unreadable'; readonly statusFile: string; readonly reason: string; readonly lockHeld?: boolean }
  /** The status file is of a watcher over other trees. */
  | { readonly state: 'elsewhere'; readonly statusFile: string; readonly hermesHome: string; readonly scandir: string }
  | {
      readonly state: 'present';
      readonly statusFile: string;
      readonly pid: number;
      readonly running: boolean;
      readonly lastPass: Record<string, unknown> | null;
      /** Null when the watcher is not running: no next pass will come. */
      readonly nextFullPassAt: string | null;
      /** Present when the watcher recorded a clean stop (the status file's `stopped`). */
      readonly stopped?: WatcherStop;
      readonly lockHeld?: boolean;
    };

/** What the table shows besides the rows. */
export interface TableContext {
  readonly svscanLive: boolean;
  /** Why this user cannot tell whether s6-svscan runs (ObservedScandir.svscanUnknown). */
  readonly svscanUnknown?: string;
  /** The scandir's absolute path (a note's `s6-svc -u` names a slot by it). */
  readonly scandir: string;
  /** HERMES_HOME's absolute path: a crash-looping gateway's note names its log there. */
  readonly hermesHome?: string;
  readonly serviceCount: number;
  /** Directories under profiles/ without a SOUL.md: no profiles, so no rows (default none). */
  readonly notProfiles?: readonly string[];
  /** `profiles/` could not be read: a named slot's profile is unknown, not gone. */
  readonly profilesUnread?: boolean;
  readonly warnings: readonly string[];
  readonly watcher: WatcherReport;
  readonly nowMs: number;
  /** Columns available (default 100). */
  readonly width?: number;
  /** Whether the legend follows the table (default true). */
  readonly legend?: boolean;
  /** Whether to colour LIVE, the drift conditions and the warnings (a terminal: useColour; default false). */
  readonly colour?: boolean;
}

/** The default width: fits a 100-column terminal and most log viewers. */
export const DEFAULT_WIDTH = 100;

const HEADER = ['PROFILE', 'INTENT', 'SLOT', 'LIVE', 'FOR', 'NOTE'] as const;
const LIVE_COLUMN = 3;
/**
 * The NOTE column keeps at least this many columns (a longer note wraps onto lines of its own,
 * under it); a profile name longer than what is left is cut, to no less than MIN_PROFILE.
 */
const MIN_NOTE = 24;
const MIN_PROFILE = 12;
/** INTENT shows a state file's string (up to 256 characters, from the volume): longer is cut. */
const MAX_INTENT = 14; // startup_failed
/** Where a note goes on lines of its own, under its row, when the NOTE column has no room. */
const NOTE_INDENT = '    ';

/** What the short words mean, printed under the table. */
export const LEGEND =
  'Legend: INTENT = desired_state (else gateway_state; missing or unreadable = the state file is; - = no ' +
  'profile). SLOT = ' +
  'ours or foreign, up or down (the down marker); none = no slot; file, symlink or other = the slot path is ' +
  'no directory (NOTE says what to do). FOR = how long LIVE has held, by s6. LIVE: ' +
  'unsupervised = its s6-supervise is gone (s6-svscan restarts it); - = no supervisor state read (none ran, no s6-svscan, or not readable ' +
  'to this user); stopped = wanted down by s6 or an operator (s6-svc -d); failed = run exited 78, so ' +
  'finish returned 125 and s6 will not restart it; starting = s6 wants it up and it is not, yet: (re)starting, or ' +
  'between the restarts of a crash loop. NOTE leads with ' +
  'drift (docs/metrics.md): IntentRunningButDown = intent running, down longer than --drift-grace; ' +
  'CrashLooping = more than --crash-restarts deaths in --crash-window; IntentStoppedButUp = intent not ' +
  'running, yet up; LoggerDown = its logger (s6-log) down longer than --drift-grace, or crash-looping. The ' +
  'same data for scripts: --output json.';

/** Renders the whole text report. */
export function renderStatusTable(rows: readonly StatusRow[], ctx: TableContext): string {
  // The rows need 60 columns at least (they run past a narrower terminal); prose fits any width.
  const width = Math.max(60, ctx.width ?? DEFAULT_WIDTH);
  const paint = painter(ctx.colour === true);
  const { lines, namesCut } = tableLines(
    rows.map((r) => rowCells(r, ctx)),
    width,
    paint,
  );
  const prose = Math.max(20, ctx.width ?? DEFAULT_WIDTH);
  // A cut name cannot be told apart from another or typed back: say where it is whole.
  if (namesCut) lines.push(...wrap('(a name cut with \u2026 is whole in --output json)', prose));
  lines.push('');
  for (const text of [
    ...(ctx.legend === false ? [] : [LEGEND]),
    `scandir ${escapeLine(ctx.scandir)}: ${ctx.serviceCount} ${ctx.serviceCount === 1 ? 'service' : 'services'} (a logger counts with its service); ${svscanLine(ctx)}`,
  ]) {
    lines.push(...wrap(text, prose));
  }
  const notProfiles = ctx.notProfiles ?? [];
  if (notProfiles.length > 0) {
    const names = namesInProse(
      notProfiles.map((n) => `profiles/${escapeLine(n)}`),
      10,
    );
    lines.push(...wrap(`not profiles (no SOUL.md, so no gateway): ${names}; a SOUL.md in one makes it a profile`, prose));
  }
  for (const w of ctx.warnings) lines.push(...wrap(`warning: ${escapeLine(w)}`, prose).map((l, i) => (i === 0 ? paint.warning(l) : l)));
  for (const w of watcherLines(ctx.watcher, ctx.nowMs)) lines.push(...wrap(w, prose));
  return `${lines.join('\n')}\n`;
}

/** Whether s6-svscan runs, or why this user cannot tell (and what LIVE then rests on). */
function svscanLine(ctx: TableContext): string {
  if (ctx.svscanLive) return 's6-svscan is running';
  if (ctx.svscanUnknown === undefined) return 's6-svscan is not running';
  return `whether s6-svscan runs is unknown to this user (${escapeLine(ctx.svscanUnknown)}); LIVE is what each slot's supervise/ let it read: run status as root for all of it`;
}

/** The table's lines, and whether a profile name had to be cut. */
function tableLines(rows: readonly (readonly string[])[], width: number, paint: Painter): { lines: string[]; namesCut: boolean } {
  const cells = [[...HEADER], ...rows];
  // A fold, not Math.max(...): one argument per row overflows the stack at ~125,000 rows.
  const widths = HEADER.map((_, i) => cells.reduce((widest, c) => Math.max(widest, columnsOf(c[i] ?? '')), 0));
  widths[1] = Math.min(widths[1] ?? 0, MAX_INTENT);
  // The columns between PROFILE and NOTE, with every gap.
  const middle = widths.slice(1, -1).reduce((a, b) => a + b, 0) + 2 * (HEADER.length - 1);
  const inline = width - middle - Math.min(widths[0] ?? 0, MIN_PROFILE) >= MIN_NOTE;
  // Without room for a NOTE column, each note goes under its row and the header has no NOTE.
  const room = inline ? width - middle - MIN_NOTE : width - middle + 2;
  const longest = widths[0] ?? 0;
  widths[0] = Math.min(longest, Math.max(MIN_PROFILE, room));
  const namesCut = longest > widths[0];
  const noteStart = middle + (widths[0] ?? 0);
  const row = (c: readonly string[]): string =>
    c
      .slice(0, -1)
      .map((cell, i) => pad(cut(cell, widths[i] ?? 0), widths[i] ?? 0))
      .map((cell, i) => (i === LIVE_COLUMN && c !== cells[0] ? paint.live(cell) : cell))
      .join('  ');
  if (!inline) {
    const lines = cells.flatMap((c, i) => [
      row(c).trimEnd(),
      ...(i === 0 || c.at(-1) === ''
        ? []
        : wordLines(c.at(-1) ?? '', width - NOTE_INDENT.length).map((l) => `${NOTE_INDENT}${paint.note(l)}`)),
    ]);
    return { lines, namesCut };
  }
  const lines = cells.flatMap((c, i) => {
    const [first = '', ...more] = i === 0 ? [c.at(-1) ?? ''] : wordLines(c.at(-1) ?? '', width - noteStart).map(paint.note);
    return [`${row(c)}  ${first}`.trimEnd(), ...more.map((line) => `${' '.repeat(noteStart)}${line}`)];
  });
  return { lines, namesCut };
}

/**
 * The words of `text` in lines of at most `columns` (the first line) and `rest` columns (the
 * others; 1 at least). A word longer than a line is split, after a `/` when one falls in the
 * line's second half, so a long path breaks between its components; nothing is ever cut off.
 */
function wordLines(text: string, columns: number, rest = columns): string[] {
  const lines: string[] = [];
  const room = (): number => Math.max(1, lines.length === 0 ? columns : rest);
  let line = '';
  for (const word of text.split(' ')) {
    const next = line === '' ? word : `${line} ${word}`;
    if (columnsOf(next) <= room()) {
      line = next;
      continue;
    }
    if (line !== '') lines.push(line);
    let chars = Array.from(word);
    while (chars.length > room()) {
      const n = room();
      const slash = chars.lastIndexOf('/', n - 1);
      const at = slash >= Math.ceil(n / 2) ? slash + 1 : n;
      lines.push(chars.slice(0, at).join(''));
      chars = chars.slice(at);
    }
    line = chars.join('');
  }
  lines.push(line);
  return lines;
}

/** `text` cut to `n` columns, with `…` marking the cut; never inside a character. */
function cut(text: string, n: number): string {
  const chars = Array.from(text);
  return chars.length <= n ? text : `${chars.slice(0, Math.max(0, n - 1)).join('')}\u2026`;
}

/**
 * The columns `text` takes, one per character (code point, so an emoji is one, not two). Wide
 * East Asian characters take two on a terminal and are counted as one: such a name is invalid,
 * and its row may run wider than the table.
 */
function columnsOf(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** `text` padded with spaces to `n` columns. */
function pad(text: string, n: number): string {
  return `${text}${' '.repeat(Math.max(0, n - columnsOf(text)))}`;
}

/** Words of `text` in lines of at most `width` columns, continuations indented by two. */
export function wrap(text: string, width: number): string[] {
  return wordLines(text, width, width - 2).map((line, i) => (i === 0 ? line : `  ${line}`));
}

function rowCells(r: StatusRow, ctx: TableContext): string[] {
  const live = r.live;
  const intent =
    r.intent.stateFile === 'parsed'
      ? (r.intent.desiredState ?? r.intent.gatewayState ?? '-')
      : r.intent.stateFile === 'unknown'
        ? '-'
        : r.intent.stateFile;
  const slot = !r.slot.present
    ? 'none'
    : r.slot.kind !== 'dir'
      ? (r.slot.kind ?? 'other')
      : `${r.slot.owned ? 'ours' : 'foreign'},${r.slot.marker ?? '-'}`;
  return [
    escapeLine(r.profile),
    escapeLine(intent),
    slot,
    liveCell(r),
    live === null ? '-' : duration(live.forSeconds),
    escapeLine(notes(r, ctx).join('; ')),
  ];
}

/**
 * The note on a row whose state file says something Hermes never writes (`"RUNNING"`): without it
 * the row of a gateway that silently stays down would read fine (the warning under the table says
 * the same at length).
 */
function oddIntentNote(r: StatusRow): string | undefined {
  const desired = r.intent.desiredState;
  if (r.intent.stateFile !== 'parsed' || desired === null || isHermesIntent(desired)) return undefined;
  return `desired_state is neither "running" nor "stopped"; only "running" starts it, so it stays down`;
}

/** The live word with the pid when up, or how it last ended when down: `up 812`, `stopped sig 15`. */
function liveCell(r: StatusRow): string {
  const live = r.live;
  const word = liveWord(r);
  if (live === null || !live.supervised) return word;
  if (live.pid !== null) return `${word} ${live.pid}`;
  if (live.lastExit === null) return word;
  return `${word} ${'code' in live.lastExit ? `exit ${live.lastExit.code}` : `sig ${live.lastExit.signal}`}`;
}

/** A skip reason for a person: the name rule in words, not the pattern upstream's log line gives. */
function inWords(reason: string): string {
  if (!reason.startsWith('invalid-name: ')) return reason;
  const why = reason.slice('invalid-name: '.length);
  return `invalid profile name${why.startsWith('name does not match') ? '' : ` (${why})`}; rename the profile: ${NAME_RULE}`;
}

function liveWord(r: StatusRow): string {
  const live = r.live;
  if (live === null) return '-';
  if (!live.supervised) return 'unsupervised';
  if (live.finishing) return 'finishing';
  if (live.up) return live.wantedUp ? 'up' : 'stopping';
  if (live.wantedUp) return 'starting';
  if (live.permanentFailure) return 'failed';
  return r.slot.marker === 'up' ? 'stopped' : 'down';
}

/**
 * Why the row is not simply fine: drift conditions first (what an alert fires on), then skip or
 * pending reason, planned changes, live state, the watcher's view.
 */
function notes(r: StatusRow, ctx: TableContext): string[] {
  const out = r.driftConditions.map((c) => driftNote(c, r, ctx));
  if ((r.intent.action === 'skipped' || r.intent.action === 'pending') && r.intent.reason !== undefined)
    out.push(`${r.intent.action}: ${inWords(r.intent.reason)}`);
  const odd = oddIntentNote(r);
  if (odd !== undefined) out.push(odd);
  // A slot with no profile that is not ours: the tool never touches it, and an empty NOTE said nothing of why.
  if (r.intent.action === null && ctx.profilesUnread === true && r.slot.present)
    out.push('its profile is unknown: profiles/ cannot be read (see the warning below); the slot is left as it is');
  else if (r.slot.present && r.slot.kind === 'dir' && !r.slot.owned && r.intent.action === null)
    out.push('not made by this tool (no .reconcile-gateways.json) and no profile: left as it is');
  const conditionLines = new Set(r.driftConditions.map(driftConditionLine));
  out.push(...r.drift.filter((line) => !conditionLines.has(line)));
  if (r.restartPending) out.push(restartPendingNote(path.join(ctx.scandir, r.service)));
  if (r.watcher !== null && r.watcher.condition !== 'Ready') {
    // The watcher's reason is often the row's own (a pending state file): said once.
    const reason = r.watcher.reason;
    const told = reason === undefined || out.some((note) => note === reason || note.endsWith(`: ${reason}`));
    // A watcher that stopped left its last conditions: said as its last word, not as news.
    const who = ctx.watcher.state === 'present' && !ctx.watcher.running ? 'watcher, when it stopped' : 'watcher';
    out.push(`${who}: ${r.watcher.condition}${told ? '' : ` (${reason})`}`);
  }
  return out;
}

/** What a watcher that holds its lock but not its status file is told to check. */
const CANNOT_WRITE = 'can it write there? see its log (it warns when it cannot)';

/**
 * Why a watcher is not running: the clean stop it recorded, else it died (killed, crashed, or
 * the machine stopped) and its log says more.
 */
function notRunning(stopped: WatcherStop | undefined, nowMs: number): string {
  if (stopped === undefined) return 'not running, and no clean stop recorded (killed or crashed?): see its log';
  return `stopped by ${stopped.by} at ${stopped.at}${ago(stopped.at, nowMs)}`;
}

/** ` (5m12s ago)`, or '' for a time that does not parse. */
function ago(at: string, nowMs: number): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? '' : ` (${duration(Math.max(0, Math.floor((nowMs - ms) / 1000)))} ago)`;
}

/** The watcher summary; a watcher that is not running has no next pass to promise. */
function watcherLines(w: WatcherReport, nowMs: number): string[] {
  if (w.state === 'absent') {
    if (w.lockHeld === true)
      return [`watcher: one runs (it holds ${escapeLine(w.statusFile)}.lock) but has written no status file: ${CANNOT_WRITE}`];
    return [`watcher: no status file at ${escapeLine(w.statusFile)} (is watch running? see --status-file)`];
  }
  if (w.state === 'unreadable') {
    const line = `watcher: status file ${escapeLine(w.statusFile)} unreadable: ${escapeLine(w.reason)}`;
    // Whether one runs is still known from its lock, which does not depend on the file.
    if (w.lockHeld === undefined) return [line];
    const lock = `${escapeLine(w.statusFile)}.lock`;
    return [line, w.lockHeld ? `watcher: one runs (it holds ${lock}); see its log` : `watcher: none runs (nobody holds ${lock})`];
  }
  if (w.state === 'elsewhere') {
    const trees = `${escapeLine(w.hermesHome)} and ${escapeLine(w.scandir)}`;
    return [`watcher: status file ${escapeLine(w.statusFile)} is of a watcher over ${trees}, not these (see --status-file)`];
  }
  const who = `watcher: pid ${w.pid} ${w.running ? 'running' : notRunning(w.stopped, nowMs)}`;
  // The file is of a watcher that is gone, yet one holds the lock: it cannot write the file.
  const stale =
    !w.running && w.lockHeld === true
      ? [`watcher: another one runs now (it holds ${escapeLine(w.statusFile)}.lock), but the file is not its own: ${CANNOT_WRITE}`]
      : [];
  const p = w.lastPass;
  if (p === null) return [escapeLine(w.running ? `${who}; no pass completed yet` : who), ...stale];
  const finished = typeof p['finishedAt'] === 'string' ? p['finishedAt'] : '';
  const last = `last pass ${finished}${finished === '' ? '' : ago(finished, nowMs)}: ${String(p['scope'])} (${String(p['trigger'])}) ${String(p['result'])} in ${String(p['durationMs'])} ms`;
  return [
    escapeLine(who),
    escapeLine(w.running ? `${last}; next full pass ${w.nextFullPassAt}` : last),
    ...passError(p, w.running),
    ...stale,
  ];
}

/** Why the last pass failed as a whole, from the status file's `error`, and, for a running watcher, what it does next. */
function passError(p: Record<string, unknown>, running: boolean): string[] {
  const e = p['error'];
  if (typeof e !== 'object' || e === null || !('message' in e) || typeof e.message !== 'string') return [];
  const next = 'terminal' in e && e.terminal === true ? 'it waits for the interval or SIGHUP' : 'it retries with back-off';
  return [escapeLine(`last pass failed: ${e.message}${running ? ` (${next})` : ''}`)];
}
