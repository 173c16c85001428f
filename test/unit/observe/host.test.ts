/**
 * src/observe/host.ts: host facts on temp trees. config.yaml is parsed with the real `yaml`
 * library, at most once per (device, inode, size, mtime) of the file when a ConfigCache is kept
 * across passes (issue 16 #2): the parse function handed in counts how often it is asked for.
 * The container argv is read from a fake /proc, hermes' ids from a fake /etc.
 */
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { isCollection, parseDocument, visit } from 'yaml';
import {
  CONFIG_YAML_CAP,
  type ConfigCache,
  type YamlLib,
  accountOf,
  detectContainerArgv,
  hermesIds,
  hostEnv,
  observeConfig,
} from '../../../src/observe/host.js';
import { nonGatewayCommand } from '../../../src/desired/host.js';
import { RC_INIT, WRAPPER } from '../../helpers/argv-shapes.js';
import { makeFifo } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { put, tempRoot } from '../support.js';

const YAML: YamlLib = { parseDocument, visit, isCollection };

/** The real YAML parser, counting how many times a pass asked for it (each call is one parse). */
function countingParser(): { parser: () => YamlLib; readonly parses: number } {
  const state = { parses: 0 };
  return {
    parser: () => {
      state.parses += 1;
      return YAML;
    },
    get parses() {
      return state.parses;
    },
  };
}

function setMtime(file: string, ms: number): void {
  fs.utimesSync(file, new Date(ms), new Date(ms));
}

test('config.yaml is parsed into a document', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'config.yaml', 'gateway:\n  multiplex: true\n');
  t.deepEqual(
    observeConfig(dir, () => YAML),
    { kind: 'parsed', doc: { gateway: { multiplex: true } } },
  );
});

/** A pass clock past RACY_MS after the test's writes, so what they wrote counts as aged. */
const LATER = Date.now() + 60_000;

test('with a cache kept across passes an unchanged config.yaml is parsed once and the same value returned', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'config.yaml', 'a: 1\n');
  const counter = countingParser();
  const cache: ConfigCache = {};
  const first = observeConfig(dir, counter.parser, cache, LATER);
  const second = observeConfig(dir, counter.parser, cache, LATER);
  const third = observeConfig(dir, counter.parser, cache, LATER);
  t.deepEqual(first, { kind: 'parsed', doc: { a: 1 } });
  t.is(second, first, 'the cached parse itself, not a new one');
  t.is(third, first);
  t.is(counter.parses, 1);
});

test('the cache re-parses after config.yaml changes: new size, same size with a new mtime, or a replaced inode', (t) => {
  const { root, dir } = tempRoot(t);
  const file = put(root, 'config.yaml', 'a: 1\n');
  setMtime(file, Date.UTC(2026, 0, 1));
  const counter = countingParser();
  const cache: ConfigCache = {};
  const first = observeConfig(dir, counter.parser, cache, LATER);

  fs.writeFileSync(file, 'a: 22\n');
  setMtime(file, Date.UTC(2026, 0, 1));
  const bigger = observeConfig(dir, counter.parser, cache, LATER);
  t.deepEqual(bigger, { kind: 'parsed', doc: { a: 22 } });
  t.not(bigger, first);

  fs.writeFileSync(file, 'a: 33\n');
  setMtime(file, Date.UTC(2026, 0, 2));
  t.deepEqual(observeConfig(dir, counter.parser, cache, LATER), { kind: 'parsed', doc: { a: 33 } });

  const next = put(root, 'config.new', 'a: 44\n');
  setMtime(next, Date.UTC(2026, 0, 2));
  fs.renameSync(next, file);
  t.deepEqual(observeConfig(dir, counter.parser, cache, LATER), { kind: 'parsed', doc: { a: 44 } });
  t.is(counter.parses, 4);
  t.is(observeConfig(dir, counter.parser, cache, LATER), observeConfig(dir, counter.parser, cache, LATER));
  t.is(counter.parses, 4, 'unchanged again: no further parse');

  // In place, same size, the old mtime put back (cp -p, touch -r): only the ctime tells.
  fs.writeFileSync(file, 'a: 55\n');
  setMtime(file, Date.UTC(2026, 0, 2));
  t.deepEqual(observeConfig(dir, counter.parser, cache, Date.now() + 120_000), { kind: 'parsed', doc: { a: 55 } });
});

test('a config.yaml changed less than RACY_MS before it is read is not kept: a rewrite in the same tick is read', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'config.yaml', 'a: 1\n');
  const counter = countingParser();
  const cache: ConfigCache = {};
  observeConfig(dir, counter.parser, cache);
  observeConfig(dir, counter.parser, cache);
  t.is(counter.parses, 2, 'just written: parsed again');
});

test('without a cache every pass parses again', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'config.yaml', 'a: 1\n');
  const counter = countingParser();
  observeConfig(dir, counter.parser);
  observeConfig(dir, counter.parser);
  t.is(counter.parses, 2);
});

test('a config.yaml removed after it was cached reads as missing', (t) => {
  const { root, dir } = tempRoot(t);
  const file = put(root, 'config.yaml', 'a: 1\n');
  const cache: ConfigCache = {};
  observeConfig(dir, () => YAML, cache);
  fs.unlinkSync(file);
  t.deepEqual(
    observeConfig(dir, () => YAML, cache),
    { kind: 'missing' },
  );
});

test('without config.yaml the parser is never loaded', (t) => {
  const { dir } = tempRoot(t);
  const counter = countingParser();
  t.deepEqual(observeConfig(dir, counter.parser, {}), { kind: 'missing' });
  t.is(counter.parses, 0);
});

const unreadable = test.macro({
  exec(t: ExecutionContext, plant: (root: string) => void, problem: RegExp) {
    const { root, dir } = tempRoot(t);
    plant(root);
    const counter = countingParser();
    const read = observeConfig(dir, counter.parser, {});
    t.is(read.kind, 'unreadable');
    t.regex(read.kind === 'unreadable' ? read.problem : '', problem);
  },
  title: (what = '') => `config.yaml that ${what} is unreadable with a reason`,
});

test(
  'is a symlink (never followed)',
  unreadable,
  (root: string) => {
    put(root, 'real.yaml', 'a: 1\n');
    fs.symlinkSync(path.join(root, 'real.yaml'), path.join(root, 'config.yaml'));
  },
  /^could not be read \(is a symlink\)$/,
);
test(
  'is a FIFO (never blocks)',
  unreadable,
  (root: string) => makeFifo(path.join(root, 'config.yaml')),
  /^could not be read \(is a FIFO\)$/,
);
test(
  'is larger than the cap (never parsed)',
  unreadable,
  (root: string) => {
    put(root, 'config.yaml', `a: "${'x'.repeat(CONFIG_YAML_CAP)}"\n`);
  },
  new RegExp(`^could not be read \\(is larger than ${CONFIG_YAML_CAP} bytes`),
);
test(
  'is not UTF-8',
  unreadable,
  (root: string) => {
    put(root, 'config.yaml', new Uint8Array([0x61, 0x3a, 0x20, 0xff, 0x0a]));
  },
  /^is not valid UTF-8$/,
);
test(
  'is not YAML',
  unreadable,
  (root: string) => {
    put(root, 'config.yaml', 'a: [1, 2\nb: }\n');
  },
  // The error's code and position, never the library's excerpt of the file.
  /^is not valid YAML \(bad indent at line 2, column 1\)$/,
);
test(
  'nests too deep',
  unreadable,
  (root: string) => {
    put(root, 'config.yaml', `a: ${'['.repeat(100)}${']'.repeat(100)}\n`);
  },
  /^nests deeper than 64 levels$/,
);
test(
  'nests maps as keys (PyYAML refuses them; the library re-renders each level, 13 s for 800 bytes)',
  unreadable,
  (root: string) => {
    put(root, 'config.yaml', `multiplex_profiles: true\n${'? '.repeat(400)}a\n`);
  },
  /^is not valid YAML for Hermes \(a map or list as a key at line 2, column 3\)$/,
);
test(
  'has a list as a key',
  unreadable,
  (root: string) => {
    put(root, 'config.yaml', 'multiplex_profiles: true\n[a, b]: 1\n');
  },
  /^is not valid YAML for Hermes \(a map or list as a key at line 2, column 1\)$/,
);
test(
  'holds more than 200 aliases, each of its own anchor',
  unreadable,
  (root: string) => {
    const anchors = Array.from({ length: 300 }, (_, i) => `a${i}: &a${i} ${i}`);
    const uses = Array.from({ length: 300 }, (_, i) => `b${i}: *a${i}`);
    put(root, 'config.yaml', `${[...anchors, ...uses].join('\n')}\n`);
  },
  /^is not valid YAML \(more than 200 aliases\)$/,
);
test(
  'merges one big map into thousands of others (refused by its aliases, not merged map by map)',
  unreadable,
  (root: string) => {
    const big = Array.from({ length: 3000 }, (_, i) => `k${i}: 1`).join(', ');
    const uses = Array.from({ length: 2000 }, (_, i) => `x${i}: {<<: *a}`).join('\n');
    put(root, 'config.yaml', `a: &a {${big}}\n${uses}\n`);
  },
  /^is not valid YAML \(more than 200 aliases\)$/,
);
test(
  "names an alias never anchored, without echoing its name (the file is the volume user's)",
  unreadable,
  (root: string) => {
    put(root, 'config.yaml', `a: *${'X'.repeat(60_000)}\nb: "reconcile: applied service=x"\n`);
  },
  /^is not valid YAML \(an alias with no anchor before it\)$/,
);
test(
  'has a syntax error (reported by its kind and position, without the excerpt the library quotes)',
  unreadable,
  (root: string) => {
    put(root, 'config.yaml', 'a: b: forged-text\n');
  },
  /^is not valid YAML \(block as implicit key at line 1, column 4\)$/,
);

test('hostEnv picks exactly the variables the core reads, by upstream names', (t) => {
  t.deepEqual(hostEnv({ PATH: '/bin', GATEWAY_MULTIPLEX_PROFILES: '1', HERMES_GATEWAY_BOOTSTRAP_STATE: 'running' }), {
    multiplex: '1',
    bootstrapState: 'running',
  });
  t.deepEqual(hostEnv({ HERMES_GATEWAY_NO_SUPERVISE: '' }), { noSupervise: '' });
  // An empty HERMES_HOME is unset to the scripts' ${HERMES_HOME:=home}.
  t.deepEqual(hostEnv({ HERMES_HOME: '/srv/hermes' }), { hermesHome: '/srv/hermes' });
  t.deepEqual(hostEnv({ HERMES_HOME: '/srv//hermes/.' }), { hermesHome: '/srv/hermes' });
  t.deepEqual(hostEnv({ HERMES_HOME: '' }), {});
  t.deepEqual(hostEnv({}), {});
});

test('hermesIds reads the uid from passwd and the gid from group, falling back to passwd', (t) => {
  const { root } = tempRoot(t);
  put(root, 'passwd', 'root:x:0:0::/root:/bin/sh\nhermesbot:x:1:1::/:/bin/sh\nhermes:x:10000:10001::/opt/data:/bin/sh\n');
  put(root, 'group', 'root:x:0:\nhermes:x:10002:\n');
  t.deepEqual(hermesIds(root), { uid: 10000, gid: 10002 });
  fs.unlinkSync(path.join(root, 'group'));
  t.deepEqual(hermesIds(root), { uid: 10000, gid: 10001 });
  put(root, 'passwd', 'hermesx:x:5:5::/:/bin/sh\n');
  t.deepEqual(hermesIds(root), {});
  t.deepEqual(hermesIds(path.join(root, 'missing')), {});
});

test("accountOf reads a user's uid from passwd, and nothing for a missing user, file or number", (t) => {
  const { root } = tempRoot(t);
  put(root, 'passwd', 'root:x:0:0::/root:/bin/sh\nappx:x:7:7::/:/bin/sh\napp:x:1001:1002::/opt/data:/bin/sh\nodd:x:NaN:0::/:/bin/sh\n');
  t.deepEqual(accountOf('app', root), { uid: 1001 });
  t.deepEqual(accountOf('root', root), { uid: 0 });
  t.is(accountOf('ap', root), undefined);
  t.is(accountOf('odd', root), undefined);
  t.is(accountOf('app', path.join(root, 'missing')), undefined);
});

test('a hermes entry whose uid is not a number proposes no ids', (t) => {
  const { root } = tempRoot(t);
  put(root, 'passwd', 'root:x:0:0:root:/root:/bin/sh\nhermes:x:notanumber:x::/:/bin/sh\n');
  t.deepEqual(hermesIds(root), {});
});

/** A fake /proc entry with the given argv as its NUL-separated cmdline, run by `uids` (real, effective, saved, fs). */
function fakeProcess(proc: string, pid: string, argv: readonly string[], uids = '0\t0\t0\t0'): string {
  put(proc, `${pid}/status`, `Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t${uids}\nGid:\t0\t0\t0\t0\n`);
  return path.dirname(put(proc, `${pid}/cmdline`, `${argv.join('\0')}\0`));
}

test('the container argv is PID 1 when it runs main-wrapper.sh', (t) => {
  const { root } = tempRoot(t);
  fakeProcess(root, '1', ['/init', '/opt/main-wrapper.sh', 'gateway', 'run', '--name', 'with space']);
  fakeProcess(root, '7', ['/bin/sh', '/opt/main-wrapper.sh', 'other']);
  t.deepEqual(detectContainerArgv(root), ['/init', '/opt/main-wrapper.sh', 'gateway', 'run', '--name', 'with space']);
});

test('otherwise the oldest process running main-wrapper.sh, and else nothing', (t) => {
  const { root } = tempRoot(t);
  fakeProcess(root, '1', ['/init']);
  fakeProcess(root, '2', ['']); // an empty cmdline (a kernel thread)
  // Oldest by number: 9 before 12, which sorts first as text.
  fakeProcess(root, '12', ['/bin/sh', '/opt/main-wrapper.sh', 'late']);
  fakeProcess(root, '9', ['/bin/sh', '/opt/main-wrapper.sh', 'early']);
  fakeProcess(root, '3', ['/bin/sleep', '1']);
  put(root, 'self/cmdline', '/bin/sh\0/opt/main-wrapper.sh\0self\0');
  t.deepEqual(detectContainerArgv(root), ['/bin/sh', '/opt/main-wrapper.sh', 'early']);
  fs.rmSync(path.join(root, '9'), { recursive: true });
  fs.rmSync(path.join(root, '12'), { recursive: true });
  t.deepEqual(detectContainerArgv(root), []);
  t.deepEqual(detectContainerArgv(path.join(root, 'missing')), []);
});

test('under s6-overlay v3 (PID 1 is s6-svscan) detection scans /proc and finds the rc.init process', (t) => {
  const { root } = tempRoot(t);
  fakeProcess(root, '1', ['s6-svscan', '-d4', '--', '/run/service']);
  fakeProcess(root, '15', ['s6-supervise', 's6-linux-init-shutdownd']);
  fs.mkdirSync(path.join(root, '40')); // gone, or its cmdline unreadable
  put(root, 'self/cmdline', `${WRAPPER}\0`);
  put(root, 'uptime', '1 1\n');
  fakeProcess(root, '57', [...RC_INIT, WRAPPER, 'dashboard', '--host', '0.0.0.0']);
  fakeProcess(root, '300', ['/bin/sh', WRAPPER, 'gateway', 'run']);
  const argv = detectContainerArgv(root);
  t.deepEqual(argv, [...RC_INIT, WRAPPER, 'dashboard', '--host', '0.0.0.0']);
  t.is(nonGatewayCommand(argv), 'dashboard');
});

needsRoot(test)('a process another user owns cannot choose the container argv', (t) => {
  const { root } = tempRoot(t);
  fakeProcess(root, '1', ['/init']);
  const forged = fakeProcess(root, '5', ['/bin/sh', '/opt/main-wrapper.sh', 'forged']);
  fs.chownSync(forged, 65534, 65534);
  fakeProcess(root, '8', ['/bin/sh', '/opt/main-wrapper.sh', 'real']);
  t.deepEqual(detectContainerArgv(root), ['/bin/sh', '/opt/main-wrapper.sh', 'real']);
});

test('a set-user-ID root program another user started (its /proc entry is root’s) cannot choose it either', (t) => {
  const { root } = tempRoot(t);
  fakeProcess(root, '1', ['/init']);
  fakeProcess(root, '5', ['/opt/main-wrapper.sh', 'dashboard'], '65534\t0\t0\t0');
  fakeProcess(root, '8', ['/bin/sh', '/opt/main-wrapper.sh', 'real']);
  t.deepEqual(detectContainerArgv(root), ['/bin/sh', '/opt/main-wrapper.sh', 'real']);
  fs.rmSync(path.join(root, '8', 'status'));
  t.deepEqual(detectContainerArgv(root), [], 'a process whose status cannot be read does not count');
});

test('config.yaml is read as PyYAML (Hermes) reads it: a repeated key takes its last value, aliases and commented brackets are fine, nothing expanded', (t) => {
  const { root, dir } = tempRoot(t);
  const parsed = (text: string): unknown => {
    put(root, 'config.yaml', text);
    const read = observeConfig(dir, () => YAML);
    return read.kind === 'parsed' ? read.doc : read;
  };
  t.like(parsed('multiplex_profiles: false\nmodel: x\nmultiplex_profiles: true\n'), { multiplex_profiles: true });
  t.like(parsed(`a: &a 1\n${Array.from({ length: 60 }, (_, i) => `b${i}: *a`).join('\n')}\n`), { b59: 1 });
  // `<<` stays a plain key holding the map it names; desired merges it where it reads (desired/host.ts).
  t.like(parsed('base: &b\n  multiplex_profiles: true\ngateway:\n  <<: *b\n'), { gateway: { '<<': { multiplex_profiles: true } } });
  // "Billion laughs" (each level ten aliases of the one before): read, each anchor's value shared, never copied.
  const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (const [name, of] of [
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'c'],
    ['e', 'd'],
  ] as const)
    laughs.push(`${name}: &${name} [${Array.from({ length: 10 }, () => `*${of}`).join(', ')}]`);
  const doc = parsed(`multiplex_profiles: true\n${laughs.join('\n')}\n`) as Record<string, unknown[]>;
  t.is(doc['e']?.[0], doc['d'], "an alias is its anchor's value itself");
  // An empty anchor used by many aliases (the library's own alias check re-walked the document for each).
  t.like(
    parsed(`multiplex_profiles: true\ne: &e []\nx: &x [${Array(100).fill('*e').join(', ')}]\nr: [${Array(99).fill('*x').join(', ')}]\n`),
    {
      multiplex_profiles: true,
    },
  );
  const comments = Array.from({ length: 70 }, (_, i) => `  # step ${i}: see [${i}`).join('\n');
  t.like(parsed(`multiplex_profiles: true\n${comments}\n`), { multiplex_profiles: true });
});

test("the YAML library's warnings (an unknown tag) never reach stderr: they quote the file raw", (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'config.yaml', 'multiplex_profiles: !!int foo\u001b[31mRED\n');
  const warnings: unknown[] = [];
  const listener = (w: unknown): void => {
    warnings.push(w);
  };
  process.on('warning', listener);
  t.teardown(() => process.off('warning', listener));
  const emit = process.emitWarning;
  process.emitWarning = ((...args: Parameters<typeof process.emitWarning>) => {
    warnings.push(args[0]);
  }) as typeof process.emitWarning;
  try {
    t.deepEqual(
      observeConfig(dir, () => YAML),
      { kind: 'parsed', doc: { multiplex_profiles: 'foo\u001b[31mRED' } },
    );
  } finally {
    process.emitWarning = emit;
  }
  t.deepEqual(warnings, []);
});
