// @ts-check
/**
 * Lint for TypeScript plus the layer boundaries of docs/design (the team style guide's "Boundaries"):
 * `desired` and `diff` are pure and import only the model layer (and each other); `observe` and
 * `actuate` never import each other or the CLI; nothing outside `src/cli` imports the CLI.
 * test/tooling/lint.test.ts proves each boundary fires on a fixture under test/fixtures/lint/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Zones are relative to the repository, wherever eslint is started from. */
const ROOT = path.dirname(fileURLToPath(import.meta.url));

/** The model layer: domain types, errors and shared constants (src/model.ts, src/model/, src/model-*.ts). */
const MODEL = ['**/src/model*', '**/src/model/**', '**/src/errors.ts'];

/** Layer folders, with the fixture folders that break their rules on purpose (test/tooling/lint.test.ts). */
const layer = (name) => [`src/${name}/**`, `test/fixtures/lint/${name}/**`];

const SHARED = 'Move what both need to the model layer (src/model*).';

/**
 * import-x/no-restricted-paths zones: files matching `target` may not import files matching
 * `from` unless they match `except`. Paths are resolved (TypeScript resolver), so `../x.js` means
 * src/x.ts and re-exports count too.
 */
const ZONES = [
  {
    target: [...layer('desired'), ...layer('diff')],
    from: ['src/**', 'test/**'],
    except: [...MODEL, '**/src/desired/**', '**/src/diff/**'],
    message: 'desired and diff are pure: they import only the model layer (src/model*, src/errors.ts) and each other.',
  },
  { target: layer('observe'), from: 'src/actuate/**', message: `observe never imports actuate. ${SHARED}` },
  { target: layer('actuate'), from: 'src/observe/**', message: `actuate never imports observe. ${SHARED}` },
  {
    target: ['src/*.ts', 'src/!(cli)/**', 'test/fixtures/lint/**'],
    from: 'src/cli/**',
    message: 'Nothing outside src/cli imports the CLI: it is the outermost layer.',
  },
];

/** Node built-ins: the pure layers get time, paths and host facts as arguments. */
const NODE_BUILTINS = {
  patterns: [{ group: ['node:*'], message: 'desired and diff are pure: no node:* import (pass the value in as an argument)' }],
  paths: ['fs', 'fs/promises', 'path', 'os', 'child_process', 'process', 'crypto', 'url', 'util', 'events', 'timers'].map((name) => ({
    name,
    message: 'desired and diff are pure: no Node built-in (pass the value in as an argument)',
  })),
};

export default tseslint.config(
  // The lint fixtures break the rules on purpose; test/tooling/lint.test.ts lints them with ignore off.
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/fixtures/lint/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `import('x').T` in a type position is fine; a value import used only as a type is not.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // Escaping control characters is this tool's job (src/escape.ts and the tests that check it).
      'no-control-regex': 'off',
    },
  },
  // A promise nobody awaits: an async step (applying a plan, say) would run on after the caller had
  // closed the descriptors it works through.
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: ROOT } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
  // CommonJS entry points (the bin) load the bundle with require().
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
  {
    files: ['src/**/*.ts', 'src/**/*.cts', 'test/fixtures/lint/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { typescript: { project: path.join(ROOT, 'tsconfig.json') }, node: true } },
    rules: { 'import-x/no-restricted-paths': ['error', { zones: ZONES, basePath: ROOT }] },
  },
  {
    files: ['src/desired/**/*.ts', 'src/diff/**/*.ts', 'test/fixtures/lint/desired/**/*.ts', 'test/fixtures/lint/diff/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', NODE_BUILTINS] },
  },
  // The team style guide's "Comments and size": functions of at most 40 lines (blank and comment lines aside),
  // one options object past four parameters, and a file split before it passes 400 lines.
  {
    files: ['src/**/*.ts', 'src/**/*.cts', 'test/fixtures/lint/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 40, skipBlankLines: true, skipComments: true }],
      'max-params': ['error', 4],
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
    },
  },
  // No process-global state in the tool: `watch` runs for months in one process (issue 14).
  {
    files: ['src/**/*.ts', 'src/**/*.cts', 'test/fixtures/lint/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['chdir', 'umask'].map((property) => ({
          object: 'process',
          property,
          message: 'No process-global tricks: address entries through an open directory (src/safe-fs) and set modes explicitly.',
        })),
      ],
    },
  },
);
