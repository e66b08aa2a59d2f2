import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  makeConfigSchema, parseConfig, renderExampleConfig, fillGeneratedSecrets, assertSecretsGenerated,
  buildRegistration, ConfigError,
} from '../../shared/src/config/index.js';

const schema = makeConfigSchema('sandbox', z.strictObject({}));
const HEX64 = /^[0-9a-f]{64}$/;

/** Lines that differ between two texts of the same line count. */
function changedLines(a: string, b: string): string[] {
  const la = a.split('\n');
  const lb = b.split('\n');
  assert.equal(la.length, lb.length);
  return lb.filter((line, i) => line !== la[i]);
}

describe('config secrets', () => {
  it('fills the four "generate" values in the example and nothing else', () => {
    const example = renderExampleConfig(schema);
    const { text, changed } = fillGeneratedSecrets(example);
    assert.equal(changed, true);
    const diff = changedLines(example, text);
    assert.equal(diff.length, 4);
    assert.match(diff[0] ?? '', /^ {2}as_token: [0-9a-f]{64}$/);
    assert.match(diff[1] ?? '', /^ {2}hs_token: [0-9a-f]{64}$/);
    // The double-puppet token sits in the bridge section, between the two.
    assert.match(diff[2] ?? '', /^ {4}as_token: [0-9a-f]{64}$/);
    assert.match(diff[3] ?? '', /^ {2}shared_secret: [0-9a-f]{64}$/);
    const config = parseConfig(schema, parse(text));
    assert.notEqual(config.appservice.as_token, config.appservice.hs_token);
    assert.match(config.provisioning.shared_secret, HEX64);
    assertSecretsGenerated(config);
    assert.equal(buildRegistration(config).as_token, config.appservice.as_token);
  });

  it('keeps comments, quoting and other values, including inline comments', () => {
    const input = [
      '# top comment',
      'appservice:',
      '  # the token',
      '  as_token: "generate" # replaced',
      '  hs_token: keep-this-one',
      '  port: 29300',
      'provisioning:',
      '  shared_secret: disable',
      'bridge:',
      '  double_puppet:',
      '    as_token: already-set',
      '',
    ].join('\n');
    const { text, changed } = fillGeneratedSecrets(input);
    assert.equal(changed, true);
    const diff = changedLines(input, text);
    assert.equal(diff.length, 1);
    assert.match(diff[0] ?? '', /^ {2}as_token: [0-9a-f]{64} # replaced$/);
  });

  it('reports no change when nothing is "generate"', () => {
    const input = 'appservice:\n  as_token: x1\n  hs_token: x2\nprovisioning:\n  shared_secret: disable\nbridge:\n  double_puppet:\n    as_token: x3\n';
    assert.deepEqual(fillGeneratedSecrets(input), { text: input, changed: false });
  });

  it('adds secrets that are missing from the file (they default to "generate")', () => {
    const input = '# minimal\nappservice:\n  port: 29333\n';
    const { text, changed } = fillGeneratedSecrets(input);
    assert.equal(changed, true);
    assert.ok(text.startsWith('# minimal\n'));
    const raw = parse(text) as { appservice: Record<string, unknown>; provisioning: Record<string, unknown> };
    assert.equal(raw.appservice.port, 29333);
    assert.match(String(raw.appservice.as_token), HEX64);
    assert.match(String(raw.appservice.hs_token), HEX64);
    assert.match(String(raw.provisioning.shared_secret), HEX64);

    const empty = fillGeneratedSecrets('# only a comment\n');
    assert.ok(empty.text.startsWith('# only a comment\n'));
    assert.match(String((parse(empty.text) as { appservice: { as_token: string } }).appservice.as_token), HEX64);
  });

  it('explains a section it cannot add secrets to', () => {
    assert.throws(() => fillGeneratedSecrets('appservice:\n'), (err: unknown) => err instanceof ConfigError && /appservice\.as_token/.test(err.message));
  });

  it('refuses to run with secrets still "generate"', () => {
    assert.throws(() => assertSecretsGenerated(parseConfig(schema, {})), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.path), ['appservice.as_token', 'appservice.hs_token', 'provisioning.shared_secret']);
      return true;
    });
  });
});
