/**
 * Result formats: the JSON plan document (schemas/plan.schema.json), upstream-compatible text
 * lines, and the `--diff` preview with unified diffs. stdout carries results only.
 */
import path from 'node:path';
import { inspect } from 'node:util';
import type { Operation, OperationKind, OperationResult, ProfileDecision } from '../model.js';
import { OPERATION_KINDS } from '../model/constants.js';
import type { PassResult } from '../reconcile.js';
import { escapeLine, fieldValue, quotedField, shellWord } from '../escape.js';
import type { DriftType } from '../desired/drift.js';
import { isRefused } from '../diff/index.js';
import { isValidProfileName } from '../model/names.js';
import { driftCounts, driftReport, driftingServices } from '../watch/status-file.js';

/** Why a restart is pending, and what applies it: `slot` is the slot's path, so the command runs as printed. */
function restartPending(slot: string): { readonly why: string; readonly remedy: string } {
  return { why: 'run-time files changed while it runs', remedy: `sync --restart-changed or s6-svc -r ${shellWord(slot)} applies them` };
}

/** The note (`status`, `--diff`) on a service whose run-time files changed while it runs. */
export function restartPendingNote(slot: string): string {
  const { why, remedy } = restartPending(slot);
  return `restart pending: ${why} (${remedy})`;
}

/** Context printed with every plan. */
export interface DocumentContext {
  readonly mode: 'boot' | 'sync';
  readonly dryRun: boolean;
  readonly hermesHome: string;
  readonly scandir: string;
  readonly multiplex: boolean;
  readonly exitCode: 0 | 1 | 2;
  readonly warnings: readonly string[];
}

/** Every operation kind, in the order counts are printed. */
const KINDS = OPERATION_KINDS;

/** Operation counts per kind plus failures and pending restarts. */
export function summarize(result: PassResult): Record<OperationKind | 'failed' | 'restartPending', number> {
  const count = (k: OperationKind): number => result.plan.operations.filter((o) => o.kind === k).length;
  const counts = Object.fromEntries(KINDS.map((k) => [k, count(k)])) as Record<OperationKind, number>;
  return {
    ...counts,
    failed: result.results.filter((r) => r.status === 'failed').length,
    restartPending: result.plan.restartPending.length,
  };
}

/**
 * The counts as `key=value` fields (`restart_pending` in upstream's snake case). `heal=N` and
 * `pickup=N` only when the pass planned some: only `--heal` plans heals, pickups are rare, and
 * other summaries keep their shape; likewise
 * `prune_blocked=1` only when the empty-set guard held the prune back (the warning says why).
 */
function countFields(result: PassResult, applied: boolean): string {
  const s = summarize(result);
  const kinds = KINDS.filter((k) => (k !== 'heal' && k !== 'pickup') || s[k] > 0);
  const blocked = result.desired.pruneBlocked === undefined ? [] : ['prune_blocked=1'];
  return [
    ...kinds.map((k) => `${k}=${s[k]}`),
    ...(applied ? [`failed=${s.failed}`] : []),
    `restart_pending=${s.restartPending}`,
    ...blocked,
  ].join(' ');
}

/** Paths an operation changes: slot-relative for slot kinds, HERMES_HOME- or scandir-relative otherwise. */
export function filesOf(op: Operation): string[] {
  switch (op.kind) {
    case 'create':
      return [...op.spec.files.map((f) => f.path), ...(op.spec.autostart ? [] : ['down'])].sort();
    case 'update':
      return [...op.dirs.map((d) => (d.path === '' ? '.' : d.path)), ...op.changes.map((c) => c.path)];
    case 'up':
    case 'down':
      return ['down'];
    case 'sweep':
      return op.files.map((f) => (op.dir === '' ? f : `${op.dir}/${f}`));
    case 'cleanup':
      return [op.entry];
    case 'seed':
      return [op.path];
    case 'restart':
    case 'remove':
    case 'purge':
    case 'heal':
    case 'pickup':
      return [];
    default:
      return assertNever(op);
  }
}

function assertNever(op: never): never {
  throw new Error(`unknown operation kind: ${JSON.stringify(op)}`);
}

/** The `--output json` document (schemas/plan.schema.json, formatVersion 2). */
export function planDocument(result: PassResult, ctx: DocumentContext): Record<string, unknown> {
  const byOp = new Map<Operation, OperationResult>(result.results.map((r) => [r.op, r]));
  return {
    formatVersion: '2',
    mode: ctx.mode,
    dryRun: ctx.dryRun,
    hermesHome: ctx.hermesHome,
    scandir: ctx.scandir,
    role: 'gateway',
    multiplex: ctx.multiplex,
    profiles: result.desired.decisions.map(profileEntry),
    operations: result.plan.operations.map((op) => {
      const r = byOp.get(op);
      const files = filesOf(op);
      return {
        kind: op.kind,
        service: op.service,
        profile: op.profile,
        reason: op.reason,
        ...(files.length === 0 ? {} : { files }),
        ...(op.kind === 'create' ? { starts: op.spec.autostart } : {}),
        ...(isRefused(op) ? { refused: true } : {}),
        ...(r === undefined ? {} : { status: r.status }),
        ...(r?.error === undefined ? {} : { error: r.error }),
      };
    }),
    restartPending: [...result.plan.restartPending],
    foldedProfiles: [...result.desired.foldedProfiles],
    ...(result.desired.pruneBlocked === undefined ? {} : { pruneBlocked: result.desired.pruneBlocked }),
    drift: result.drift.map((d) => ({ service: d.service, profile: d.profile, ...driftReport(d, result.options.host.nowMs) })),
    bootLogLines: result.bootLogLines,
    warnings: [...ctx.warnings],
    summary: summarize(result),
    exitCode: ctx.exitCode,
  };
}

/** A profile's service for the JSON documents: null for an invalid name, which names no slot a consumer could look for. */
export function serviceOrNull(profile: string, service: string): string | null {
  return isValidProfileName(profile) ? service : null;
}

function profileEntry(d: ProfileDecision): Record<string, unknown> {
  return {
    profile: d.profile,
    service: serviceOrNull(d.profile, d.service),
    priorState: d.priorState,
    autostart: d.autostart,
    action: d.action,
    ...(d.reason === undefined ? {} : { reason: d.reason }),
    priorExit: d.priorExit,
    ...(d.foldedIntoRoot === undefined ? {} : { foldedIntoRoot: d.foldedIntoRoot }),
  };
}

/** Upstream's per-profile line, with extra fields after it. */
export function profileLine(d: ProfileDecision): string {
  const prior = d.priorState === null ? 'None' : fieldValue(d.priorState);
  const reason = d.reason === undefined ? '' : ` reason=${quotedField(d.reason)}`;
  return `reconcile: profile=${fieldValue(d.profile)} prior_state=${prior} action=${d.action} prior_exit=${d.priorExit}${reason}`;
}

/**
 * One line per applied or failed operation: which service changed, how, and why. Every failed line
 * has an `error` field; a refused operation's is `refused`, since its reason already says why.
 */
export function operationLine(r: OperationResult): string {
  const said = r.error === undefined ? (r.status === 'failed' ? 'failed' : undefined) : r.error === r.op.reason ? 'refused' : r.error;
  const error = said === undefined ? '' : ` error=${quotedField(said)}`;
  return `reconcile: ${r.status} service=${fieldValue(r.op.service)} kind=${r.op.kind} reason=${quotedField(r.op.reason)}${error}`;
}

/**
 * Text output of a real (non-diff) pass: upstream's lines, then one `pending … kind=restart` line
 * per running service whose run-time files changed (it says what applies them), then the summary.
 */
export function textReport(result: PassResult, exitCode: number, scandir: string): string {
  const lines = [...result.desired.decisions.map(profileLine), ...result.results.map(operationLine)];
  for (const s of result.plan.restartPending) {
    const { why, remedy } = restartPending(path.join(scandir, s));
    lines.push(`${escapeLine(`reconcile: pending service=${s} kind=restart`)} reason=${quotedField(`${why}; ${remedy}`)}`);
  }
  lines.push(
    `reconcile: summary profiles=${result.desired.decisions.length} ${countFields(result, true)} exit=${exitCode}${driftFields(result)}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The drift a pass found, as the watcher's pass line says it (`running_but_down=1 … drifting=…`),
 * after the summary's upstream fields; nothing when there is none, so a converged summary keeps
 * upstream's bytes. Drift is no failure and leaves the exit code alone.
 */
function driftFields(result: PassResult): string {
  if (result.drift.length === 0) return '';
  return ` ${driftCountFields(driftCounts(result.drift))}${escapeLine(` drifting=${firstFew(driftingServices(result.drift))}`)}`;
}

/** `running_but_down=N crash_looping=N stopped_but_up=N logger_down=N`: the drift counts of a summary or pass line. */
export function driftCountFields(c: Readonly<Record<DriftType, number>>): string {
  const counts = `running_but_down=${c.IntentRunningButDown} crash_looping=${c.CrashLooping} stopped_but_up=${c.IntentStoppedButUp}`;
  return `${counts} logger_down=${c.LoggerDown}`;
}

/**
 * The first few names, then how many more: a pass over thousands of profiles still prints one
 * short line. Names come from the volume, so the caller escapes (and quotes) the result.
 */
export function firstFew(names: readonly string[]): string {
  const FIRST = 5;
  return `${names.slice(0, FIRST).join(',')}${names.length > FIRST ? `,+${names.length - FIRST} more` : ''}`;
}

/** A foreground colour of the diff report. */
export type Colour = 'green' | 'yellow' | 'cyan' | 'magenta' | 'red' | 'blue';

/**
 * `text` in a colour, as `util.styleText` paints it. Not styleText itself: it also decides from
 * process.stdout and the environment, where Node takes an empty NO_COLOR for "no colour" (no-color.org:
 * only a non-empty one is) and a test's stdout for the report's. useColour alone decides.
 */
export function painted(colour: Colour, text: string): string {
  const [open, close] = inspect.colors[colour] ?? [39, 39];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Whether to colour: only on a TTY, never with a non-empty NO_COLOR (no-color.org) or TERM=dumb. */
export function useColour(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  return isTTY && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '') && env['TERM'] !== 'dumb';
}

const KIND_COLOUR = {
  create: 'green',
  update: 'yellow',
  restart: 'yellow',
  up: 'cyan',
  down: 'magenta',
  remove: 'red',
  purge: 'red',
  heal: 'blue',
  pickup: 'cyan',
  sweep: 'red',
  cleanup: 'red',
  seed: 'green',
} as const satisfies Record<OperationKind, Colour>;

/**
 * What a `--diff` line adds after the reason: whether a new slot starts, which files go, and which
 * running gateway (by pid, as s6 last reported it) a `down`, `remove` or `restart` stops.
 */
function detailOf(op: Operation, result: PassResult): string {
  if (op.kind === 'create') return op.spec.autostart ? ' (starts)' : ' (registered down)';
  if (op.kind === 'sweep' || op.kind === 'cleanup' || op.kind === 'seed') return ` (${filesOf(op).join(', ')})`;
  if ((op.kind !== 'down' && op.kind !== 'remove' && op.kind !== 'restart') || isRefused(op)) return '';
  const live = result.observed.scandir.slots.get(op.service)?.live;
  if (live === undefined || !live.supervised || !live.up) return '';
  return op.kind === 'restart' ? ` (restarts its running gateway, pid ${live.pid})` : ` (stops its running gateway, pid ${live.pid})`;
}

/**
 * The `--diff` preview: a line per operation, unified diffs of updated files, totals. Every piece
 * of text is escaped before it is painted, so the colour codes are the only controls that reach
 * a terminal.
 */
export async function diffReport(result: PassResult, colour: boolean, scandir: string): Promise<string> {
  const paint = (c: Colour, s: string): string => (colour ? painted(c, s) : s);
  const out: string[] = [];
  const hasUpdateText = result.plan.operations.some((op) => op.kind === 'update' && op.changes.some((c) => c.before !== undefined));
  const diff = hasUpdateText ? await import('diff') : undefined;
  for (const op of result.plan.operations) {
    // A refused adoption or removal is sure to fail: red, as what the run reports.
    const colour = isRefused(op) ? 'red' : KIND_COLOUR[op.kind];
    out.push(`${escapeLine(op.service)} ${paint(colour, op.kind)}: ${escapeLine(`${op.reason}${detailOf(op, result)}`)}`);
    if (op.kind !== 'update') continue;
    // What changes besides content (a unified diff shows that): modes, owners, what a file replaces.
    for (const c of [...op.dirs, ...op.changes]) if (c.detail !== undefined) out.push(escapeLine(`  ${c.path || '.'}: ${c.detail}`));
    if (diff === undefined) continue;
    for (const c of op.changes) {
      if (c.fix !== 'write' || c.before === undefined) continue;
      const patch = diff.createTwoFilesPatch(`a/${op.service}/${c.path}`, `b/${op.service}/${c.path}`, c.before, c.spec.content, '', '');
      out.push(
        ...patch
          .trimEnd()
          .split('\n')
          .map((l) => colourDiffLine(escapeLine(l), paint)),
      );
    }
  }
  for (const s of result.plan.restartPending) out.push(escapeLine(`${s} ${restartPendingNote(path.join(scandir, s))}`));
  const log = result.options.mode === 'boot' ? ` boot_log_lines=${result.bootLogLines}` : '';
  out.push(`reconcile: plan ${countFields(result, false)}${log}${driftFields(result)} (dry run: nothing changed)`);
  return `${out.join('\n')}\n`;
}

function colourDiffLine(line: string, paint: (c: 'green' | 'red' | 'cyan', s: string) => string): string {
  if (line.startsWith('+++') || line.startsWith('---')) return line;
  if (line.startsWith('+')) return paint('green', line);
  if (line.startsWith('-')) return paint('red', line);
  if (line.startsWith('@@')) return paint('cyan', line);
  return line;
}
