/**
 * src/watch/alarm.ts: the controller's interruptible sleep. Timers are Node's mock timers, so
 * "not yet" and "now" are exact, not timing guesses.
 */
import { mock } from 'node:test';
import test from 'ava';
import { Alarm } from '../../../src/watch/alarm.js';

test.beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
test.afterEach.always(() => mock.timers.reset());

/** Lets resolved promises run their callbacks. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Starts a sleep and reports whether it has ended. */
function sleeping(alarm: Alarm, ms: number): () => boolean {
  let done = false;
  void alarm.sleep(ms).then(() => {
    done = true;
  });
  return () => done;
}

test.serial('a sleep ends when its time is up, not before', async (t) => {
  const ended = sleeping(new Alarm(), 1_000);
  mock.timers.tick(999);
  await settle();
  t.false(ended());
  mock.timers.tick(1);
  await settle();
  t.true(ended());
});

test.serial('ring wakes the sleeper at once', async (t) => {
  const alarm = new Alarm();
  const ended = sleeping(alarm, 60_000);
  await settle();
  t.false(ended());
  alarm.ring();
  await settle();
  t.true(ended());
});

test.serial('a ring with nobody asleep makes the next sleep return at once, only once', async (t) => {
  const alarm = new Alarm();
  alarm.ring();
  const first = sleeping(alarm, 60_000);
  await settle();
  t.true(first(), 'the pending ring was consumed');
  const second = sleeping(alarm, 60_000);
  await settle();
  t.false(second(), 'no ring left for the next sleep');
  alarm.ring();
  await settle();
});

test.serial('sleeps longer than a 32-bit timer still wait (capped, not overflowed to 1 ms)', async (t) => {
  const ended = sleeping(new Alarm(), 2 ** 40);
  mock.timers.tick(1_000);
  await settle();
  t.false(ended());
  mock.timers.tick(2 ** 31);
  await settle();
  t.true(ended());
});
