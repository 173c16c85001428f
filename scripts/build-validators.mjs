// Precompiles every JSON schema in schemas/ into CommonJS modules of ajv standalone validators
// (dist/src/generated/*.cjs), so the CLI never compiles a schema at start-up. CommonJS, because
// the CLI runs as a classic script (scripts/bundle.mjs), which can require() but not import().
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const schemas = {
  validateConfig: 'config.schema.json',
  validatePlan: 'plan.schema.json',
  validateOwnership: 'ownership.schema.json',
  validateRestarts: 'restarts.schema.json',
  validateStatusFile: 'status-file.schema.json',
  validateStatusReport: 'status-report.schema.json',
  validateWatchLine: 'watch-line.schema.json',
};
const ajv = new Ajv({ code: { source: true }, allErrors: true, strict: true });
const mapping = {};
for (const [name, file] of Object.entries(schemas)) {
  const p = path.join(root, 'schemas', file);
  if (!fs.existsSync(p)) continue;
  const schema = JSON.parse(fs.readFileSync(p, 'utf8'));
  ajv.addSchema(schema);
  mapping[name] = schema.$id;
}
const dir = path.join(root, 'dist', 'src', 'generated');
fs.mkdirSync(dir, { recursive: true });

// One module with every validator (tests, status), and one per validator so that a command loads
// only what it validates: `boot --config` needs the config schema, not the 200 KB of all of them.
for (const old of fs.readdirSync(dir).filter((n) => n.endsWith('.js'))) fs.rmSync(path.join(dir, old)); // ESM of older builds
fs.writeFileSync(path.join(dir, 'validators.cjs'), standaloneCode.default(ajv, mapping));
for (const [name, id] of Object.entries(mapping))
  fs.writeFileSync(path.join(dir, `${name}.cjs`), standaloneCode.default(ajv, { [name]: id }));
console.error(`build-validators: ${Object.keys(mapping).length} validators -> ${path.relative(root, dir)}/`);
