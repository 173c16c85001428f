/**
 * Result formats: the JSON plan document (schemas/plan.schema.json), upstream-compatible text
 * lines, and the `--diff` preview with unified diffs. stdout carries results only.
 */
import { styleText } from 'node:util';
import type { Operation, OperationResult, ProfileDecision } from '../model.js';
import type { PassResult } from '../reconcile.js';
import { escapeLine } from '../escape.js';

/** Context printed with every plan. */
export interface DocumentContext {
  readonly mode: 'boot' | 'sync';
  readonly dryRun: boolean;
  readonly hermesHome: string;
  readonly scandir: string;
  readonly role: 'gateway' | 'none';
  readonly multiplex: boolean;
  readonly exitCode: 0 | 1 | 2;
  readonly warnings: readonly string[];
}

/** Operation counts per kind plus failures. */
export function summarize(result: PassResult): Record<'create' | 'update' | 'up' | 'down' | 'remove' | 'failed' | 'restartPending', number> {
  const count = (k: Operation['kind']): number => result.plan.operations.filter((o) => o.kind === k).length;
  return {
    create: count('create'),
    update: count('update'),
    up: count('up'),
    down: count('down'),
    remove: count('remove'),
    failed: result.results.filter((r) => r.status === 'failed').length + result.homeWriteResults.filter((w) => w.error !== undefined).length,
    restartPending: result.plan.restartPending.length,
  };
}

/** Files an operation writes, for the JSON plan. */
function filesOf(op: Operation): string[] | undefined {
  if (op.kind === 'create') return [...op.spec.files.map((f) => f.path), ...(op.spec.autostart ? [] : ['down'])].sort();
  if (op.kind === 'update') return [...op.dirs.map((d) => (d.path === '' ? '.' : d.path)), ...op.changes.map((c) => c.path)];
  return undefined;
}

/** The `--output json` document. */
export function planDocument(result: PassResult, ctx: DocumentContext): Record<string, unknown> {
  const byOp = new Map<Operation, OperationResult>(result.results.map((r) => [r.op, r]));
  return {
    formatVersion: '1',
    mode: ctx.mode,
    dryRun: ctx.dryRun,
    hermesHome: ctx.hermesHome,
    scandir: ctx.scandir,
    role: ctx.role,
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
        ...(files === undefined ? {} : { files }),
        ...(op.kind === 'update' && op.restart ? { restart: true } : {}),
        ...(r === undefined ? {} : { status: r.status }),
        ...(r?.error === undefined ? {} : { error: r.error }),
      };
    }),
    homeWrites: homeWrites(result, ctx.dryRun),
    restartPending: [...result.plan.restartPending],
    foldedProfiles: [...result.desired.foldedProfiles],
    ...(result.desired.pruneBlocked === undefined ? {} : { pruneBlocked: result.desired.pruneBlocked }),
    warnings: [...ctx.warnings],
    summary: summarize(result),
    exitCode: ctx.exitCode,
  };
}

function homeWrites(result: PassResult, dryRun: boolean): Record<string, unknown>[] {
  if (dryRun || result.homeWriteResults.length === 0) {
    return result.plannedHomeWrites.map((w) => ({ kind: w.kind, path: w.path, reason: w.reason }));
  }
  return result.homeWriteResults.map(({ write, error }) => ({
    kind: write.kind,
    path: write.path,
    reason: write.reason,
    status: error === undefined ? 'applied' : 'failed',
    ...(error === undefined ? {} : { error }),
  }));
}

function profileEntry(d: ProfileDecision): Record<string, unknown> {
  return {
    profile: d.profile,
    service: d.service,
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
  const prior = d.priorState === null ? 'None' : d.priorState;
  const reason = d.reason === undefined ? '' : ` reason=${JSON.stringify(d.reason)}`;
  return escapeLine(`reconcile: profile=${d.profile} prior_state=${prior} action=${d.action} prior_exit=${d.priorExit}${reason}`);
}

/** Text output of a real (non-diff) pass. */
export function textReport(result: PassResult, exitCode: number): string {
  const lines = result.desired.decisions.map(profileLine);
  const s = summarize(result);
  lines.push(
    `reconcile: summary profiles=${result.desired.decisions.length} create=${s.create} update=${s.update} up=${s.up} ` +
      `down=${s.down} remove=${s.remove}${heals(result)} failed=${s.failed} restart_pending=${s.restartPending} exit=${exitCode}`,
  );
  return `${lines.join('\n')}\n`;
}

/** ` heal=N` when the pass healed (only `--heal` plans heals: other summaries keep their shape). */
function heals(result: PassResult): string {
  const n = result.plan.operations.filter((op) => op.kind === 'heal').length;
  return n === 0 ? '' : ` heal=${n}`;
}

/** Whether to colour: only on a TTY, never with NO_COLOR. */
export function useColour(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  return isTTY && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '');
}

const KIND_COLOUR = { create: 'green', update: 'yellow', up: 'cyan', down: 'magenta', remove: 'red', heal: 'blue' } as const;

/** The `--diff` preview: a line per operation, unified diffs of updated files, totals. */
export async function diffReport(result: PassResult, colour: boolean): Promise<string> {
  const paint = (c: Parameters<typeof styleText>[0], s: string): string => (colour ? styleText(c, s) : s);
  const out: string[] = [];
  const hasUpdateText = result.plan.operations.some((op) => op.kind === 'update' && op.changes.some((c) => c.before !== undefined));
  const diff = hasUpdateText ? await import('diff') : undefined;
  for (const op of result.plan.operations) {
    out.push(escapeLine(`${op.service} ${paint(KIND_COLOUR[op.kind], op.kind)}: ${op.reason}`));
    if (op.kind !== 'update' || diff === undefined) continue;
    for (const c of op.changes) {
      if (c.fix !== 'write' || c.before === undefined) continue;
      const patch = diff.createTwoFilesPatch(`a/${op.service}/${c.path}`, `b/${op.service}/${c.path}`, c.before, c.spec.content, '', '');
      out.push(...patch.trimEnd().split('\n').map((l) => colourDiffLine(escapeLine(l), paint)));
    }
  }
  for (const w of result.plannedHomeWrites) out.push(escapeLine(`${w.path} ${paint('yellow', 'write')}: ${w.reason}`));
  for (const s of result.plan.restartPending) out.push(escapeLine(`${s} restart pending: run-time files changed while it runs`));
  const s = summarize(result);
  out.push(
    `reconcile: plan create=${s.create} update=${s.update} up=${s.up} down=${s.down} remove=${s.remove}${heals(result)} ` +
      `restart_pending=${s.restartPending} home_writes=${result.plannedHomeWrites.length} (dry run: nothing changed)`,
  );
  return `${out.join('\n')}\n`;
}

function colourDiffLine(line: string, paint: (c: 'green' | 'red' | 'cyan', s: string) => string): string {
  if (line.startsWith('+++') || line.startsWith('---')) return line;
  if (line.startsWith('+')) return paint('green', line);
  if (line.startsWith('-')) return paint('red', line);
  if (line.startsWith('@@')) return paint('cyan', line);
  return line;
}
