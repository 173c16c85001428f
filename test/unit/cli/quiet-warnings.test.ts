/**
 * quietRepeats: what a long-running watcher logs at warn level — a warning when it is new, again
 * once per interval while it persists, and again when it went away in a full pass and came back.
 */
import test from 'ava';
import { quietRepeats } from '../../../src/cli/quiet-warnings.js';
import { recordingLogger } from './support.js';

const INTERVAL = 60_000;

function setup() {
  let clock = 1_000_000;
  const { logger, records } = recordingLogger();
  const quiet = quietRepeats(logger, INTERVAL, () => clock);
  const levels = (message: string): string[] => records.filter((r) => r.message === message).map((r) => r.level);
  return { quiet, records, levels, advance: (ms: number) => (clock += ms) };
}

test('a new warning is logged; its repeat within the interval goes to debug', (t) => {
  const { quiet, levels } = setup();
  quiet.logger.warn('config.yaml unreadable');
  quiet.endPass(true);
  quiet.logger.warn('config.yaml unreadable', { profile: 'a' });
  quiet.endPass(false);
  t.deepEqual(levels('config.yaml unreadable'), ['warn', 'debug']);
});

test('a warning still there after the interval is logged again, once', (t) => {
  const { quiet, levels, advance } = setup();
  quiet.logger.warn('w');
  advance(INTERVAL - 1);
  quiet.logger.warn('w');
  advance(1);
  quiet.logger.warn('w');
  quiet.logger.warn('w');
  t.deepEqual(levels('w'), ['warn', 'debug', 'warn', 'debug']);
});

test('a warning repeated in every pass, full or targeted, is logged once per interval', (t) => {
  const { quiet, levels, advance } = setup();
  for (let pass = 0; pass < 10; pass += 1) {
    quiet.logger.warn('disk full');
    quiet.endPass(pass % 2 === 0);
    advance(5_000);
  }
  t.deepEqual(
    levels('disk full').filter((l) => l === 'warn'),
    ['warn'],
    'ten passes in 50 s: one line',
  );
  advance(INTERVAL - 50_000);
  quiet.logger.warn('disk full');
  t.deepEqual(
    levels('disk full').filter((l) => l === 'warn'),
    ['warn', 'warn'],
    'again once the interval has passed',
  );
});

test('a warning that a full pass no longer reported is news when it comes back; a changed one is news at once', (t) => {
  const { quiet, levels } = setup();
  quiet.logger.warn('gone and back');
  quiet.endPass(true);
  quiet.endPass(true); // a full pass without it
  quiet.logger.warn('gone and back');
  t.deepEqual(levels('gone and back'), ['warn', 'warn']);
  quiet.logger.warn('gone and back, differently');
  t.deepEqual(levels('gone and back, differently'), ['warn']);
});

test('a targeted pass that did not report it does not make it news', (t) => {
  const { quiet, levels } = setup();
  quiet.logger.warn('steady');
  quiet.endPass(true);
  quiet.endPass(false); // targeted: did not read what the warning is about
  quiet.logger.warn('steady');
  t.deepEqual(levels('steady'), ['warn', 'debug']);
});

test('log("warn") and errors are quieted like warn(); other levels pass straight through', (t) => {
  const { quiet, records } = setup();
  quiet.logger.log('warn', 'x');
  quiet.logger.log('warn', 'x');
  quiet.logger.error('e');
  quiet.logger.error('e');
  quiet.logger.log('error', 'e');
  quiet.logger.warn('e'); // the same text at another level is another record
  quiet.logger.info('i');
  quiet.logger.log('debug', 'd');
  t.deepEqual(
    records.map((r) => `${r.level}:${r.message}`),
    ['warn:x', 'debug:x', 'error:e', 'debug:e', 'debug:e', 'warn:e', 'info:i', 'debug:d'],
  );
});

test('different warnings are tracked separately', (t) => {
  const { quiet, records } = setup();
  for (const m of ['a', 'b', 'a', 'b']) quiet.logger.warn(m);
  t.deepEqual(
    records.map((r) => `${r.level}:${r.message}`),
    ['warn:a', 'warn:b', 'debug:a', 'debug:b'],
  );
});

test('the same text about another service is no repeat: each service’s failure is logged', (t) => {
  const { quiet, records } = setup();
  quiet.logger.error('remove failed: not removed', { service: 'gateway-a', kind: 'remove' });
  quiet.logger.error('remove failed: not removed', { service: 'gateway-b', kind: 'remove' });
  quiet.logger.error('remove failed: not removed', { service: 'gateway-a', kind: 'remove' });
  t.deepEqual(
    records.map((r) => `${r.level}:${String(r.fields?.['service'])}`),
    ['error:gateway-a', 'error:gateway-b', 'debug:gateway-a'],
  );
});
