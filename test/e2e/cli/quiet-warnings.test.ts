/**
 * quietRepeats: what a long-running watcher logs at warn level — a warning when it is new, again
 * once per interval while it persists, and again when it went away in a full pass and came back.
 */
import test from 'ava';
import type { Logger } from '../../../src/cli/logger.js';
import { quietRepeats } from '../../../src/cli/quiet-warnings.js';

function recorder(): { logger: Logger; warned: string[] } {
  const warned: string[] = [];
  const none = (): void => undefined;
  const logger: Logger = {
    log: (l, m) => (l === 'warn' ? warned.push(m) : undefined),
    error: none,
    warn: (m) => warned.push(m),
    info: none,
    debug: none,
  };
  return { logger, warned };
}

test('a warning repeated in every pass is logged once per interval', (t) => {
  const { logger, warned } = recorder();
  let now = 0;
  const q = quietRepeats(logger, 60_000, () => now);
  for (let pass = 0; pass < 10; pass += 1) {
    q.logger.warn('disk full');
    q.endPass(pass % 2 === 0);
    now += 5_000;
  }
  t.deepEqual(warned, ['disk full'], 'ten passes in 50 s: one line');
  now = 60_000;
  q.logger.warn('disk full');
  t.deepEqual(warned, ['disk full', 'disk full'], 'again once the interval has passed');
});

test('a targeted pass that does not see a warning does not make the next full pass repeat it', (t) => {
  const { logger, warned } = recorder();
  const q = quietRepeats(logger, 60_000, () => 0);
  q.logger.warn('bad name');
  q.endPass(true);
  q.endPass(false);
  q.logger.warn('bad name');
  q.endPass(true);
  t.deepEqual(warned, ['bad name']);
});

test('a warning a full pass no longer reports is news when it returns; a changed one is logged at once', (t) => {
  const { logger, warned } = recorder();
  const q = quietRepeats(logger, 60_000, () => 0);
  q.logger.warn('bad name');
  q.endPass(true);
  q.endPass(true);
  q.logger.log('warn', 'bad name');
  q.logger.warn('bad name, differently');
  t.deepEqual(warned, ['bad name', 'bad name', 'bad name, differently']);
});
