// Writer load for the watch scenario: every gateway rewrites its gateway_state.json once a
// second (same desired_state, new updated_at), atomically via tmp + rename, the way a live
// gateway heartbeats. Writes are spread evenly over the second (10 ms ticks), not bursted.
//
//   node dist/bench/writer.js HERMES_HOME [RATE_HZ]   (forked by the watch scenario)
//
// Only profiles whose state file is valid JSON are rewritten (a live gateway writes valid
// files; missing/corrupt ones belong to gateways that are not running).
// When run with an IPC channel (child_process.fork) it accepts:
//   { type: 'set', name, desired }  -> use `desired` from now on for that profile; replies
//                                      { type: 'ack', name } once no write with the old value
//                                      can still happen (writes are synchronous, so any write
//                                      that started before the message has finished)
//   { type: 'stats' }               -> replies { type: 'stats', writes, seconds, maxLagMs }
//   { type: 'stop' }                -> exits
// and sends { type: 'ready', files } after loading.

import fs from 'node:fs';
import path from 'node:path';

const [home, rateText] = process.argv.slice(2);
if (!home) {
  console.error('usage: node dist/bench/writer.js HERMES_HOME [RATE_HZ]');
  process.exit(2);
}
const rate = Number(rateText ?? 1);

/** One state file the writer rewrites. */
interface Entry {
  readonly name: string;
  readonly file: string;
  readonly tmp: string;
  readonly obj: Record<string, unknown>;
}

/** Messages from the bench (fork IPC). */
type Message = { type: 'set'; name: string; desired: string } | { type: 'stats' } | { type: 'stop' };

const entries: Entry[] = [];
const byName = new Map<string, Entry>();
const pdir = path.join(home, 'profiles');
for (const name of fs.readdirSync(pdir).sort()) {
  const file = path.join(pdir, name, 'gateway_state.json');
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    continue;
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) continue;
  const e: Entry = { name, file, tmp: path.join(pdir, name, '.gateway_state.json.tmp'), obj: obj as Record<string, unknown> };
  entries.push(e);
  byName.set(name, e);
}

const TICK_MS = 10;
const perTick = (entries.length * rate * TICK_MS) / 1000; // fractional: carried over between ticks
let carry = 0;
let cursor = 0;
let writes = 0;
let maxLagMs = 0;
const t0 = performance.now();
let tick = 0;

function writeOne(e: Entry): void {
  e.obj.updated_at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  fs.writeFileSync(e.tmp, JSON.stringify(e.obj) + '\n');
  fs.renameSync(e.tmp, e.file);
  writes++;
}

function step(): void {
  tick++;
  carry += perTick;
  while (carry >= 1 && entries.length) {
    const e = entries[cursor];
    if (e !== undefined) writeOne(e);
    cursor = (cursor + 1) % entries.length;
    carry -= 1;
  }
  const due = t0 + tick * TICK_MS;
  const now = performance.now();
  maxLagMs = Math.max(maxLagMs, now - due);
  setTimeout(step, Math.max(0, due + TICK_MS - now));
}

/** Replies over IPC (a no-op when not forked). */
function reply(message: Record<string, unknown>): void {
  process.send?.(message);
}

process.on('message', (m: Message | undefined) => {
  if (m?.type === 'set') {
    const e = byName.get(m.name);
    if (e) e.obj.desired_state = m.desired;
    reply({ type: 'ack', name: m.name, known: Boolean(e) });
  } else if (m?.type === 'stats') {
    reply({ type: 'stats', writes, seconds: (performance.now() - t0) / 1000, maxLagMs, files: entries.length });
  } else if (m?.type === 'stop') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

if (process.send) reply({ type: 'ready', files: entries.length });
else console.error(`writer: ${entries.length} files, ${rate}/s each`);
setTimeout(step, TICK_MS);
