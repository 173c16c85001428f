/**
 * Issue 16, the bounds: what a hermes-written file or directory may cost a root run. State files
 * keep only strings under a 64 KiB cap (#1), config.yaml is capped with alias and depth limits
 * (#2), watch forgets deleted profiles (#3) and watches only profiles (#4), removal is iterative
 * and bounded per pass (#6), values never forge or flood a key=value line (#13a), and only
 * root-owned processes decide the container role (#13b).
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { parseLifecycle, parseStateFile } from '../../../src/observe/parse.js';
import { FIELD_VALUE_MAX, fieldValue } from '../../../src/escape.js';
import { detectContainerArgv, hostEnv, observeConfig } from '../../../src/observe/host.js';
import { decideMultiplex } from '../../../src/desired/host.js';
import { isCollection, parseDocument, visit } from 'yaml';
import { closeDir, openRoot, removeTreeAt } from '../../../src/safe-fs/index.js';
import { CANDIDATE_WATCHES, EventSource } from '../../../src/watch/event-source.js';
import { type WatchContext, rememberIntents } from '../../../src/cli/watch-pass.js';
import { decisionOf, passResultOf } from '../../helpers/pass-result.js';
import { profileLine } from '../../../src/cli/output.js';
import { formatBootLogLines } from '../../../src/actuate/boot-log.js';
import { removeTree, tempDir } from '../../helpers/tree.js';
import { mountTmpfs, unmountTmpfs } from './tmpfs.js';
import { needsRoot } from '../../helpers/needs.js';

const file = (text: string): Parameters<typeof parseStateFile>[0] => ({
  kind: 'file',
  bytes: Buffer.from(text),
  mode: 0o644,
  uid: 0,
  mtimeMs: 0,
});

test('#1 a state file keeps only string fields: a nested desired_state is dropped at once, not retained', (t) => {
  const nested = `{"desired_state":[${'{},'.repeat(500)}{}],"gateway_state":{"x":1}}`;
  t.deepEqual(parseStateFile(file(nested)), {
    kind: 'parsed',
    desiredState: undefined,
    gatewayState: undefined,
    desiredStateIgnored: 'an array',
  });
  const huge = `{"desired_state":[${'{},'.repeat(20_000)}{}]}`;
  t.deepEqual(
    parseStateFile(file(huge)),
    { kind: 'unreadable', reason: 'holds more than 1024 JSON objects or arrays' },
    'never parsed at all',
  );
  const long = parseStateFile(file(JSON.stringify({ desired_state: `running${'x'.repeat(10_000)}` })));
  t.true(long.kind === 'parsed' && (long.desiredState?.length ?? 0) < 300 && long.desiredState !== 'running');
  t.deepEqual(parseStateFile(file('{"desired_state":"stopped","gateway_state":"running"}')), {
    kind: 'parsed',
    desiredState: 'stopped',
    gatewayState: 'running',
  });
  t.deepEqual(parseLifecycle(file('{"phase":["exited"]}')), { kind: 'parsed', phase: undefined });
});

test('#13a a value with spaces, quotes or = is quoted, so it cannot forge key=value fields; plain values stay bare', (t) => {
  t.is(fieldValue('running'), 'running');
  t.is(fieldValue('running action=started prior_exit=clean'), '"running action=started prior_exit=clean"');
  t.is(fieldValue('a"b'), '"a\\"b"');
  t.is(fieldValue(''), '""');
  const forged = {
    profile: 'p',
    service: 'gateway-p',
    priorState: 'running action=started prior_exit=clean',
    autostart: false,
    action: 'registered',
    priorExit: 'unknown',
  } as const;
  const line = profileLine(forged);
  t.is(line, 'reconcile: profile=p prior_state="running action=started prior_exit=clean" action=registered prior_exit=unknown');
  const boot = formatBootLogLines('2026-01-01T00:00:00+0000', [forged]);
  t.is(
    boot,
    '2026-01-01T00:00:00+0000 profile=p prior_state="running action=started prior_exit=clean" action=registered prior_exit=unknown\n',
  );
});

test('#1 a long string value is never echoed whole into stdout or the boot log', (t) => {
  const long = 'x'.repeat(60_000);
  const d = { profile: 'p', service: 'gateway-p', priorState: long, autostart: false, action: 'registered', priorExit: 'unknown' } as const;
  t.true(profileLine(d).length < FIELD_VALUE_MAX + 200);
  t.true(formatBootLogLines('t', [d]).length < FIELD_VALUE_MAX + 200);
});

test('#2 config.yaml over the cap, too deep, or with too many aliases is refused with a warning, not parsed; billion laughs are read unexpanded', async (t) => {
  const dir = await tempDir('rg-yaml-');
  t.teardown(() => removeTree(dir));
  const home = openRoot(dir);
  t.teardown(() => closeDir(home));
  const multiplexOf = (): { multiplex: boolean; notice?: string } =>
    decideMultiplex(
      hostEnv({}),
      observeConfig(home, () => ({ parseDocument, visit, isCollection })),
      dir,
    );
  const check = async (text: string, why: RegExp): Promise<void> => {
    fs.writeFileSync(path.join(dir, 'config.yaml'), text);
    const r = multiplexOf();
    t.false(r.multiplex);
    t.regex(r.notice ?? '', why);
  };
  await check(`multiplex_profiles: true\npad: "${'x'.repeat(1024 * 1024)}"\n`, /could not be read \(is larger than 65536 bytes/);
  await check(`multiplex_profiles: true\nx: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, /nests deeper than 64 levels/);
  const laughs = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    ...Array.from(
      { length: 8 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
    ),
  ];
  fs.writeFileSync(path.join(dir, 'config.yaml'), `multiplex_profiles: true\n${laughs.join('\n')}\n`);
  t.deepEqual(multiplexOf(), { multiplex: true }, 'read without expanding: each anchor is shared, not copied');
  // Thousands of aliases of small anchors, each within the per-anchor bound: the library resolves
  // every one by scanning the document (24 s for a 64 KiB file), so their total is bounded too.
  const many = `a: &a x\nl: &B [${Array(5000).fill('*a').join(', ')}]\nC: *B\n`;
  await check(`multiplex_profiles: true\n${many}`, /is not valid YAML \(more than 200 aliases\)/);
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'gateway:\n  multiplex_profiles: true\n');
  t.deepEqual(multiplexOf(), { multiplex: true });
});

test('#3 watch forgets the intent of a profile a pass no longer finds', (t) => {
  const intents = new Map<string, string | null>([
    ['gone', 'x'.repeat(1000)],
    ['kept', 'running'],
    ['elsewhere', 'stopped'],
  ]);
  const ctx = { intents } as unknown as WatchContext;
  const result = passResultOf({ desired: { decisions: [decisionOf('kept', { priorExit: 'unknown' })] } });
  rememberIntents(ctx, result, new Set(['gone', 'kept']));
  t.deepEqual([...intents.keys()].sort(), ['elsewhere', 'kept'], 'a targeted pass forgets only what it read');
  rememberIntents(ctx, result, undefined);
  t.deepEqual([...intents.keys()], ['kept'], 'a full pass forgets every profile it did not find');
});

test('#4 watch puts inotify watches only on profiles (directories with SOUL.md), not on every directory hermes makes', async (t) => {
  const dir = await tempDir('rg-watches-');
  t.teardown(() => removeTree(dir));
  const profiles = path.join(dir, 'home', 'profiles');
  for (let i = 0; i < 2000; i += 1) fs.mkdirSync(path.join(profiles, `empty${i}`), { recursive: true });
  for (const name of ['empty0', 'b', 'c']) {
    fs.mkdirSync(path.join(profiles, name), { recursive: true });
    fs.writeFileSync(path.join(profiles, name, 'SOUL.md'), '');
  }
  fs.mkdirSync(path.join(dir, 'scan'));
  const events = new EventSource({
    hermesHome: path.join(dir, 'home'),
    scandir: path.join(dir, 'scan'),
    onHint: () => undefined,
    servicePrefix: () => 'gateway-',
    warn: () => undefined,
  });
  t.teardown(() => events.close());
  await events.refresh();
  // scandir, HERMES_HOME, profiles/, the three profiles and 64 candidates: the ceiling is profiles + 68.
  t.is(events.size, 6 + CANDIDATE_WATCHES);
});

needsRoot(test)('#6 a tree of 30,000 nested directories is deleted without recursion, and a small budget stops and resumes', async (t) => {
  t.timeout(60_000);
  const dir = await mountTmpfs('rg-deep', '256m');
  t.teardown(() => unmountTmpfs(dir));
  // Made by a child that walks down with chdir: the path is far beyond PATH_MAX.
  const script =
    "const fs=require('fs');process.chdir(process.argv[1]);for(let i=0;i<30000;i++){fs.mkdirSync('d');process.chdir('d');}fs.writeFileSync('leaf','x');";
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, ['-e', script, path.join(dir)]);
  const root = openRoot(dir);
  t.teardown(() => closeDir(root));
  t.false(removeTreeAt(root, 'd', { left: 1000 }), 'the budget ran out: the rest is left for later');
  t.true(fs.existsSync(path.join(dir, 'd')));
  t.true(removeTreeAt(root, 'd', { left: 250_000 }));
  t.false(fs.existsSync(path.join(dir, 'd')));
});

needsRoot(test)('#13b only root-owned processes decide the container role', async (t) => {
  const proc = await tempDir('rg-proc-');
  t.teardown(() => removeTree(proc));
  const write = (pid: string, argv: string[], uid: number): void => {
    fs.mkdirSync(path.join(proc, pid));
    fs.writeFileSync(path.join(proc, pid, 'cmdline'), `${argv.join('\0')}\0`);
    fs.writeFileSync(path.join(proc, pid, 'status'), `Uid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
    fs.chownSync(path.join(proc, pid), uid, uid);
  };
  write('1', ['s6-svscan', '/run/service'], 0);
  write('40', ['/bin/sh', '/opt/hermes/docker/main-wrapper.sh', 'dashboard'], 10000);
  t.deepEqual(detectContainerArgv(proc), [], "a hermes process's argv is not the container's");
  write('90', ['/bin/sh', '/opt/hermes/docker/main-wrapper.sh', 'gateway', 'run'], 0);
  t.deepEqual(detectContainerArgv(proc), ['/bin/sh', '/opt/hermes/docker/main-wrapper.sh', 'gateway', 'run']);
});
