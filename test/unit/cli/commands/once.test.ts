/** runOnce, the pass behind boot and sync: output formats and the colour decision. */
import test from 'ava';
import { runOnce } from '../../../../src/cli/commands/once.js';
import { captureIo, recordingLogger, world } from '../support.js';

const ESC = '\u001b';

test('the mode decides the document’s mode field', async (t) => {
  const w = await world(t, { a: {} });
  for (const mode of ['boot', 'sync'] as const) {
    const io = captureIo();
    await runOnce(mode, w.args(mode, '--diff', '--output', 'json'), io, recordingLogger().logger);
    t.like(JSON.parse(io.out()), { mode, dryRun: true, exitCode: 1 });
  }
});

test('--diff into a pipe or with NO_COLOR prints no escape sequence', async (t) => {
  const w = await world(t, { 'bad\u001b[31m': {}, a: {} });
  for (const [env, tty] of [
    [{}, false],
    [{ NO_COLOR: '1' }, true],
  ] as const) {
    const io = captureIo(env, tty);
    const code = await runOnce('sync', w.args('sync', '--diff'), io, recordingLogger().logger);
    t.is(code, 1);
    t.false(io.out().includes(ESC), JSON.stringify(io.out()));
  }
});

test('multiplex fold notices go to stdout in text and to stderr with --output json', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const env = { GATEWAY_MULTIPLEX_PROFILES: '1' };
  const text = captureIo(env);
  await runOnce('sync', w.args('sync', '--diff'), text, recordingLogger().logger);
  const json = captureIo(env);
  await runOnce('sync', w.args('sync', '--diff', '--output', 'json'), json, recordingLogger().logger);
  const doc = JSON.parse(json.out()) as { multiplex: boolean };
  t.true(doc.multiplex);
  const stderrLines = json
    .err()
    .split('\n')
    .filter((l) => l !== '');
  for (const line of stderrLines) t.true(text.out().includes(`${line}\n`), line);
});
