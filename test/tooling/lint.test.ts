/**
 * The layer boundaries and style.md's size limits are enforced by `npm run lint`
 * (eslint.config.js). Each fixture under test/fixtures/lint/<layer>/ breaks one rule on purpose;
 * this proves the rule fires there, names the right rule and import (or function), and stays
 * quiet for the imports the layers may make.
 */
import path from 'node:path';
import test from 'ava';
import { ESLint } from 'eslint';
import { repoRoot } from '../helpers/s6.js';

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly rule: string | null;
  readonly message: string;
}

let findings: Promise<Finding[]> | undefined;

/** Lints every fixture once (ignore off: the main config skips them) and flattens the messages. */
function lintFixtures(): Promise<Finding[]> {
  findings ??= (async () => {
    const root = repoRoot();
    const eslint = new ESLint({ cwd: root, ignore: false });
    const results = await eslint.lintFiles(['test/fixtures/lint/**/*.ts']);
    return results.flatMap((r) =>
      r.messages.map((m) => ({ file: path.relative(root, r.filePath), line: m.line, rule: m.ruleId, message: m.message })),
    );
  })();
  return findings;
}

const violation = test.macro({
  async exec(t, file: string, rule: string, importPath: string) {
    const all = await lintFixtures();
    const here = all.filter((f) => f.file === `test/fixtures/lint/${file}`);
    t.deepEqual(
      here.map((f) => f.rule),
      [rule],
      JSON.stringify(here, null, 2),
    );
    t.true(here[0]?.message.includes(importPath), here[0]?.message);
  },
  title: (_provided, file: string, rule: string) => `lint reports ${rule} in fixture ${file}`,
});

test(violation, 'desired/imports-observe.ts', 'import-x/no-restricted-paths', '../../../../src/observe/parse.js');
test(violation, 'diff/imports-node.ts', 'no-restricted-imports', 'node:fs');
test(violation, 'observe/imports-actuate.ts', 'import-x/no-restricted-paths', '../../../../src/actuate/control.js');
test(violation, 'actuate/imports-observe.ts', 'import-x/no-restricted-paths', '../../../../src/observe/s6-status.js');
test(violation, 'lib/imports-cli.ts', 'import-x/no-restricted-paths', '../../../../src/cli/args.js');
test(violation, 'global/process-chdir.ts', 'no-restricted-properties', 'No process-global tricks');
test(violation, 'global/floating-promise.ts', '@typescript-eslint/no-floating-promises', 'Promises must be awaited');
test(violation, 'global/long-function.ts', 'max-lines-per-function', "'tooLong' has too many lines (41)");
test(violation, 'global/many-params.ts', 'max-params', "'tooMany' has too many parameters (5)");
test(violation, 'global/long-file.ts', 'max-lines', 'File has too many lines (401)');

test('lint accepts a pure layer importing the model, errors and the other pure layer', async (t) => {
  const all = await lintFixtures();
  t.deepEqual(
    all.filter((f) => f.file === 'test/fixtures/lint/desired/imports-model.ts'),
    [],
  );
});

test('lint skips the fixtures in a normal run, so npm run lint stays green', async (t) => {
  const eslint = new ESLint({ cwd: repoRoot() });
  t.true(await eslint.isPathIgnored(path.join(repoRoot(), 'test/fixtures/lint/diff/imports-node.ts')));
});
