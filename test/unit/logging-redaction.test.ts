import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { configureLogging, getLogger, REDACTED_KEYS } from '../../shared/src/logging.js';

/** Captures every line written to a PassThrough destination. */
function capture(): { stream: PassThrough; text: () => string; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const text = () => chunks.join('');
  return { stream, text, lines: () => text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** pino writes synchronously to the stream, but the PassThrough emits 'data' on a later tick. */
const flush = () => new Promise<void>((r) => setImmediate(r));

const SECRETS = {
  as: 'AS-SECRET-aaaa1111',
  hs: 'HS-SECRET-bbbb2222',
  access: 'ACCESS-SECRET-cccc3333',
  password: 'PASSWORD-SECRET-dddd4444',
  cookies: 'COOKIE-SECRET-eeee5555',
  metaToken: 'META-TOKEN-SECRET-ffff6666',
  auth: 'Bearer AUTH-SECRET-gggg7777',
};

describe('logging redaction', () => {
  after(() => {
    // Leave a quiet stdout logger for whatever runs next in this process.
    configureLogging({ level: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn' });
  });

  it('keeps secrets out of log lines while ordinary fields pass', async () => {
    const out = capture();
    configureLogging({ level: 'info', destination: out.stream });
    const log = getLogger('test-redaction');
    log.info({ as_token: SECRETS.as, hs_token: SECRETS.hs, room: '!visible:example.org' }, 'registration loaded');
    log.info({ access_token: SECRETS.access, user: '@alice:example.org' }, 'login');
    log.info({ password: SECRETS.password, username: 'alice' }, 'password login');
    log.info({ cookies: SECRETS.cookies, count: 3 }, 'meta cookies');
    log.info({ login: { id: 'login1', metadata: { token: SECRETS.metaToken, since: 42 } } }, 'login row');
    log.info({ metadata: { token: SECRETS.metaToken } }, 'metadata');
    log.info({ req: { method: 'PUT', url: '/_matrix/app/v1/transactions/1', headers: { authorization: SECRETS.auth, 'user-agent': 'Synapse' } } }, 'request');
    log.info({ headers: { authorization: SECRETS.auth, host: 'localhost' } }, 'outgoing request');
    log.info({ err: { cause: { body: { token: SECRETS.metaToken, errcode: 'M_X' } } } }, 'deep');
    await flush();

    const text = out.text();
    for (const [name, value] of Object.entries(SECRETS)) {
      assert.ok(!text.includes(value), `${name} leaked: ${text}`);
    }
    assert.ok(!text.includes('AUTH-SECRET'), 'no part of the bearer token leaks');
    const lines = out.lines();
    assert.equal(lines.length, 9);
    // Ordinary fields are intact and secrets are replaced, not silently dropped.
    assert.equal(lines[0]!.room, '!visible:example.org');
    assert.equal(lines[0]!.as_token, '[redacted]');
    assert.equal(lines[0]!.module, 'test-redaction');
    assert.equal(lines[1]!.user, '@alice:example.org');
    assert.equal(lines[2]!.username, 'alice');
    assert.equal(lines[3]!.count, 3);
    assert.deepEqual(lines[4]!.login, { id: 'login1', metadata: { token: '[redacted]', since: 42 } });
    assert.deepEqual(lines[5]!.metadata, { token: '[redacted]' });
    const req = lines[6]!.req as { method: string; headers: Record<string, unknown> };
    assert.equal(req.method, 'PUT');
    assert.deepEqual(req.headers, { authorization: '[redacted]', 'user-agent': 'Synapse' });
    assert.deepEqual(lines[7]!.headers, { authorization: '[redacted]', host: 'localhost' });
    assert.equal(lines[7]!.msg, 'outgoing request');
    assert.deepEqual(lines[8]!.err, { cause: { body: { token: '[redacted]', errcode: 'M_X' } } });
  });

  it('redacts in child loggers and their bindings too', async () => {
    const out = capture();
    configureLogging({ level: 'info', destination: out.stream });
    const child = getLogger('test-child', { room: '!r:example.org' }).child({ cookies: SECRETS.cookies });
    child.warn({ session: 'SESSION-SECRET-hhhh8888', kept: 'yes' }, 'child line');
    await flush();
    const text = out.text();
    assert.ok(!text.includes(SECRETS.cookies), text);
    assert.ok(!text.includes('SESSION-SECRET'), text);
    const [line] = out.lines();
    assert.equal(line!.kept, 'yes');
    assert.equal(line!.room, '!r:example.org');
  });

  it('names the keys the design requires', () => {
    for (const k of ['as_token', 'hs_token', 'access_token', 'password', 'cookies', 'token', 'authorization']) {
      assert.ok(REDACTED_KEYS.includes(k), k);
    }
  });

  it('applies to module loggers made before configureLogging (destination and level)', async () => {
    // Modules take their logger at import time, before main() configures logging.
    const early = getLogger('test-early');
    const out = capture();
    configureLogging({ level: 'warn', destination: out.stream });
    early.info({ note: 'below the configured level' }, 'info line');
    early.warn({ password: SECRETS.password, note: 'visible' }, 'warn line');
    await flush();
    const lines = out.lines();
    assert.deepEqual(lines.map((l) => l.msg), ['warn line']);
    assert.equal(lines[0]!.module, 'test-early');
    assert.equal(lines[0]!.password, '[redacted]');
    assert.ok(!out.text().includes(SECRETS.password));
  });
});
