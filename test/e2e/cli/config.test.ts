/**
 * `--config FILE`: JSON validated by the precompiled ajv validators; a valid file changes the
 * rendered parts, an invalid one is a usage error (exit 100) that changes nothing.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_SETTINGS } from '../../../src/cli/config.js';
import { loadValidators } from '../../../src/cli/validate.js';
import { repoRoot } from '../../helpers/s6.js';
import { bootArgs, bootJson, runCli, sandbox, writeConfig } from '../../helpers/cli.js';
import { diffSnapshots, makeHermesHome, snapshotTree } from '../../helpers/tree.js';

test("the keys suggested for a config typo are exactly the schema's", async (t) => {
  const schema = JSON.parse(await readFile(path.join(repoRoot(), 'schemas/config.schema.json'), 'utf8')) as { properties: object };
  t.deepEqual(Object.keys(DEFAULT_SETTINGS).sort(), Object.keys(schema.properties).sort());
});

test('every precompiled validator loads as an ES module (ajv emits require for maxLength)', async (t) => {
  const v = await loadValidators();
  t.true(v.validateOwnership({ formatVersion: '1', managedBy: 'reconcile-gateways', service: 'gateway-a', profile: 'a' }));
  t.false(v.validateOwnership({ formatVersion: '1', managedBy: 'reconcile-gateways', service: '', profile: 'a' }));
  t.true(v.validateConfig({}));
});

test('a valid config changes exactly the configurable parts', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: {} });
  const cfg = writeConfig(
    box,
    { user: 'nobody', shebang: '#!/bin/sh', home: '/srv/h', gatewayCommand: '/opt/gw', bootLogMaxBytes: 1024 },
    true,
  );
  const r = await runCli(bootArgs(box.home, box.scandir, '--config', cfg));
  t.is(r.code, 0, r.stderr);
  const run = await readFile(path.join(box.scandir, 'gateway-coder/run'), 'utf8');
  t.true(run.startsWith('#!/bin/sh\n'));
  t.true(run.includes('export HOME=/srv/h\ncd /srv/h\n'));
  t.true(run.endsWith('exec s6-setuidgid nobody /opt/gw -p coder gateway run --replace\n'));
});

test("a config user that /etc/passwd gives another uid than the config's is warned of; one that agrees is not", async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: {} });
  // nobody is 65534 on every Debian: the tests' config says so (TEST_SETTINGS).
  const mismatched = writeConfig(box, { uid: 1234 });
  const r = await bootJson(box.home, box.scandir, ['--config', mismatched]);
  t.is(r.code, 0, r.stderr);
  const warning =
    /^config: user "nobody" is uid 65534 in \/etc\/passwd, not the config's uid 1234: .* set "uid" and "gid" in the config \(--config\) to nobody's ids/;
  t.true(
    (r.doc['warnings'] as string[]).some((w) => warning.test(w)),
    JSON.stringify(r.doc['warnings']),
  );
  t.regex(r.stderr, /warn: config: user "nobody" is uid 65534 in \/etc\/passwd/);
  const agreed = writeConfig(box, {});
  const again = await bootJson(box.home, box.scandir, ['--config', agreed]);
  t.is(again.code, 0, again.stderr);
  t.false(again.stderr.includes('/etc/passwd'), again.stderr);
});

test("--hermes-home on a volume the gateways would not use (the config's home, or another HERMES_HOME) is warned of, and saying where", async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: {} });
  const cfg = writeConfig(box, {});
  const unset = await bootJson(box.home, box.scandir, ['--config', cfg, '--diff'], { env: { HERMES_HOME: '' } });
  t.is(unset.code, 1, unset.stderr);
  const fallback = `the config's home is /tmp, not ${box.home}, the volume this pass reads, and HERMES_HOME is not set: `;
  t.true(
    (unset.doc['warnings'] as string[]).some((w) => w.startsWith(fallback)),
    JSON.stringify(unset.doc['warnings']),
  );
  const other = await bootJson(box.home, box.scandir, ['--config', cfg, '--diff'], { env: { HERMES_HOME: '/srv/elsewhere' } });
  t.regex(
    other.stderr,
    /warn: HERMES_HOME in this environment is \/srv\/elsewhere, not \S+ \(--hermes-home\), the volume this pass reads: .*set HERMES_HOME to /,
  );
  // As in the Hermes image: HERMES_HOME is the volume (the test runner sets it to --hermes-home).
  const same = await bootJson(box.home, box.scandir, ['--config', cfg, '--diff']);
  t.false(same.stderr.includes('the volume this pass reads'), same.stderr);
});

test('RECONCILE_GATEWAYS_CONFIG is the default --config', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const cfg = writeConfig(box, { user: 'nobody' }, true);
  const r = await runCli(bootArgs(box.home, box.scandir), { env: { RECONCILE_GATEWAYS_CONFIG: cfg } });
  t.is(r.code, 0, r.stderr);
  t.true((await readFile(path.join(box.scandir, 'gateway-default/run'), 'utf8')).includes('s6-setuidgid nobody '));
});

const rejected = test.macro({
  async exec(t: ExecutionContext, content: string | undefined, message: RegExp) {
    const box = await sandbox();
    t.teardown(() => box.cleanup());
    await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
    await writeFile(path.join(box.home, 'gateway.pid'), '1\n');
    const cfg = path.join(box.root, 'config.json');
    if (content !== undefined) await writeFile(cfg, content);
    const before = await snapshotTree(box.root);
    const json = await bootJson(box.home, box.scandir, ['--config', cfg]);
    t.is(json.code, 100);
    t.is(json.doc['formatVersion'], '2');
    t.like(json.doc['error'], { code: 'usage', exitCode: 100 });
    t.regex((json.doc['error'] as { message: string }).message, message);
    t.true((await loadValidators()).validatePlan(json.doc), 'the error document matches plan.schema.json');
    const text = await runCli(bootArgs(box.home, box.scandir, '--config', cfg));
    t.is(text.code, 100);
    t.is(text.stdout, '');
    t.regex(text.stderr, /^reconcile-gateways: error: /);
    t.deepEqual(diffSnapshots(before, await snapshotTree(box.root), { ignoreFields: ['mtimeMs'] }), [], 'nothing changed anywhere');
  },
  title: (title = '') => `config error: ${title} exits 100 and changes nothing`,
});

test('an unknown key', rejected, '{"user":"hermes","colour":"blue"}', /: unknown key "colour"; known keys: user, uid, gid, /);
test(
  'a mistyped key',
  rejected,
  '{"gatewayCommnd":"/bin/gw"}',
  /: unknown key "gatewayCommnd" \(did you mean "gatewayCommand"\?\); fix the file/,
);
test('a value outside an enum', rejected, '{"superviseOwner":"nobody"}', /\/superviseOwner: must be one of "user", "root"/);
test(
  'invalid JSON',
  rejected,
  '{"user":',
  /is not valid JSON: Unexpected end of JSON input; fix the file \(\/\S+\/docs\/cli\.md lists every setting\)$/,
);
test(
  'invalid JSON, with where',
  rejected,
  '{\n  "user": "hermes",\n}',
  /is not valid JSON: Expected double-quoted property name at line 3 column 1; fix the file/,
);
test(
  'text after the JSON, with where',
  rejected,
  '{"user": "hermes"}\nx',
  /is not valid JSON: Unexpected non-whitespace character after JSON at line 2 column 1; fix the file/,
);
test('a wrong type', rejected, '{"uid":"10000"}', /\/uid: must be integer/);
test('bootLogMaxBytes below the minimum', rejected, '{"bootLogMaxBytes":100}', /\/bootLogMaxBytes: must be >= 1024/);
test(
  'a shebang with a newline',
  rejected,
  '{"shebang":"#!/bin/sh\\nrm -rf /"}',
  /\/shebang: must be #! and an interpreter, on one line; fix the file/,
);
test(
  'a user name with a capital, said in words',
  rejected,
  '{"user":"Hermes"}',
  /\/user: must be a Unix user name: lower-case letters, digits, '_' and '-', starting with a letter or '_', at most 32 characters; fix/,
);
test('a JSON array', rejected, '[]', /must be object/);
test('a missing file', rejected, undefined, /cannot read config \S+: ENOENT: no such file or directory; check the path given by --config/);
