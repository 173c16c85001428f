/**
 * The boot log `$HERMES_HOME/logs/container-boot.log` (reference §2.7, S59–S63): one upstream
 * line per profile per boot, a local-time timestamp, rotation to `.1` at `bootLogMaxBytes`.
 */
import test from 'ava';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { bootArgs, runCli, sandbox, writeConfig } from '../../helpers/cli.js';
import { makeHermesHome } from '../../helpers/tree.js';

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$/;

function logPath(home: string, suffix = ''): string {
  return path.join(home, 'logs', `container-boot.log${suffix}`);
}

function splitLine(line: string): [string, string] {
  const i = line.indexOf(' ');
  return [line.slice(0, i), line.slice(i + 1)];
}

test('S60 one line per profile in reconcile order, one UTC timestamp per pass', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { b: { state: { gateway_state: 'stopped' } }, a: { state: { gateway_state: 'running' } } });
  await mkdir(path.join(box.home, 'profiles/b/state'));
  await writeFile(path.join(box.home, 'profiles/b/state/gateway.lifecycle.json'), '{"phase":"running"}');
  t.is((await runCli(bootArgs(box.home, box.scandir))).code, 0);
  const lines = (await readFile(logPath(box.home), 'utf8')).split('\n');
  t.is(lines.pop(), '', 'the log ends with a newline');
  const stamps = new Set(lines.map((l) => splitLine(l)[0]));
  t.is(stamps.size, 1);
  const [ts] = [...stamps];
  t.regex(ts ?? '', TS);
  t.true(ts?.endsWith('+0000'));
  t.deepEqual(
    lines.map((l) => splitLine(l)[1]),
    [
      'profile=default prior_state=None action=registered prior_exit=unknown',
      'profile=a prior_state=running action=started prior_exit=unknown',
      'profile=b prior_state=stopped action=registered prior_exit=unclean',
    ],
  );
});

test('a profile whose slot could not be made says so in the boot log, not only action=started', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { a: { state: { desired_state: 'running' } }, two: { state: { desired_state: 'running' } } });
  await mkdir(box.scandir, { recursive: true });
  await writeFile(path.join(box.scandir, 'gateway-two'), 'x\n'); // a file where its slot goes
  const r = await runCli(bootArgs(box.home, box.scandir));
  t.is(r.code, 2, r.stderr);
  const lines = (await readFile(logPath(box.home), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => splitLine(l)[1]);
  t.true(lines.includes('profile=a prior_state=running action=started prior_exit=unknown'), lines.join('\n'));
  const two = lines.find((l) => l.startsWith('profile=two '));
  t.regex(two ?? '', /^profile=two prior_state=running action=started prior_exit=unknown failed="create: [^"\n]+"$/);
});

test('the timestamp is local time with its offset, like strftime %z', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await runCli(bootArgs(box.home, box.scandir), { env: { TZ: 'Asia/Kolkata' } });
  const [ts] = splitLine((await readFile(logPath(box.home), 'utf8')).trimEnd());
  t.regex(ts, TS);
  t.true(ts.endsWith('+0530'), ts);
});

test('a second boot appends below the threshold (S62) and never rotates a small log', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const cfg = writeConfig(box, { bootLogMaxBytes: 1024 }, true);
  await mkdir(path.join(box.home, 'logs'));
  const old = `${'o'.repeat(499)}\n`;
  await writeFile(logPath(box.home), old);
  await runCli(bootArgs(box.home, box.scandir, '--config', cfg));
  const text = await readFile(logPath(box.home), 'utf8');
  t.true(text.startsWith(old));
  t.regex(text.slice(old.length), /^\S+ profile=default prior_state=None action=registered prior_exit=unknown\n$/);
  t.false(existsSync(logPath(box.home, '.1')));
});

test('S61 a log at the threshold moves to .1 and the new log holds only the new lines', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const cfg = writeConfig(box, { bootLogMaxBytes: 1024 }, true);
  await makeHermesHome(box.home, { coder: {} });
  await mkdir(path.join(box.home, 'logs'));
  const old = `${'x'.repeat(1999)}\n`;
  await writeFile(logPath(box.home), old);
  await runCli(bootArgs(box.home, box.scandir, '--config', cfg));
  t.is(await readFile(logPath(box.home, '.1'), 'utf8'), old);
  const lines = (await readFile(logPath(box.home), 'utf8')).trimEnd().split('\n');
  t.deepEqual(
    lines.map((l) => splitLine(l)[1]),
    [
      'profile=default prior_state=None action=registered prior_exit=unknown',
      'profile=coder prior_state=None action=registered prior_exit=unknown',
    ],
  );
});

test('S63 rotation overwrites an existing .1', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const cfg = writeConfig(box, { bootLogMaxBytes: 1024 }, true);
  await mkdir(path.join(box.home, 'logs'));
  const old = `${'y'.repeat(1023)}\n`;
  await writeFile(logPath(box.home), old);
  await writeFile(logPath(box.home, '.1'), 'OLD ROTATION');
  await runCli(bootArgs(box.home, box.scandir, '--config', cfg));
  t.is(await readFile(logPath(box.home, '.1'), 'utf8'), old);
  t.false((await readFile(logPath(box.home), 'utf8')).includes('y'));
});

test('the log is never written through a symlink: a warning, exit 0, the target untouched', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const target = path.join(box.root, 'elsewhere.txt');
  await writeFile(target, 'precious\n');
  await mkdir(path.join(box.home, 'logs'));
  await symlink(target, logPath(box.home));
  const r = await runCli(bootArgs(box.home, box.scandir));
  t.is(r.code, 0);
  t.regex(r.stderr, /reconcile-gateways: warn: could not write the boot log/);
  t.is(await readFile(target, 'utf8'), 'precious\n');
});

test('sync writes no boot-log line', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(box.scandir, { recursive: true });
  const r = await runCli(['sync', ...bootArgs(box.home, box.scandir).slice(1)]);
  t.is(r.code, 0, r.stderr);
  t.false(existsSync(logPath(box.home)));
});
