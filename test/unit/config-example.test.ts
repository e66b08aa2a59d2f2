import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { z } from 'zod';
import { makeConfigSchema, parseConfig, renderExampleConfig } from '../../shared/src/config/index.js';

const network = z.strictObject({
  device_name: z.string().default('Tributary').describe('Device name shown on the phone.'),
  proxies: z.array(z.string()).default(['socks5://a', 'socks5://b']).describe('Proxies, tried in order.'),
  limits: z.strictObject({
    per_minute: z.number().int().default(30).describe('Sends per minute.'),
  }).prefault({}).describe('Send limits.'),
});
const schema = makeConfigSchema('sandbox', network);

describe('config example YAML', () => {
  const text = renderExampleConfig(schema, { header: ['Example config for sandbox.'] });

  it('re-parses to exactly the defaults', () => {
    assert.deepEqual(parseConfig(schema, parse(text)), parseConfig(schema, {}));
  });

  it('contains every key of the defaults, nested the same way', () => {
    assert.deepEqual(parse(text), parseConfig(schema, {}));
  });

  it('puts each description as a comment right above its key', () => {
    const lines = text.split('\n');
    const at = (line: string) => lines.indexOf(line);
    assert.equal(lines[0], '# Example config for sandbox.');
    assert.equal(lines[at('  port: 29300') - 1], '  # Port the appservice HTTP listener binds to.');
    assert.equal(lines[at('appservice:') - 1], '# The appservice: how the homeserver reaches the bridge, and its registration.');
    assert.equal(lines[at('    max_initial_messages: 50') - 1], '    # Messages fetched when a portal room is created.');
    assert.equal(lines[at('  device_name: Tributary') - 1], '  # Device name shown on the phone.');
    assert.equal(lines[at('    per_minute: 30') - 1], '    # Sends per minute.');
  });

  it('gives every key of the core schema a description', () => {
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      const isKey = /^\s*[A-Za-z_"][^#]*:( |$)/.test(line);
      if (!isKey || /^\s*"\*"/.test(line)) continue;
      assert.match(lines[i - 1] ?? '', /^\s*#/, `no comment above: ${line}`);
    }
  });

  it('quotes what YAML would misread and shows permission hints commented out', () => {
    assert.ok(text.includes('  command_prefix: "!sandbox"\n'));
    assert.ok(text.includes('permissions:\n  "*": relay\n  # localhost: user\n'));
  });

  it('is deterministic', () => {
    assert.equal(renderExampleConfig(schema, { header: ['Example config for sandbox.'] }), text);
  });

  it('shows a required network field with its example value', () => {
    const required = makeConfigSchema('sandbox', z.strictObject({ api_key: z.string().meta({ description: 'API key.', example: 'your key' }) }));
    const out = renderExampleConfig(required);
    assert.ok(out.endsWith('network:\n  # API key.\n  api_key: your key\n'), out.slice(-80));
    assert.equal(parseConfig(required, parse(out)).network.api_key, 'your key');
  });
});
