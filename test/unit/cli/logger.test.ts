/**
 * The logger writes to this process's stderr through winston, so each case runs it in a child
 * node and reads what reached stderr (and that nothing reached stdout, which carries results).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { createLogger } from '../../../src/cli/logger.js';

const LOGGER = fileURLToPath(new URL('../../../src/cli/logger.js', import.meta.url));

/** Runs `body` (with `createLogger` in scope) in a child node; returns [stdout, stderr]. */
function run(body: string): [string, string] {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER)};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child failed (${String(r.status)}): ${r.stderr}`);
  return [r.stdout, r.stderr];
}

test('text records are one line each on stderr, prefixed, with key=value fields', (t) => {
  const [stdout, stderr] = run(
    `const l = createLogger('info', 'text'); l.warn('slot refused', { service: 'gateway-a', count: 2 }); l.error('boom');`,
  );
  t.is(stdout, '');
  t.is(stderr, 'reconcile-gateways: warn: slot refused [service=gateway-a count=2]\nreconcile-gateways: error: boom\n');
});

test('a newline or escape sequence in a message or field cannot forge a record', (t) => {
  const [, stderr] = run(
    `createLogger('info', 'text').warn('bad name a\\nreconcile-gateways: error: forged', { profile: 'x\\u001b[31mred\\rz' });`,
  );
  t.is(stderr, 'reconcile-gateways: warn: bad name a\\nreconcile-gateways: error: forged [profile=x\\x1b[31mred\\rz]\n');
});

test('a field value with a space, a quote or `=` is quoted, so it cannot pose as more fields', (t) => {
  const [, stderr] = run(`createLogger('info', 'text').warn('unreadable state', { profile: 'x action=started "y"' });`);
  t.is(stderr, 'reconcile-gateways: warn: unreadable state [profile="x action=started \\"y\\""]\n');
});

test('the level keeps what is at least as severe: error shows errors only, warn adds warnings', (t) => {
  const [, stderr] = run(`const l = createLogger('error', 'text'); l.debug('d'); l.info('i'); l.warn('w'); l.error('e');`);
  t.is(stderr, 'reconcile-gateways: error: e\n');
  const [, warned] = run(`const l = createLogger('warn', 'text'); l.debug('d'); l.info('i'); l.warn('w'); l.error('e');`);
  t.is(warned, 'reconcile-gateways: warn: w\nreconcile-gateways: error: e\n');
  const [, all] = run(`const l = createLogger('debug', 'text'); l.debug('d'); l.log('info', 'i');`);
  t.is(all, 'reconcile-gateways: debug: d\nreconcile-gateways: info: i\n');
});

test('JSON records are one object per line with level, message, fields and a timestamp', (t) => {
  const [, stderr] = run(`createLogger('info', 'json').info('pass done\\nsecond', { service: 'gateway-a', gone: undefined });`);
  const lines = stderr.trimEnd().split('\n');
  t.is(lines.length, 1);
  const rec = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
  t.is(rec['level'], 'info');
  t.is(rec['message'], 'pass done\\nsecond', 'escaped as in text: a viewer of the decoded message sees the same');
  t.is(rec['service'], 'gateway-a');
  t.false('gone' in rec);
  t.false(Number.isNaN(Date.parse(String(rec['timestamp']))));
});

test('JSON records escape bidi controls, U+2028 and invisible characters, which JSON itself leaves raw', (t) => {
  const [, stderr] = run(`createLogger('info', 'json').warn('profile bidi\\u202eevil ls\\u2028x', { profile: 'zw\\u200bsp' });`);
  t.false(/[\u202e\u2028\u200b]/u.test(stderr), stderr);
  const rec = JSON.parse(stderr.trimEnd()) as Record<string, unknown>;
  t.is(rec['message'], 'profile bidi\\u202eevil ls\\u2028x');
  t.is(rec['profile'], 'zw\\u200bsp');
});

test('a logger that records nothing writes nothing', (t) => {
  const [stdout, stderr] = run(`const l = createLogger('warn', 'text'); l.info('quiet'); l.debug('quieter');`);
  t.is(stdout + stderr, '');
  // In this process too: creating one has no side effect until a record passes the level.
  t.notThrows(() => createLogger('error', 'json').debug('never printed'));
});
