import test from 'ava';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeHermesHome, removeTree } from '../helpers/tree.js';
import { makeWorld, profileLines, removeWorlds, runCli, worldArgs } from './cli.js';

test.after.always('remove the temp worlds, failed tests included', removeWorlds);

test('a non-string desired_state is still an explicit intent: no fallback to a running gateway_state (§1.4 rule 4)', async (t) => {
  const w = await makeWorld('intent');
  await makeHermesHome(w.home, {
    boolean: { state: { desired_state: false, gateway_state: 'running' } },
    number: { state: { desired_state: 1, gateway_state: 'running' } },
    object: { state: { desired_state: { want: 'running' }, gateway_state: 'running' } },
    nulled: { state: { desired_state: null, gateway_state: 'running' } },
  });
  const run = await runCli(['boot', ...worldArgs(w)]);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(profileLines(run.stdout).slice(1), [
    'reconcile: profile=boolean prior_state=false action=registered prior_exit=unknown',
    'reconcile: profile=nulled prior_state=running action=started prior_exit=unknown',
    'reconcile: profile=number prior_state=1 action=registered prior_exit=unknown',
    'reconcile: profile=object prior_state={"want":"running"} action=registered prior_exit=unknown',
  ]);
  for (const p of ['boolean', 'number', 'object']) t.true(existsSync(path.join(w.scandir, `gateway-${p}`, 'down')), p);
  t.false(existsSync(path.join(w.scandir, 'gateway-nulled', 'down')), 'null is absent (S17)');
  await removeTree(w.root);
});
