import test from 'ava';
import { type Validator, describeValidationErrors, loadValidator, loadValidators } from '../../../src/cli/validate.js';
import { DEFAULT_SETTINGS } from '../../../src/cli/config.js';

const KEYS = Object.keys(DEFAULT_SETTINGS);

test('every generated validator loads together, and the ones the CLI runs load alone and agree', async (t) => {
  const all = await loadValidators();
  for (const name of ['validatePlan', 'validateOwnership', 'validateRestarts', 'validateStatusReport'] as const) {
    t.is(typeof all[name], 'function', name);
  }
  for (const name of ['validateConfig', 'validateStatusFile'] as const) {
    const one = await loadValidator(name);
    t.is(String(one({})), String(all[name]?.({})), name);
  }
});

test('a valid config passes, and its validator keeps no errors', async (t) => {
  const v = await loadValidator('validateConfig');
  t.true(v({ user: 'hermes', uid: 1000 }));
  t.falsy(v.errors);
});

test('an unknown config key is named, with the key meant when it is a typo', async (t) => {
  const v = await loadValidator('validateConfig');
  t.false(v({ usr: 'hermes' }));
  t.is(describeValidationErrors(v, KEYS), 'unknown key "usr" (did you mean "user"?)');
});

test('an unknown key that resembles nothing lists the known keys', async (t) => {
  const v = await loadValidator('validateConfig');
  t.false(v({ frobnicate: true }));
  t.is(describeValidationErrors(v, KEYS), `unknown key "frobnicate"; known keys: ${KEYS.join(', ')}`);
});

test('an enum mistake lists the allowed values, and a type mistake names the path', async (t) => {
  const v = await loadValidator('validateConfig');
  t.false(v({ superviseOwner: 'nobody' }));
  t.is(describeValidationErrors(v, KEYS), '/superviseOwner: must be one of "user", "root"');
  t.false(v({ uid: 'ten' }));
  t.regex(describeValidationErrors(v, KEYS), /^\/uid: must be /);
});

test('errors are joined on one line, and a validator without errors describes nothing', (t) => {
  const v: Validator = Object.assign(() => false, {
    errors: [
      { instancePath: '/a', message: 'must be string' },
      { instancePath: '', keyword: 'required' },
    ],
  });
  t.is(describeValidationErrors(v), '/a: must be string; invalid');
  const none: Validator = Object.assign(() => true, { errors: null });
  t.is(describeValidationErrors(none), '');
});
