// Precompiles every JSON schema in schemas/ into one ESM module of ajv standalone validators
// (dist/src/generated/validators.js), so the CLI never compiles a schema at start-up.
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
};
const ajv = new Ajv({ code: { source: true, esm: true }, allErrors: true, strict: true });
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

/** ajv's ESM output still require()s its runtime helpers (ajv#2209): turn them into imports. */
function esmCode(subset) {
  const imports = new Map();
  const code = standaloneCode.default(ajv, subset).replace(/require\("(ajv\/dist\/runtime\/[a-z0-9_]+)"\)/g, (_, mod) => {
    if (!imports.has(mod)) imports.set(mod, `__ajvRuntime${imports.size}`);
    return imports.get(mod);
  });
  const header = [...imports].map(([mod, id]) => `import ${id} from "${mod}.js";`).join('');
  return code.replace(/^"use strict";/, `"use strict";${header}`);
}

// One module with every validator (tests, status), and one per validator so that a command loads
// only what it validates: `boot --config` needs the config schema, not the 200 KB of all of them.
fs.writeFileSync(path.join(dir, 'validators.js'), esmCode(mapping));
for (const [name, id] of Object.entries(mapping)) fs.writeFileSync(path.join(dir, `${name}.js`), esmCode({ [name]: id }));
console.error(`build-validators: ${Object.keys(mapping).length} validators -> ${path.relative(root, dir)}/`);
