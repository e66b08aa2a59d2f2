import assert from 'node:assert/strict';
import { z } from 'zod';
import { makeConfigSchema, parseConfig, ConfigError } from '../../shared/src/config/index.js';

const schema = makeConfigSchema('sandbox', z.strictObject({
  device_name: z.string().default('Tributary').describe('Device name.'),
}));

function rejection(raw: unknown, env: NodeJS.ProcessEnv): ConfigError {
  try {
    parseConfig(schema, raw, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('config env overrides', () => {
  it('sets nested keys with bool and number parsing, over the file value', () => {
    const config = parseConfig(schema, { appservice: { port: 30000 } }, {
      TRIBUTARY_APPSERVICE__PORT: '31000',
      TRIBUTARY_BRIDGE__RELAY__ENABLED: 'true',
      TRIBUTARY_BRIDGE__BACKFILL__MAX_INITIAL_MESSAGES: '7',
      TRIBUTARY_ENCRYPTION__ROTATION__PERIOD_MS: '3600000',
      TRIBUTARY_METRICS__ENABLED: 'false',
    });
    assert.equal(config.appservice.port, 31000);
    assert.equal(config.bridge.relay.enabled, true);
    assert.equal(config.bridge.backfill.max_initial_messages, 7);
    assert.equal(config.encryption.rotation.period_ms, 3600000);
    assert.equal(config.metrics.enabled, false);
  });

  it('matches keys case-insensitively and sets top-level and network keys', () => {
    const config = parseConfig(schema, {}, {
      TRIBUTARY_data_dir: '/var/lib/sandbox',
      TRIBUTARY_Network__Device_Name: 'Phone',
      TRIBUTARY_HOMESERVER__DOMAIN: 'example.org',
    });
    assert.equal(config.data_dir, '/var/lib/sandbox');
    assert.equal(config.network.device_name, 'Phone');
    assert.equal(config.homeserver.domain, 'example.org');
  });

  it('keeps string fields as text even when they look like YAML', () => {
    const config = parseConfig(schema, {}, {
      TRIBUTARY_APPSERVICE__AS_TOKEN: '12345',
      TRIBUTARY_APPSERVICE__BOT__DISPLAYNAME: 'true: bot',
    });
    assert.equal(config.appservice.as_token, '12345');
    assert.equal(config.appservice.bot.displayname, 'true: bot');
  });

  it('sets permission entries and whole sections', () => {
    const config = parseConfig(schema, {}, {
      TRIBUTARY_PERMISSIONS__localhost: 'user',
      TRIBUTARY_LOGGING: '{level: debug}',
    });
    // Like a permissions map in the file, an entry from env replaces the default map.
    assert.deepEqual(config.permissions, { localhost: 'user' });
    assert.equal(config.logging.level, 'debug');
  });

  it('does not modify the raw config object', () => {
    const raw = { appservice: { port: 30000 } };
    parseConfig(schema, raw, { TRIBUTARY_APPSERVICE__PORT: '31000' });
    assert.deepEqual(raw, { appservice: { port: 30000 } });
  });

  it('rejects unknown section paths under the prefix, naming the variable', () => {
    const err = rejection({}, { TRIBUTARY_APPSERVICE__PROT: '1', TRIBUTARY_LOGGING__LEVEL__X: 'y', OTHER_VAR: 'ignored' });
    assert.deepEqual(err.problems, [
      { path: 'TRIBUTARY_APPSERVICE__PROT', message: 'unknown config key "appservice.prot"' },
      { path: 'TRIBUTARY_LOGGING__LEVEL__X', message: '"logging.level" has no key "x"' },
    ]);
  });

  it('leaves prefixed variables without a section alone unless they name a top-level key', () => {
    const cfg = parseConfig(schema, {}, { TRIBUTARY_CACHE: '/tmp/x', TRIBUTARY_DATA_DIR: '/srv/data' });
    assert.equal(cfg.data_dir, '/srv/data');
  });

  it('names the variable when an override has a bad value', () => {
    const err = rejection({}, { TRIBUTARY_APPSERVICE__PORT: 'abc' });
    assert.deepEqual(err.problems, [
      { path: 'appservice.port', message: 'expected a number between 1 and 65535, got "abc" (from TRIBUTARY_APPSERVICE__PORT)' },
    ]);
  });

  it('leaves the logger variable TRIBUTARY_LOG_LEVEL alone', () => {
    assert.equal(parseConfig(schema, {}, { TRIBUTARY_LOG_LEVEL: 'debug' }).logging.level, 'info');
  });
});
