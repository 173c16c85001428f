import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeHermesHome, removeTree } from '../../helpers/tree.js';
import { parseDoc, makeWorld, profileLines, removeWorlds, runCli, type World, worldArgs } from '../../helpers/cli.js';

test.after.always('remove the temp worlds, failed tests included', removeWorlds);

const BIG = 1024 * 1024 + 10;

/** Each named profile's `state/gateway.lifecycle.json` (or its replacement) and the label it must give. */
const LEDGERS: readonly [string, (stateDir: string, outside: string) => Promise<void>, 'clean' | 'unclean' | 'unknown'][] = [
  ['p-none', async () => undefined, 'unknown'],
  ['p-exited', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '{"phase": "exited", "pid": 7, "exit_code": 0}'), 'clean'],
  ['p-running', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '{"phase": "running", "pid": 7, "start_time": 1}'), 'unclean'],
  ['p-bom', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '\uFEFF{"phase": "exited"}'), 'clean'],
  ['p-bom-running', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '\uFEFF{"phase":"running"}\n'), 'unclean'],
  ['p-other-phase', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '{"phase": "starting"}'), 'unknown'],
  ['p-phase-case', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '{"phase": "Exited"}'), 'unknown'],
  ['p-no-phase', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '{"pid": 7}'), 'unknown'],
  ['p-garbage', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '{ phase: exited'), 'unknown'],
  ['p-array', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), '["exited"]'), 'unknown'],
  ['p-empty', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), ''), 'unknown'],
  [
    'p-latin1',
    (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), Buffer.from('{"phase": "exited", "x": "\xe9"}', 'latin1')),
    'unknown',
  ],
  ['p-symlink', async (d, outside) => symlink(outside, path.join(d, 'gateway.lifecycle.json')), 'unknown'],
  [
    'p-fifo',
    async (d) => {
      execFileSync('mkfifo', [path.join(d, 'gateway.lifecycle.json')]);
    },
    'unknown',
  ],
  ['p-dir', (d) => mkdir(path.join(d, 'gateway.lifecycle.json')), 'unknown'],
  ['p-oversized', (d) => writeFile(path.join(d, 'gateway.lifecycle.json'), `{"phase": "exited"}${' '.repeat(BIG)}`), 'unknown'],
];

async function ledgerWorld(): Promise<World> {
  const w = await makeWorld('ledger', { create: 'none' });
  const profiles = Object.fromEntries(LEDGERS.map(([name]) => [name, { state: { desired_state: 'running' } }]));
  await makeHermesHome(w.home, { ...profiles, 'p-state-link': { state: { desired_state: 'running' } } }, { gateway_state: 'running' });
  const outside = path.join(w.root, 'outside-ledger.json');
  await writeFile(outside, '{"phase": "exited"}');
  for (const [name, make] of LEDGERS) {
    const stateDir = path.join(w.home, 'profiles', name, 'state');
    await mkdir(stateDir);
    await make(stateDir, outside);
  }
  // The whole state/ directory swapped for a symlink to a directory holding a valid ledger.
  await mkdir(path.join(w.root, 'outside-state'));
  await writeFile(path.join(w.root, 'outside-state', 'gateway.lifecycle.json'), '{"phase": "exited"}');
  await symlink(path.join(w.root, 'outside-state'), path.join(w.home, 'profiles', 'p-state-link', 'state'));
  // The root profile's own ledger lives in HERMES_HOME/state/.
  await mkdir(path.join(w.home, 'state'));
  await writeFile(path.join(w.home, 'state', 'gateway.lifecycle.json'), '{"phase": "running"}');
  return w;
}

const EXPECTED: ReadonlyMap<string, string> = new Map([
  ['default', 'unclean'],
  ...LEDGERS.map(([name, , label]) => [name, label] as [string, string]),
  ['p-state-link', 'unknown'],
]);

test('prior_exit comes from state/gateway.lifecycle.json in the stdout line, the boot log and the JSON (S57, S58)', async (t) => {
  const w = await ledgerWorld();
  const run = await runCli(['boot', ...worldArgs(w)]);
  t.is(run.code, 0, run.stderr);
  const lines = profileLines(run.stdout);
  t.is(lines.length, EXPECTED.size);
  const log = (await readFile(path.join(w.home, 'logs', 'container-boot.log'), 'utf8')).trimEnd().split('\n');
  t.is(log.length, EXPECTED.size);
  for (const [name, label] of EXPECTED) {
    t.true(
      lines.includes(`reconcile: profile=${name} prior_state=running action=started prior_exit=${label}`),
      `${name}: ${lines.join('\n')}`,
    );
    t.true(
      log.some((l) => l.endsWith(` profile=${name} prior_state=running action=started prior_exit=${label}`)),
      `${name} in the boot log`,
    );
  }
  const json = await runCli(['boot', ...worldArgs(w), '--output', 'json', '--diff']);
  const profiles = parseDoc(json)['profiles'] as { profile: string; priorExit: string; action: string }[];
  t.deepEqual(Object.fromEntries(profiles.map((p) => [p.profile, p.priorExit])), Object.fromEntries(EXPECTED));
  t.true(
    profiles.every((p) => p.action === 'started'),
    'the ledger never changes the decision',
  );
  t.is(await readFile(path.join(w.root, 'outside-ledger.json'), 'utf8'), '{"phase": "exited"}');
  await removeTree(w.root);
});
