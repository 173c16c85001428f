/**
 * Issue 4: size limits and hostile names. An oversized state or lifecycle file counts as
 * unreadable with a warning, the boot log stays within its rotation bound, and no profile name can
 * write outside the scandir, create a dot-entry or a nested path, or forge an output line.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { escapeLine } from '../../../src/escape.js';
import { removeWorlds, runWorld, runWorldJson, type World, writeProfiles, makeWorld } from '../../helpers/cli.js';
import { diffSnapshot, snapshot } from './tree-check.js';

test.after.always('remove scratch trees', async () => {
  await removeWorlds();
});

test('a 2 MiB state file or lifecycle file is unreadable with a warning and the pass completes', async (t) => {
  const l = await makeWorld('big-state');
  writeProfiles(l.home, { big: undefined, ledger: 'running' });
  const padding = ' '.repeat(2 * 1024 * 1024);
  fs.writeFileSync(path.join(l.home, 'profiles', 'big', 'gateway_state.json'), `{"desired_state":"running"}${padding}`);
  fs.mkdirSync(path.join(l.home, 'profiles', 'ledger', 'state'));
  fs.writeFileSync(path.join(l.home, 'profiles', 'ledger', 'state', 'gateway.lifecycle.json'), `{"phase":"running"}${padding}`);

  const { doc, ...result } = await runWorldJson('boot', l);
  t.is(result.code, 0, result.stderr);
  const warnings = (doc.warnings ?? []).join('\n');
  t.regex(warnings, /big\/gateway_state\.json \(is larger than 65536 bytes \(\d+\)\); treating as no prior state/);
  t.regex(warnings, /ledger\/state\/gateway\.lifecycle\.json \(is larger than 65536 bytes \(\d+\)\); prior exit unknown/);
  const big = (doc.profiles ?? []).find((p) => p.profile === 'big');
  t.like(big, { action: 'registered', priorState: null });
  t.true(fs.existsSync(path.join(l.scandir, 'gateway-big', 'down')));
});

function logSizes(l: World): { log: number; rotated: number; entries: string[] } {
  const dir = path.join(l.home, 'logs');
  const size = (name: string): number => (fs.existsSync(path.join(dir, name)) ? fs.lstatSync(path.join(dir, name)).size : 0);
  return { log: size('container-boot.log'), rotated: size('container-boot.log.1'), entries: fs.readdirSync(dir).sort() };
}

test('the boot log and its .1 stay within the rotation bound across many boots', async (t) => {
  const maxBytes = 1024;
  const l = await makeWorld('rotation', { settings: { bootLogMaxBytes: maxBytes } });
  writeProfiles(l.home, Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`p${i}`, i % 2 === 0 ? 'running' : 'stopped'])));
  t.is((await runWorld('boot', l)).code, 0);
  const pass = logSizes(l).log;
  t.true(pass > 0 && pass < maxBytes, 'one pass writes less than the bound (the test needs several boots per rotation)');
  for (let boot = 1; boot < 12; boot += 1) {
    t.is((await runWorld('boot', l)).code, 0);
    const after = logSizes(l);
    t.true(after.log < maxBytes + pass, `container-boot.log is ${after.log} bytes after boot ${boot}`);
    t.true(after.rotated < maxBytes + pass, `container-boot.log.1 is ${after.rotated} bytes after boot ${boot}`);
    t.deepEqual(after.entries, after.rotated === 0 ? ['container-boot.log'] : ['container-boot.log', 'container-boot.log.1']);
  }
  t.true(logSizes(l).rotated > 0, 'the log rotated at least once');
});

test('a .1 planted as a directory stops rotation without letting the log grow past its bound', async (t) => {
  const l = await makeWorld('rotation-blocked', { settings: { bootLogMaxBytes: 1024 } });
  writeProfiles(l.home, { alice: 'running' });
  fs.mkdirSync(path.join(l.home, 'logs', 'container-boot.log.1', 'inner'), { recursive: true });
  fs.writeFileSync(path.join(l.home, 'logs', 'container-boot.log'), `${'y'.repeat(1500)}\n`);
  for (let boot = 0; boot < 5; boot += 1) {
    const { doc, ...result } = await runWorldJson('boot', l);
    t.is(result.code, 0);
    t.regex((doc.warnings ?? []).join('\n'), /could not rotate .*not appending/);
    t.is(logSizes(l).log, 1501, 'the log grew although it could not rotate');
  }
  t.true(fs.statSync(path.join(l.home, 'logs', 'container-boot.log.1', 'inner')).isDirectory(), 'the planted directory was left alone');
});

const LONG_NAME = 'a'.repeat(244);
const MAX_NAME = 'b'.repeat(243);
const FORGED = 'reconcile: profile=evil prior_state=running action=started';
const HOSTILE: readonly string[] = [
  'Upper',
  'uni-\u00f8',
  'dot.name',
  '.hidden',
  '...',
  '.gateway-x.tmp',
  '-dash',
  '_under',
  'back\\slash',
  `nl\n${FORGED}`,
  'cr\rx',
  'tab\tx',
  'sep\u2028x',
  'bidi\u202egnp.exe',
  LONG_NAME,
];

test('hostile profile names are skipped with one escaped single-line warning each, and write nothing outside their own slot', async (t) => {
  const l = await makeWorld('names');
  writeProfiles(l.home, { ok: 'running', [MAX_NAME]: 'running', forge: `running\n${FORGED}` });
  for (const name of HOSTILE) writeProfiles(l.home, { [name]: 'running' });
  const raw = Buffer.concat([Buffer.from(path.join(l.home, 'profiles', 'raw-')), Buffer.from([0xff])]);
  fs.mkdirSync(raw);
  fs.writeFileSync(Buffer.concat([raw, Buffer.from('/SOUL.md')]), 'soul\n');
  const outsideScandir = (rel: string): boolean => rel === 'home' || rel === 'scan';
  const parentBefore = snapshot(l.root, outsideScandir);

  const result = await runWorld('boot', l);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(fs.readdirSync(l.scandir).sort(), [
    '.reconcile-gateways',
    `gateway-${MAX_NAME}`,
    'gateway-default',
    'gateway-forge',
    'gateway-ok',
  ]);
  t.deepEqual(diffSnapshot(parentBefore, snapshot(l.root, outsideScandir)), [], 'something was written beside the scandir');
  t.deepEqual(fs.readdirSync(path.join(l.scandir, 'gateway-ok')).sort(), [
    '.reconcile-gateways.json',
    'event',
    'finish',
    'log',
    'run',
    'supervise',
    'type',
  ]);

  const stderrLines = result.stderr.trimEnd().split('\n');
  for (const line of stderrLines) t.true(line.startsWith('reconcile-gateways: '), `forged stderr line: ${JSON.stringify(line)}`);
  t.is(stderrLines.filter((line) => line.includes('skipped: invalid profile name')).length, HOSTILE.length, result.stderr);
  for (const name of HOSTILE) {
    const warning = escapeLine(`profiles/${name}: skipped: invalid profile name`);
    t.is(stderrLines.filter((line) => line.includes(warning)).length, 1, `one warning for ${JSON.stringify(name)}`);
  }
  // A name that is not UTF-8 is said with its bytes, so the operator can tell which one to rename.
  t.is(
    stderrLines.filter((line) =>
      line.includes(
        'profiles/raw-\ufffd: skipped: the directory name is not valid UTF-8 (its bytes, in hex: 72 61 77 2d ff): rename the profile',
      ),
    ).length,
    1,
  );
  const decisions = 4 + HOSTILE.length + 1;
  assertNoForgery(t, result.stdout, /^reconcile: /, decisions + 4 + 1); // plus one line per create (default, forge, ok, the longest name)
  assertNoForgery(
    t,
    fs.readFileSync(path.join(l.home, 'logs', 'container-boot.log'), 'utf8'),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} profile=/,
    decisions,
  );
});

function assertNoForgery(t: ExecutionContext, text: string, prefix: RegExp, lineCount: number): void {
  const lines = text.trimEnd().split('\n');
  t.is(lines.length, lineCount, text);
  for (const line of lines) {
    t.regex(line, prefix, `forged line ${JSON.stringify(line)}`);
    t.false(/[\r\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(line), `raw control character in ${JSON.stringify(line)}`);
  }
}
