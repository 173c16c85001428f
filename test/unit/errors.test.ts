/**
 * src/errors.ts: each class keeps a stable code (cli/ maps it to an exit code), its name, and the
 * original error as `cause`.
 */
import test from 'ava';
import { FatalError, LockHeldError, UsageError } from '../../src/errors.js';

const keeps = test.macro({
  exec(t, Make: new (message: string, options?: ErrorOptions) => Error & { code: string }, code: string, name: string) {
    const cause = new Error('EACCES: permission denied');
    const error = new Make('cannot read /opt/data', { cause });
    t.true(error instanceof Error);
    t.is(error.code, code);
    t.is(error.name, name);
    t.is(error.message, 'cannot read /opt/data');
    t.is(error.cause, cause);
    t.is(new Make('no cause').cause, undefined);
  },
  title: (_provided, _Make, code: string, name: string) => `${name} has code '${code}', its name and its cause`,
});

test(keeps, UsageError, 'usage', 'UsageError');
test(keeps, FatalError, 'fatal', 'FatalError');
test(keeps, LockHeldError, 'locked', 'LockHeldError');
