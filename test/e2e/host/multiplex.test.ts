import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { makeHermesHome, removeTree } from '../../helpers/tree.js';
import { type CliResult, parseDoc, makeWorld, profileLines, removeWorlds, runCli, type World, worldArgs } from '../../helpers/cli.js';

test.after.always('remove the temp worlds, failed tests included', removeWorlds);

interface Profile {
  profile: string;
  action: string;
  autostart: boolean;
  priorState: string | null;
  foldedIntoRoot?: boolean;
}

/** A home with the root `rootState` (none when undefined) and a running named profile `coder`. */
async function coderWorld(
  prefix: string,
  opts: { rootState?: object; policy?: 'gate' | 'fold'; configYaml?: string } = {},
): Promise<World> {
  const w = await makeWorld(prefix, { create: 'none', settings: opts.policy === undefined ? {} : { multiplexPolicy: opts.policy } });
  await makeHermesHome(w.home, { coder: { state: { gateway_state: 'running' } } }, opts.rootState);
  if (opts.configYaml !== undefined) await writeFile(path.join(w.home, 'config.yaml'), opts.configYaml);
  return w;
}

async function bootJson(
  w: World,
  env: Record<string, string> = {},
  extra: string[] = [],
): Promise<{ run: CliResult; doc: Record<string, unknown>; profiles: Profile[] }> {
  const run = await runCli(['boot', ...worldArgs(w), '--output', 'json', ...extra], { env });
  const doc = parseDoc(run);
  const { validatePlan } = await loadValidators();
  if (!validatePlan(doc)) throw new Error(`plan document does not match the schema: ${JSON.stringify(validatePlan.errors)}`);
  return { run, doc, profiles: doc['profiles'] as Profile[] };
}

function actionOf(profiles: readonly Profile[], name: string): string | undefined {
  return profiles.find((p) => p.profile === name)?.action;
}

function isDown(w: World, profile: string): boolean {
  return existsSync(path.join(w.scandir, `gateway-${profile}`, 'down'));
}

for (const value of ['1', 'true', 'TRUE', 'True', 'yes', 'YES', 'on', 'On']) {
  test(`GATEWAY_MULTIPLEX_PROFILES=${value} registers a running named profile down (S50)`, async (t) => {
    const w = await coderWorld('envon', { rootState: { gateway_state: 'running' } });
    const { run, doc, profiles } = await bootJson(w, { GATEWAY_MULTIPLEX_PROFILES: value });
    t.is(run.code, 0, run.stderr);
    t.true(doc['multiplex']);
    t.is(actionOf(profiles, 'coder'), 'registered');
    t.true(isDown(w, 'coder'));
    t.is(actionOf(profiles, 'default'), 'started', 'the root follows its own intent');
    t.false(isDown(w, 'default'));
    await removeTree(w.root);
  });
}

for (const value of ['0', 'false', 'no', 'off', 'OFF', '2', 'enabled', 'y']) {
  test(`GATEWAY_MULTIPLEX_PROFILES=${value} is an explicit false that beats config.yaml (S52)`, async (t) => {
    const w = await coderWorld('envoff', { configYaml: 'multiplex_profiles: true\n' });
    const { run, doc, profiles } = await bootJson(w, { GATEWAY_MULTIPLEX_PROFILES: value });
    t.is(run.code, 0, run.stderr);
    t.false(doc['multiplex']);
    t.is(actionOf(profiles, 'coder'), 'started');
    t.false(isDown(w, 'coder'));
    await removeTree(w.root);
  });
}

const CONFIG_ON = [
  ['top level', 'multiplex_profiles: true\n'],
  ['under gateway:', 'model: x\ngateway:\n  port: 8642\n  multiplex_profiles: true\n'],
  ['as YAML 1.1 yes', 'multiplex_profiles: yes\n'],
  ['as a quoted "on"', 'gateway:\n  multiplex_profiles: "on"\n'],
  ['with a BOM', '\uFEFFmultiplex_profiles: true\n'],
] as const;

for (const [what, yaml] of CONFIG_ON) {
  test(`config.yaml multiplex_profiles ${what} turns multiplexing on when the env is unset (S51)`, async (t) => {
    const w = await coderWorld('cfgon', { configYaml: yaml });
    const { run, doc, profiles } = await bootJson(w);
    t.is(run.code, 0, run.stderr);
    t.true(doc['multiplex']);
    t.deepEqual(doc['warnings'], []);
    t.is(actionOf(profiles, 'coder'), 'registered');
    t.true(isDown(w, 'coder'));
    await removeTree(w.root);
  });
}

const CONFIG_OFF = [
  ['false', 'multiplex_profiles: false\n'],
  ['absent', 'model: x\ngateway:\n  port: 8642\n'],
  ['an empty document', ''],
  ['a list document', '- multiplex_profiles\n'],
] as const;

for (const [what, yaml] of CONFIG_OFF) {
  test(`config.yaml with multiplex_profiles ${what} leaves multiplexing off`, async (t) => {
    const w = await coderWorld('cfgoff', { configYaml: yaml });
    const { run, doc, profiles } = await bootJson(w);
    t.is(run.code, 0, run.stderr);
    t.false(doc['multiplex']);
    t.is(actionOf(profiles, 'coder'), 'started');
    await removeTree(w.root);
  });
}

const BROKEN: readonly [string, (file: string, dir: string) => Promise<void>][] = [
  ['invalid YAML', (f) => writeFile(f, 'multiplex_profiles: [true\n')],
  ['invalid YAML without the key', (f) => writeFile(f, 'model: {provider: [openai\n')],
  ['not UTF-8', (f) => writeFile(f, Buffer.from([0x6d, 0x3a, 0x20, 0xff, 0xfe, 0x0a]))],
  ['a directory', (f) => mkdir(f)],
  [
    'a FIFO',
    async (f) => {
      execFileSync('mkfifo', [f]);
    },
  ],
  [
    'a symlink to a valid file',
    async (f, dir) => {
      await writeFile(path.join(dir, 'real.yaml'), 'multiplex_profiles: true\n');
      await symlink(path.join(dir, 'real.yaml'), f);
    },
  ],
  ['a dangling symlink', (f) => symlink('/nonexistent/config.yaml', f)],
];

for (const [what, make] of BROKEN) {
  test(`config.yaml that is ${what}: a loud warning naming the file, then off`, async (t) => {
    const w = await coderWorld('cfgbad');
    const file = path.join(w.home, 'config.yaml');
    await make(file, w.root);
    const { run, doc, profiles } = await bootJson(w);
    t.is(run.code, 0, run.stderr);
    t.false(doc['multiplex']);
    t.is(actionOf(profiles, 'coder'), 'started');
    t.regex(run.stderr, /warn/i);
    t.true(run.stderr.includes(file), run.stderr);
    const warnings = doc['warnings'] as string[];
    t.true(
      warnings.some((m) => m.includes(file) && m.includes('multiplex_profiles ignored')),
      JSON.stringify(warnings),
    );
    await removeTree(w.root);
  });

  test(`config.yaml that is ${what}: the warning still comes, and GATEWAY_MULTIPLEX_PROFILES is honoured (S53)`, async (t) => {
    const w = await coderWorld('cfgbadenv');
    const file = path.join(w.home, 'config.yaml');
    await make(file, w.root);
    const text = await runCli(['boot', ...worldArgs(w)], { env: { GATEWAY_MULTIPLEX_PROFILES: 'true' } });
    t.is(text.code, 0, text.stderr);
    t.true(text.stderr.includes(file), text.stderr);
    t.true(text.stderr.includes('GATEWAY_MULTIPLEX_PROFILES decides'), text.stderr);
    t.true(profileLines(text.stdout).some((l) => l.startsWith('reconcile: profile=coder prior_state=running action=registered')));
    t.true(isDown(w, 'coder'));
    await removeTree(w.root);
  });
}

test('gate policy: named slots stay down whatever their state, the root follows its own intent', async (t) => {
  const w = await makeWorld('gate', { create: 'none', settings: { multiplexPolicy: 'gate' } });
  await makeHermesHome(
    w.home,
    { alpha: { state: { desired_state: 'running' } }, beta: { state: { desired_state: 'stopped' } } },
    { desired_state: 'stopped' },
  );
  const { run, doc, profiles } = await bootJson(w, { GATEWAY_MULTIPLEX_PROFILES: '1' });
  t.is(run.code, 0, run.stderr);
  t.deepEqual(
    profiles.map((p) => [p.profile, p.action]),
    [
      ['default', 'registered'],
      ['alpha', 'registered'],
      ['beta', 'registered'],
    ],
  );
  t.true(
    profiles.every((p) => p.foldedIntoRoot === undefined),
    'gate has no fold fields',
  );
  t.deepEqual(doc['foldedProfiles'], []);
  t.false(run.stderr.includes('was started instead'));
  for (const p of ['default', 'alpha', 'beta']) t.true(isDown(w, p), p);
  const log = await readFile(path.join(w.home, 'logs', 'container-boot.log'), 'utf8');
  t.false(log.includes('folded_into_root'), 'V2 boot-log format without the fold');
  await removeTree(w.root);
});

const NOTICE =
  'reconcile: profile gateway(s) alpha asked to autostart; one gateway per container serves every profile, ' +
  'so the ROOT slot (gateway-default) was started instead and multiplexes them.';

async function foldWorld(prefix: string, rootState?: object): Promise<World> {
  const w = await makeWorld(prefix, { create: 'none', settings: { multiplexPolicy: 'fold' } });
  await makeHermesHome(w.home, { alpha: { state: { desired_state: 'running' } }, beta: {} }, rootState);
  return w;
}

test('fold policy (S54): the root starts for alpha; the text output prints the notice before the profile lines', async (t) => {
  const w = await foldWorld('fold');
  const run = await runCli(['boot', ...worldArgs(w)], { env: { GATEWAY_MULTIPLEX_PROFILES: 'true' } });
  t.is(run.code, 0, run.stderr);
  const lines = run.stdout.split('\n');
  t.is(lines[0], NOTICE);
  t.deepEqual(profileLines(run.stdout), [
    'reconcile: profile=default prior_state=None action=started prior_exit=unknown',
    'reconcile: profile=alpha prior_state=running action=registered prior_exit=unknown reason="folded into the root slot (multiplexing)"',
    'reconcile: profile=beta prior_state=None action=registered prior_exit=unknown reason="multiplexing: named slots stay down"',
  ]);
  t.false(isDown(w, 'default'));
  t.true(isDown(w, 'alpha'));
  t.true(isDown(w, 'beta'));
  const log = (await readFile(path.join(w.home, 'logs', 'container-boot.log'), 'utf8')).trimEnd().split('\n');
  const ts = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}`;
  t.is(log.length, 3);
  t.regex(log[0] ?? '', new RegExp(`^${ts} profile=default prior_state=None action=started prior_exit=unknown folded_into_root=True$`));
  t.regex(log[1] ?? '', new RegExp(`^${ts} profile=alpha prior_state=running action=registered prior_exit=unknown folded_into_root=True$`));
  t.regex(log[2] ?? '', new RegExp(`^${ts} profile=beta prior_state=None action=registered prior_exit=unknown folded_into_root=False$`));
  await removeTree(w.root);
});

test('fold policy with --output json: foldedProfiles and foldedIntoRoot in the document, the notice on stderr', async (t) => {
  const w = await foldWorld('foldjson');
  const { run, doc, profiles } = await bootJson(w, { GATEWAY_MULTIPLEX_PROFILES: 'yes' });
  t.is(run.code, 0, run.stderr);
  t.deepEqual(doc['foldedProfiles'], ['alpha']);
  t.deepEqual(
    profiles.map((p) => [p.profile, p.priorState, p.action, p.foldedIntoRoot]),
    [
      ['default', null, 'started', true],
      ['alpha', 'running', 'registered', true],
      ['beta', null, 'registered', false],
    ],
  );
  t.true(run.stderr.split('\n').includes(NOTICE), run.stderr);
  // The root had no state of its own: upstream's WARNING too, in the document's warnings.
  t.deepEqual(doc['warnings'], [NOTICE]);
  await removeTree(w.root);
});

test('fold policy (S55): an explicitly stopped root still starts when a named profile wants to run', async (t) => {
  const w = await foldWorld('fold55', { desired_state: 'stopped' });
  const { profiles } = await bootJson(w, { GATEWAY_MULTIPLEX_PROFILES: 'on' });
  t.like(profiles[0], { profile: 'default', priorState: 'stopped', action: 'started', foldedIntoRoot: true });
  t.false(isDown(w, 'default'));
  await removeTree(w.root);
});

test('fold policy (S56): a running root with no running named profile folds nothing and prints no notice', async (t) => {
  const w = await makeWorld('fold56', { create: 'none', settings: { multiplexPolicy: 'fold' } });
  await makeHermesHome(w.home, { beta: { state: { desired_state: 'stopped' } } }, { gateway_state: 'running' });
  const run = await runCli(['boot', ...worldArgs(w)], { env: { GATEWAY_MULTIPLEX_PROFILES: '1' } });
  t.is(run.code, 0, run.stderr);
  t.false(run.stdout.includes('asked to autostart'));
  t.true(run.stdout.startsWith('reconcile: profile=default prior_state=running action=started'));
  const log = await readFile(path.join(w.home, 'logs', 'container-boot.log'), 'utf8');
  t.regex(log, /profile=default prior_state=running action=started prior_exit=unknown folded_into_root=False\n/);
  await removeTree(w.root);
});

test('fold policy lists every folded profile in byte order, from config.yaml alone', async (t) => {
  const w = await makeWorld('foldmany', { create: 'none', settings: { multiplexPolicy: 'fold' } });
  await makeHermesHome(w.home, {
    zed: { state: { gateway_state: 'degraded' } },
    alpha: { state: { desired_state: 'running' } },
    mid: { state: { desired_state: 'stopped', gateway_state: 'running' } },
  });
  await writeFile(path.join(w.home, 'config.yaml'), 'gateway:\n  multiplex_profiles: true\n');
  const run = await runCli(['boot', ...worldArgs(w)]);
  t.is(run.code, 0, run.stderr);
  t.true(run.stdout.startsWith('reconcile: profile gateway(s) alpha, zed asked to autostart;'), run.stdout);
  await removeTree(w.root);
});

test('with multiplexing off both policies are plain per-profile autostart', async (t) => {
  for (const policy of ['gate', 'fold'] as const) {
    const w = await makeWorld(`off${policy}`, { create: 'none', settings: { multiplexPolicy: policy } });
    await makeHermesHome(w.home, { alpha: { state: { desired_state: 'running' } } });
    const { run, doc, profiles } = await bootJson(w);
    t.is(run.code, 0, run.stderr);
    t.false(doc['multiplex']);
    t.deepEqual(doc['foldedProfiles'], []);
    t.deepEqual(
      profiles.map((p) => [p.profile, p.action, p.foldedIntoRoot]),
      [
        ['default', 'registered', undefined],
        ['alpha', 'started', undefined],
      ],
    );
    t.false(run.stderr.includes('asked to autostart'));
    t.false(isDown(w, 'alpha'));
    const log = await readFile(path.join(w.home, 'logs', 'container-boot.log'), 'utf8');
    t.false(log.includes('folded_into_root'));
    await removeTree(w.root);
  }
});

test('an empty GATEWAY_MULTIPLEX_PROFILES counts as unset, so config.yaml decides', async (t) => {
  const w = await coderWorld('envempty', { configYaml: 'multiplex_profiles: true\n' });
  const { run, doc, profiles } = await bootJson(w, { GATEWAY_MULTIPLEX_PROFILES: '' });
  t.is(run.code, 0, run.stderr);
  t.true(doc['multiplex']);
  t.is(actionOf(profiles, 'coder'), 'registered');
  await removeTree(w.root);
});

test('turning multiplexing on for a running named slot: the down operation says multiplexing holds it down, not that its intent is stopped', async (t) => {
  const w = await coderWorld('mux-reason', { rootState: { gateway_state: 'running' } });
  t.is((await runCli(['boot', ...worldArgs(w)])).code, 0);
  t.false(isDown(w, 'coder'), 'started while multiplexing was off');
  const run = await runCli(['sync', ...worldArgs(w), '--output', 'json'], { env: { GATEWAY_MULTIPLEX_PROFILES: '1' } });
  t.is(run.code, 0, run.stderr);
  const ops = parseDoc(run)['operations'] as { kind: string; service: string; reason: string }[];
  t.deepEqual(
    ops.map((o) => `${o.service} ${o.kind}: ${o.reason}`),
    ['gateway-coder down: multiplexing: named slots stay down; down marker missing'],
  );
  t.true(isDown(w, 'coder'));
});
