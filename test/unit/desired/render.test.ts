/**
 * Exact rendered bytes (reference §0.1): with default settings every file is byte-identical to
 * upstream's, so slots written by the Hermes CLI and by this tool coexist without churn.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { Settings } from '../../../src/model.js';
import { OWNERSHIP_FILE, renderFinish, renderLogRun, renderRun, renderSlotFiles } from '../../../src/desired/render.js';
import { SETTINGS } from '../../helpers/observed.js';
import { FINISH, LOG_RUN_CODER, LOG_RUN_DEFAULT, RUN_CODER, RUN_DEFAULT } from '../../helpers/reference.js';

const bytesEqual = test.macro({
  exec(t: ExecutionContext, actual: string, expected: string) {
    t.deepEqual(Buffer.from(actual, 'utf8'), Buffer.from(expected, 'utf8'));
  },
  title: (title = '') => `renders ${title} byte-for-byte as upstream`,
});

test('run for coder', bytesEqual, renderRun('coder', SETTINGS), RUN_CODER);
test('run for default (no -p flag, S07)', bytesEqual, renderRun('default', SETTINGS), RUN_DEFAULT);
test('finish', bytesEqual, renderFinish(SETTINGS), FINISH);
test('log/run for coder', bytesEqual, renderLogRun('coder', SETTINGS), LOG_RUN_CODER);
test('log/run for default', bytesEqual, renderLogRun('default', SETTINGS), LOG_RUN_DEFAULT);

test('the finish script holds the em dash as UTF-8 bytes E2 80 94', (t) => {
  t.true(Buffer.from(renderFinish(SETTINGS), 'utf8').includes(Buffer.from([0xe2, 0x80, 0x94])));
});

test('the slot files come with explicit modes and type is longrun', (t) => {
  const files = renderSlotFiles('gateway-coder', 'coder', SETTINGS);
  t.deepEqual(
    files.map((f) => [f.path, f.mode.toString(8)]),
    [
      ['type', '644'],
      ['run', '755'],
      ['finish', '755'],
      ['log/run', '755'],
      [OWNERSHIP_FILE, '644'],
    ],
  );
  t.is(files[0]?.content, 'longrun\n');
  t.deepEqual(
    files.slice(1, 4).map((f) => f.content),
    [RUN_CODER, FINISH, LOG_RUN_CODER],
  );
});

test('the ownership record names this tool and the service, deterministically', (t) => {
  const one = renderSlotFiles('gateway-coder', 'coder', SETTINGS).find((f) => f.path === OWNERSHIP_FILE);
  const two = renderSlotFiles('gateway-coder', 'coder', SETTINGS).find((f) => f.path === OWNERSHIP_FILE);
  t.is(one?.content, two?.content);
  t.like(JSON.parse(one?.content ?? '{}'), { managedBy: 'reconcile-gateways', service: 'gateway-coder', profile: 'coder' });
});

test('the configurable parts follow the settings and nothing else changes', (t) => {
  const custom: Settings = { ...SETTINGS, shebang: '#!/bin/sh', user: 'nobody', home: '/srv/h', gatewayCommand: '/opt/fake/gw' };
  const swap = (text: string): string =>
    text
      .replace('#!/command/with-contenv sh', '#!/bin/sh')
      .replaceAll('s6-setuidgid hermes', 's6-setuidgid nobody')
      .replaceAll('/opt/data', '/srv/h')
      .replaceAll('exec hermes ', 'exec /opt/fake/gw ')
      .replaceAll('nobody hermes ', 'nobody /opt/fake/gw ');
  t.is(renderRun('coder', custom), swap(RUN_CODER));
  t.is(renderRun('default', custom), swap(RUN_DEFAULT));
  t.is(renderFinish(custom), swap(FINISH));
  t.is(renderLogRun('coder', custom), swap(LOG_RUN_CODER));
});
