import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  makeConfigSchema, makeCoreSchema, parseConfig, ConfigError, type ConfigProblem, type BridgeConfig, type CoreConfig,
} from '../../shared/src/config/index.js';

const network = z.strictObject({
  device_name: z.string().default('Tributary').describe('Device name.'),
  reconnect_seconds: z.number().int().min(1).default(5).describe('Reconnect delay.'),
});
const schema = makeConfigSchema('sandbox', network);

/** The problems a ConfigError carries for this raw config. */
function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  try {
    parseConfig(schema, raw, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return [...err.problems];
  }
  assert.fail('expected the config to be rejected');
}

function messageOf(raw: unknown): string {
  try {
    parseConfig(schema, raw);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected the config to be rejected');
}

describe('config schema', () => {
  it('parses {} and undefined to a full config with bridge-name defaults', () => {
    const config = parseConfig(schema, {});
    assert.deepEqual(parseConfig(schema, undefined), config);
    assert.equal(config.homeserver.address, 'http://localhost:8008');
    assert.equal(config.homeserver.domain, 'localhost');
    assert.equal(config.homeserver.max_upload_size_fallback, 50 * 1024 * 1024);
    assert.equal(config.appservice.id, 'sandbox');
    assert.equal(config.appservice.port, 29300);
    assert.equal(config.appservice.username_template, 'sandbox_{userid}');
    assert.equal(config.appservice.alias_template, 'sandbox_{roomid}');
    assert.equal(config.appservice.bot.username, 'sandboxbot');
    assert.equal(config.appservice.as_token, 'generate');
    assert.equal(config.appservice.max_body_bytes, 10 * 1024 * 1024);
    assert.equal(config.bridge.command_prefix, '!sandbox');
    assert.deepEqual(config.bridge.relay, { enabled: false, admin_only: true, message_format: '{sender_displayname}: {message}' });
    assert.deepEqual(config.bridge.backfill, { enabled: true, max_initial_messages: 50, max_catchup_messages: 500 });
    assert.equal(config.bridge.portal_queue_size, 64);
    assert.deepEqual(config.database, { type: 'sqlite', uri: 'tributary.db', max_connections: 10 });
    assert.equal(config.data_dir, './data');
    assert.deepEqual(config.permissions, { '*': 'relay' });
    assert.deepEqual(config.encryption.rotation, { period_ms: 604800000, messages: 100 });
    assert.equal(config.encryption.share_keys_with, 'cross-signed');
    assert.equal(config.logging.level, 'info');
    assert.deepEqual(config.metrics, { enabled: false, hostname: '127.0.0.1', port: 29301 });
    assert.equal(config.provisioning.prefix, '/_matrix/provision');
    assert.deepEqual(config.network, { device_name: 'Tributary', reconnect_seconds: 5 });
  });

  it('keeps given values and fills the rest of a partial section', () => {
    const config = parseConfig(schema, { appservice: { port: 30000, bot: { displayname: 'Bot' } }, permissions: { 'example.org': 'user', '@admin:example.org': 'admin', '*': 'relay' } });
    assert.equal(config.appservice.port, 30000);
    assert.equal(config.appservice.hostname, '127.0.0.1');
    assert.deepEqual(config.appservice.bot, { username: 'sandboxbot', displayname: 'Bot', avatar: '' });
    assert.equal(config.permissions['@admin:example.org'], 'admin');
  });

  it('names the path for a wrong type, with what it got', () => {
    assert.deepEqual(problemsOf({ appservice: { port: 'abc' } }), [
      { path: 'appservice.port', message: 'expected a number between 1 and 65535, got "abc"' },
    ]);
    assert.deepEqual(problemsOf({ bridge: { personal_space: 'yes' } }), [
      { path: 'bridge.personal_space', message: 'expected true or false, got "yes"' },
    ]);
    assert.deepEqual(problemsOf({ homeserver: 5 }), [{ path: 'homeserver', message: 'expected a mapping, got 5' }]);
  });

  it('names the path for out-of-range numbers', () => {
    assert.deepEqual(problemsOf({ metrics: { port: 70000 } }), [
      { path: 'metrics.port', message: 'expected a number between 1 and 65535, got 70000' },
    ]);
    assert.deepEqual(problemsOf({ bridge: { backfill: { max_initial_messages: -1 } } }), [
      { path: 'bridge.backfill.max_initial_messages', message: 'expected a whole number of at least 0, got -1' },
    ]);
  });

  it('rejects unknown keys at every level, naming each key', () => {
    const problems = problemsOf({ appservice: { prot: 1, bot: { nmae: 'x' } }, extra: true, network: { devicename: 'x' } });
    assert.deepEqual(problems.map((p) => p.path).sort(), ['appservice.bot.nmae', 'appservice.prot', 'extra', 'network.devicename']);
    assert.ok(problems.every((p) => p.message === 'unknown key'));
  });

  it('rejects bad permission keys and levels', () => {
    const problems = problemsOf({ permissions: { 'not a domain': 'user', '@nodomain': 'admin', 'example.org': 'owner' } });
    assert.deepEqual(problems.map((p) => p.path).sort(), ['permissions["@nodomain"]', 'permissions["example.org"]', 'permissions["not a domain"]']);
    const level = problems.find((p) => p.path === 'permissions["example.org"]');
    assert.equal(level?.message, 'expected one of "relay", "commands", "user", "admin", got "owner"');
    const key = problems.find((p) => p.path === 'permissions["not a domain"]');
    assert.match(key?.message ?? '', /^invalid key: expected "\*", a server name/);
  });

  it('rejects bad enum values', () => {
    assert.deepEqual(problemsOf({ database: { type: 'mysql' }, logging: { level: 'loud' } }), [
      { path: 'database.type', message: 'expected one of "sqlite", "postgres", got "mysql"' },
      { path: 'logging.level', message: 'expected one of "trace", "debug", "info", "warn", "error", got "loud"' },
    ]);
  });

  it('checks cross-field rules and formats', () => {
    assert.deepEqual(problemsOf({ database: { type: 'postgres', uri: 'tributary.db' } }), [
      { path: 'database.uri', message: 'expected a postgres:// URL when type is postgres, got "tributary.db"' },
    ]);
    assert.equal(parseConfig(schema, { database: { type: 'postgres', uri: 'postgresql://u@h/db' } }).database.type, 'postgres');
    assert.deepEqual(problemsOf({ encryption: { default: true } }).map((p) => p.path), ['encryption.allow']);
    assert.deepEqual(problemsOf({ appservice: { username_template: 'sandbox_' } }), [
      { path: 'appservice.username_template', message: 'must contain {userid} exactly once, got "sandbox_"' },
    ]);
    assert.deepEqual(problemsOf({ homeserver: { address: 'ftp://x' } }).map((p) => p.path), ['homeserver.address']);
    assert.deepEqual(problemsOf({ provisioning: { shared_secret: 'short' } }).map((p) => p.path), ['provisioning.shared_secret']);
    assert.deepEqual(problemsOf({ bridge: { relay: { message_format: '{sender_displayname}' } } }).map((p) => p.path), ['bridge.relay.message_format']);
  });

  it('lists every problem in one message', () => {
    const message = messageOf({ appservice: { port: 'abc' }, logging: { level: 'loud' } });
    assert.match(message, /^Invalid configuration \(2 problems\):\n/);
    assert.ok(message.includes('\n  - appservice.port: expected a number between 1 and 65535, got "abc"'));
    assert.ok(message.includes('\n  - logging.level: '));
  });

  it('reports missing required network fields as required', () => {
    const strictNet = makeConfigSchema('sandbox', z.strictObject({ api_key: z.string() }));
    assert.throws(() => parseConfig(strictNet, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [{ path: 'network.api_key', message: 'is required' }]);
      return true;
    });
  });

  it('makes a plain z.object network section strict too', () => {
    const loose = makeConfigSchema('sandbox', z.object({ a: z.number().default(1) }));
    assert.equal(parseConfig(loose, {}).network.a, 1);
    assert.throws(() => parseConfig(loose, { network: { b: 2 } }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [{ path: 'network.b', message: 'unknown key' }]);
      return true;
    });
  });

  it('types the parsed config as BridgeConfig and CoreConfig', () => {
    const typed: BridgeConfig<z.output<typeof network>> = parseConfig(schema, {});
    const core: CoreConfig = typed;
    assert.equal(typed.network.reconnect_seconds, 5);
    assert.equal(core.appservice.port, 29300);
  });

  it('refuses a bridge name that cannot be a localpart', () => {
    assert.throws(() => makeCoreSchema('Bad Name'), /bridge name "Bad Name"/);
  });
});
