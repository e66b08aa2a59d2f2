import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  makeConfigSchema, parseConfig, buildRegistration, renderRegistrationYaml, generateToken,
  ghostUserId, parseGhostUserId, botUserId, encodeLocalpart, decodeLocalpart, ConfigError,
} from '../../shared/src/config/index.js';

const schema = makeConfigSchema('sandbox', z.strictObject({}));
const tokens = { as_token: 'a'.repeat(64), hs_token: 'b'.repeat(64) };
const config = parseConfig(schema, { appservice: tokens });

/** Python's re (Synapse) and JS agree on these simple patterns. */
function matches(regex: string, text: string): boolean {
  return new RegExp(regex).test(text);
}

describe('config registration', () => {
  it('builds the registration from the config', () => {
    const reg = buildRegistration(config);
    assert.equal(reg.id, 'sandbox');
    assert.equal(reg.url, 'http://localhost:29300');
    assert.equal(reg.as_token, tokens.as_token);
    assert.equal(reg.hs_token, tokens.hs_token);
    assert.equal(reg.sender_localpart, 'sandboxbot');
    assert.equal(reg.rate_limited, false);
    assert.equal(reg.receive_ephemeral, true);
    assert.equal(reg['de.sorunome.msc2409.push_ephemeral'], true);
    assert.equal(reg['org.matrix.msc3202'], true);
    assert.equal(reg['io.element.msc4190'], true);
    assert.deepEqual(reg.namespaces, {
      users: [
        { regex: '^@sandboxbot:localhost$', exclusive: true },
        { regex: '^@sandbox_.+:localhost$', exclusive: true },
      ],
      aliases: [{ regex: '^#sandbox_.+:localhost$', exclusive: true }],
      rooms: [],
    });
  });

  it('namespace regexes match ghosts and the bot, not normal users', () => {
    const [bot, ghosts] = buildRegistration(config).namespaces.users;
    assert.ok(bot && ghosts);
    const ghost = ghostUserId(config, '+15551234567');
    assert.ok(matches(ghosts.regex, ghost));
    assert.ok(matches(bot.regex, botUserId(config)));
    for (const user of ['@alice:localhost', '@sandbox_x:example.org', '@sandboxbot2:localhost', '@xsandbox_y:localhost']) {
      assert.ok(!matches(ghosts.regex, user) && !matches(bot.regex, user), user);
    }
  });

  it('escapes the domain and template in the regexes', () => {
    const other = parseConfig(schema, { homeserver: { domain: 'matrix.example.org' }, appservice: { ...tokens, username_template: 'wa.{userid}.ghost' } });
    const users = buildRegistration(other).namespaces.users;
    assert.equal(users[1]?.regex, '^@wa\\..+\\.ghost:matrix\\.example\\.org$');
    assert.ok(matches(users[1]?.regex ?? '', ghostUserId(other, 'Bob')));
    assert.ok(!matches(users[1]?.regex ?? '', '@waX1.ghost:matrixXexample.org'));
  });

  it('follows ephemeral_events and the options', () => {
    const quiet = parseConfig(schema, { appservice: { ...tokens, ephemeral_events: false } });
    const reg = buildRegistration(quiet, { url: 'http://bridge:1', msc4190: false });
    assert.equal(reg.receive_ephemeral, false);
    assert.equal(reg['de.sorunome.msc2409.push_ephemeral'], false);
    assert.equal(reg.url, 'http://bridge:1');
    assert.equal(reg['io.element.msc4190'], false);
  });

  it('refuses to build with "generate" tokens', () => {
    assert.throws(() => buildRegistration(parseConfig(schema, {})), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems[0]?.path, 'appservice.as_token');
      return true;
    });
  });

  it('renders YAML that parses back to the registration', () => {
    const reg = buildRegistration(config);
    const text = renderRegistrationYaml(reg);
    assert.match(text, /^# Appservice registration for sandbox/);
    assert.deepEqual(parse(text), reg);
  });

  it('generates 64-hex-character tokens that differ', () => {
    const a = generateToken();
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, generateToken());
  });
});

describe('ghost user ids', () => {
  const tricky = [
    'alice', 'Alice', 'ALICE', 'alice_', '__x__', 'a b c', '+15551234567', '4915123456789@s.whatsapp.net',
    'Zoë', '日本語', '👍🏽 emoji', 'a=b', '=3d', 'x/y.z-w', 'tab\there', 'line\nbreak', '_a',
  ];

  it('round-trips tricky remote ids and keeps them apart', () => {
    const seen = new Set<string>();
    for (const id of tricky) {
      const mxid = ghostUserId(config, id);
      assert.match(mxid, /^@sandbox_[a-z0-9._=/-]+:localhost$/, mxid);
      assert.equal(parseGhostUserId(config, mxid), id, mxid);
      seen.add(mxid);
    }
    assert.equal(seen.size, tricky.length);
  });

  it('encodes per the spec mapping', () => {
    assert.equal(encodeLocalpart('Alice_B'), '_alice___b');
    assert.equal(encodeLocalpart('+1 555'), '=2b1=20555');
    assert.equal(encodeLocalpart('ë'), '=c3=ab');
    assert.equal(ghostUserId(config, 'Bob'), '@sandbox__bob:localhost');
  });

  it('rejects user ids that are not canonical ghosts', () => {
    for (const mxid of [
      '@alice:localhost', '@sandbox_:localhost', '@sandbox_x:example.org', '@sandboxbot:localhost',
      '@sandbox_=41:localhost', '@sandbox_=zz:localhost', '@sandbox__:localhost', '@sandbox_A:localhost',
      '@sandbox_=ff:localhost', 'sandbox_x:localhost',
    ]) {
      assert.equal(parseGhostUserId(config, mxid), undefined, mxid);
    }
    assert.equal(decodeLocalpart('=41'), undefined);
  });

  it('refuses empty and overlong remote ids', () => {
    assert.throws(() => ghostUserId(config, ''), /empty/);
    assert.throws(() => ghostUserId(config, 'x'.repeat(300)), /exceeds 255 bytes/);
  });

  it('gives the bot user id', () => {
    assert.equal(botUserId(config), '@sandboxbot:localhost');
  });
});
