/**
 * Running `watch` in tests: start it on a world, read its status file, wait for its readiness newline
 * and its exit. Every watcher started here is killed by {@link killWatchers}.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { waitFor } from './s6.js';
import { type CliOptions, startCli } from './cli.js';

/** A running watcher. */
export interface Watcher {
  readonly child: ChildProcess;
  readonly statusFile: string;
  stdout: string;
  stderr: string;
  /** The exit code (or signal name) once it exited. */
  readonly exited: Promise<number | string>;
}

/** What a watcher runs on: a root for its status file and the flags naming the trees. */
export interface WatchTarget {
  readonly root: string;
  readonly flags: readonly string[];
}

const started: Watcher[] = [];

/** Starts `watch --interval 300 --status-file <root>/run/status.json --ready-fd 3` plus `extra`, without a deadline. */
export function startWatch(target: WatchTarget, extra: readonly string[] = [], opts: CliOptions = {}): Watcher {
  const statusFile = path.join(target.root, 'run', 'status.json');
  const args = ['watch', ...target.flags, '--interval', '300', '--status-file', statusFile, '--ready-fd', '3', ...extra];
  const { child } = startCli(args, { timeoutMs: Number.POSITIVE_INFINITY, ...opts, fd3: true });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const w: Watcher = { child, statusFile, stdout: '', stderr: '', exited };
  child.stdout?.on('data', (b: Buffer) => (w.stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (w.stderr += b.toString()));
  started.push(w);
  return w;
}

/** Resolves once the watcher wrote its readiness newline on fd 3 (or closed it). */
export function readiness(w: Watcher): Promise<string> {
  const fd3 = w.child.stdio[3] as Readable | null | undefined;
  if (fd3 === null || fd3 === undefined) throw new Error('fd 3 is not a pipe');
  return new Promise((resolve, reject) => {
    let got = '';
    fd3.on('data', (b: Buffer) => {
      got += b.toString();
      if (got.includes('\n')) resolve(got);
    });
    fd3.on('end', () => resolve(got));
    fd3.on('error', reject);
  });
}

/** The parsed status file, or undefined while it does not exist. */
export function readStatus(w: Watcher): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(w.statusFile, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A service's entry in the status file. */
export interface ServiceEntry {
  service: string;
  condition: string;
  consecutiveFailures: number;
  nextAttemptAt?: string;
  reason?: string;
}

/** Polls the status file until `predicate` holds; returns it. */
export async function waitStatus(
  w: Watcher,
  predicate: (doc: Record<string, unknown>) => boolean,
  what: string,
): Promise<Record<string, unknown>> {
  let doc: Record<string, unknown> | undefined;
  await waitFor(
    () => {
      doc = readStatus(w);
      return doc !== undefined && predicate(doc);
    },
    30_000,
    `${what} (stderr: ${w.stderr.slice(-400)})`,
  );
  if (doc === undefined) throw new Error('unreachable');
  return doc;
}

/** The entry of `service` in a status document. */
export function serviceIn(doc: Record<string, unknown>, service: string): ServiceEntry | undefined {
  return (doc['services'] as ServiceEntry[]).find((s) => s.service === service);
}

/** SIGKILLs every watcher still running (in `test.after.always`). */
export async function killWatchers(): Promise<void> {
  for (const w of started.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.exited;
  }
}

/** A loopback port nobody listens on right now (for `--metrics-listen`). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
