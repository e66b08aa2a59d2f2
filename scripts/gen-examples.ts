/**
 * Writes config/<bridge>.example.yaml and registration/<bridge>.example.yaml from the config
 * schema. With --check, compares instead and exits 1 when a checked-in file is stale.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildRegistration, buildDoublePuppetRegistration, makeConfigSchema, parseConfig, renderExampleConfig, renderRegistrationYaml } from '../shared/src/config/index.js';
import { BRIDGES } from './bridges.js';

const ROOT = resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
let stale = 0;

function emit(path: string, text: string): void {
  const full = join(ROOT, path);
  if (check) {
    if (!existsSync(full) || readFileSync(full, 'utf8') !== text) {
      console.error(`${path} is stale; run npm run gen`);
      stale++;
    }
  } else {
    writeFileSync(full, text);
    console.log(`wrote ${path}`);
  }
}

const reference: string[] = [
  '# Configuration reference',
  '',
  'Generated from the config schema by `npm run gen`; do not edit by hand. Every key, its default and',
  'what it does, per bridge. Any key can be overridden from the environment as',
  '`TRIBUTARY_<SECTION>__<KEY>=value` (for example `TRIBUTARY_APPSERVICE__PORT=29333`); values are read',
  'as YAML scalars, and an unknown section path is an error that names the variable.',
];
for (const b of BRIDGES) {
  const schema = makeConfigSchema(b.name, b.schema);
  const exampleText = renderExampleConfig(schema);
  emit(`config/${b.name}.example.yaml`, exampleText);
  reference.push('', `## ${b.name}`, '', '```yaml', exampleText.trimEnd(), '```');
  const example = parseConfig(schema, {
    appservice: { as_token: 'CHANGE_ME_AS_TOKEN_generated_by_-g', hs_token: 'CHANGE_ME_HS_TOKEN_generated_by_-g' },
    bridge: { double_puppet: { as_token: 'CHANGE_ME_DOUBLE_PUPPET_TOKEN_generated_by_-g' } },
  });
  emit(`registration/${b.name}.example.yaml`, renderRegistrationYaml(buildRegistration(example as never)));
  emit(`registration/${b.name}-doublepuppet.example.yaml`, renderRegistrationYaml(buildDoublePuppetRegistration(example as never)));
}
emit('docs/config-reference.md', reference.join('\n') + '\n');
if (check) {
  if (stale) process.exit(1);
  console.log('examples are up to date');
}
