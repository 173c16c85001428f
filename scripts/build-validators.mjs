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
const out = path.join(root, 'dist', 'src', 'generated', 'validators.js');
fs.mkdirSync(path.dirname(out), { recursive: true });
// ajv's ESM output still require()s its runtime helpers (ajv#2209): turn them into imports.
const imports = new Map();
let code = standaloneCode.default(ajv, mapping).replace(/require\("(ajv\/dist\/runtime\/[a-z0-9_]+)"\)/g, (_, mod) => {
  if (!imports.has(mod)) imports.set(mod, `__ajvRuntime${imports.size}`);
  return imports.get(mod);
});
const header = [...imports].map(([mod, id]) => `import ${id} from "${mod}.js";`).join('');
code = code.replace(/^"use strict";/, `"use strict";${header}`);
fs.writeFileSync(out, code);
console.error(`build-validators: ${Object.keys(mapping).length} validators -> ${path.relative(root, out)}`);
