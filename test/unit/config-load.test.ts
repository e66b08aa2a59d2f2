import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { makeConfigSchema, loadConfig, ConfigError, resolveDataPath } from '../../shared/src/config/index.js';

const schema = makeConfigSchema('sandbox', z.strictObject({}));

describe('config loading from YAML', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tributary-config-')); });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  it('reads a YAML file and applies env overrides', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, '# comment\nappservice:\n  port: 30001\nhomeserver:\n  domain: example.org\n');
    const config = loadConfig(schema, file, { TRIBUTARY_METRICS__ENABLED: 'true' });
    assert.equal(config.appservice.port, 30001);
    assert.equal(config.homeserver.domain, 'example.org');
    assert.equal(config.metrics.enabled, true);
  });

  it('treats an empty file as all defaults', () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, '# nothing here\n');
    assert.equal(loadConfig(schema, file, {}).appservice.port, 29300);
  });

  it('explains a missing file with its path and the -e hint', () => {
    const file = join(dir, 'missing.yaml');
    assert.throws(() => loadConfig(schema, file, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.includes(file), err.message);
      assert.match(err.message, /-e/);
      return true;
    });
  });

  it('names the file and the line of a YAML syntax error', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'appservice:\n  port: 1\n  port: 2\n');
    assert.throws(() => loadConfig(schema, file, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.startsWith(`${file} is not valid YAML:`), err.message);
      assert.match(err.problems[0]?.path ?? '', /^line 3, column \d+$/);
      return true;
    });
  });

  it('names the file when a value is invalid', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'appservice:\n  port: abc\n');
    assert.throws(() => loadConfig(schema, file, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.startsWith(`Invalid configuration in ${file} (1 problem):`), err.message);
      assert.ok(err.message.includes('  - appservice.port: expected a number between 1 and 65535, got "abc"'));
      return true;
    });
  });

  it('resolves data paths against data_dir', () => {
    assert.equal(resolveDataPath({ data_dir: './data' }, 'tributary.db'), join('data', 'tributary.db'));
    assert.equal(resolveDataPath({ data_dir: './data' }, '/abs/x.key'), '/abs/x.key');
  });
});
