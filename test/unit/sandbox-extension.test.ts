import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { portalKey, type UserLoginId } from '../../shared/src/network/index.js';
import { SandboxNetwork } from '../../bridges/sandbox/src/server/network.js';
import { NetworkError } from '../../bridges/sandbox/src/server/errors.js';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/server.js';
import { SandboxClient, SandboxClientError } from '../../bridges/sandbox/src/client/index.js';
import { SandboxEventHandler } from '../../bridges/sandbox/src/connector/handle-sandbox.js';
import type { SandboxPort } from '../../bridges/sandbox/src/connector/port.js';
import type { ExtensionContent, MessageContent, WireEvent, WireMessage } from '../../bridges/sandbox/src/wire.js';
import { RecordingLogin, recordingConvertContext } from '../helpers/fake-login.js';

const poll: ExtensionContent = {
  kind: 'extension', network: 'whatsapp', fallback: '📊 Poll: lunch?',
  payload: { pollCreationMessage: { name: 'lunch?', options: [{ optionName: 'pizza' }, { optionName: 'sushi' }], selectableOptionsCount: 1 }, n: 1.5, ok: true, none: null },
};
const text = (t: string): MessageContent => ({ kind: 'text', text: t, entities: [] });
/** An object nested `levels` deep: {a: {a: ... {}}}. */
const nested = (levels: number): Record<string, unknown> => {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NetworkError, `expected NetworkError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a NetworkError');
}

describe('sandbox extension content: the model', () => {
  let net: SandboxNetwork;
  let dm: string;
  beforeEach(() => {
    net = new SandboxNetwork();
    for (const id of ['me', 'alice']) net.createAccount({ id, name: id });
    dm = net.createDm('alice', 'me').chat.id;
  });

  it('stores a copy of the content and sends it to both members', () => {
    const events: WireEvent[] = [];
    net.on('event', (_account, frame) => events.push(frame.event));
    const content = structuredClone(poll);
    const { message } = net.send('alice', dm, content);
    (content.payload as { n: number }).n = 99;
    assert.deepEqual(net.message(message.id).content, poll, 'later changes to the caller\'s object do not leak in');
    assert.deepEqual(events.map((e) => e.type === 'message' && e.message.content), [poll, poll]);
  });

  it('refuses what is not a plain JSON object of at most 64 KiB, storing nothing', () => {
    const events: WireEvent[] = [];
    net.on('event', (_account, frame) => events.push(frame.event));
    const bad: Array<[string, unknown]> = [
      ['array', [1, 2]], ['string', 'x'], ['null', null], ['Date', new Date()], ['Map', new Map()],
      ['NaN inside', { n: Number.NaN }], ['function inside', { f: () => 1 }], ['undefined inside', { u: undefined }],
      ['Date inside', { d: new Date() }], ['too deep', nested(40)], ['too large', { a: 'x'.repeat(65_529) }],
    ];
    for (const [what, payload] of bad) {
      assert.equal(code(() => net.send('alice', dm, { ...poll, payload } as ExtensionContent)), 'bad_request', what);
    }
    assert.equal(code(() => net.send('alice', dm, { ...poll, network: 'WhatsApp' })), 'bad_request', 'upper-case network');
    assert.equal(code(() => net.send('alice', dm, { ...poll, network: 'x'.repeat(33) })), 'bad_request', 'long network');
    assert.equal(code(() => net.send('alice', dm, { ...poll, fallback: '  ' })), 'bad_request', 'blank fallback');
    assert.equal(net.chat(dm).messages.length, 0);
    assert.deepEqual(events, []);
    // The limits themselves are allowed: 64 KiB exactly ({"a":"…"} is 8 bytes plus the string), 10 levels.
    net.send('alice', dm, { ...poll, payload: { a: 'x'.repeat(65_528) } });
    net.send('alice', dm, { ...poll, payload: nested(10) as ExtensionContent['payload'] });
    assert.equal(net.chat(dm).messages.length, 2);
  });

  it('edits only with extension content of the same network', () => {
    const { message } = net.send('alice', dm, poll);
    const closed = { ...poll, payload: { ...poll.payload, closed: true } };
    const edited = net.edit('alice', message.id, closed);
    assert.deepEqual([edited.content, edited.edits[0]?.content, edited.edit_count], [closed, poll, 1]);
    assert.equal(code(() => net.edit('alice', message.id, text('plain'))), 'bad_request');
    assert.equal(code(() => net.edit('alice', message.id, { ...poll, network: 'telegram' })), 'bad_request');
    assert.equal(code(() => net.edit('alice', message.id, { ...poll, payload: [] as never })), 'bad_request');
    assert.equal(net.message(message.id).edit_count, 1, 'refused edits change nothing');
    const plain = net.send('alice', dm, text('hi')).message;
    assert.equal(code(() => net.edit('alice', plain.id, poll)), 'unsupported', 'a text message does not turn into an extension');
  });
});

describe('sandbox extension content: wire, control API and persistence', () => {
  let server: SandboxServer;
  let dir: string | undefined;
  const clients: SandboxClient[] = [];
  const client = (s: SandboxServer, account: string) => {
    const c = new SandboxClient({ url: s.url, token: s.network.account(account).token, reconnect: { minMs: 5, maxMs: 40 } });
    clients.push(c);
    return c;
  };
  const control = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${server.url}/control/${path}`, { method, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
  };
  const dm = encodeURIComponent('dm:alice:me');

  beforeEach(async () => {
    server = await startSandboxServer({ seed: 'demo' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('travels over the wire unchanged; a bad payload is refused with bad_request and not stored', async () => {
    const me = client(server, 'me');
    const alice = client(server, 'alice');
    const got: WireMessage[] = [];
    me.on('event', (e) => {
      if (e.type === 'message') got.push(e.message);
    });
    await me.connect();
    await alice.connect();
    const sent = await alice.send('dm:alice:me', poll);
    assert.deepEqual(sent.content, poll);
    await assert.rejects(alice.send('dm:alice:me', { ...poll, payload: ['not', 'an', 'object'] } as never), (err: unknown) =>
      err instanceof SandboxClientError && err.code === 'bad_request' && /payload must be a JSON object/.test(err.message));
    await assert.rejects(alice.send('dm:alice:me', { ...poll, payload: { a: 'x'.repeat(70_000) } }), (err: unknown) =>
      err instanceof SandboxClientError && err.code === 'bad_request' && /limit is 65536/.test(err.message));
    while (got.length < 1) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got.map((m) => m.content), [poll]);
    assert.equal(server.network.chat('dm:alice:me').messages.length, 1);
  });

  it('is sent and edited through the control API; bad bodies get 400 with a clear message and store nothing', async () => {
    const { kind: _kind, ...extension } = poll;
    const sent = await control('POST', `chats/${dm}/messages`, { as: 'alice', extension });
    assert.equal(sent.status, 201);
    assert.deepEqual(sent.json.content, poll);
    const bad: Array<[unknown, RegExp]> = [
      [{ ...extension, payload: [1] }, /extension\.payload: payload must be a JSON object/],
      [{ ...extension, payload: 'x' }, /payload must be a JSON object/],
      [{ network: 'whatsapp', fallback: 'no payload' }, /payload must be a JSON object/],
      [{ ...extension, payload: nested(40) }, /nests deeper than 32/],
      [{ ...extension, payload: { a: 'x'.repeat(70_000) } }, /limit is 65536/],
      [{ ...extension, network: 'Whats App' }, /extension\.network/],
      [{ ...extension, fallback: '' }, /extension\.fallback/],
      [{ ...extension, fallback: ' ' }, /fallback must not be blank/],
    ];
    for (const [ext, message] of bad) {
      const r = await control('POST', `chats/${dm}/messages`, { as: 'alice', extension: ext });
      assert.deepEqual([r.status, r.json.error?.code], [400, 'bad_request'], JSON.stringify(ext).slice(0, 80));
      assert.match(r.json.error!.message, message);
    }
    const both = await control('POST', `chats/${dm}/messages`, { as: 'alice', text: 'hi', extension });
    assert.match(both.json.error?.message ?? '', /exactly one of .*extension/);
    assert.equal(server.network.chat('dm:alice:me').messages.length, 1, 'only the good one is stored');

    const id = encodeURIComponent(sent.json.id as string);
    const edited = await control('POST', `messages/${id}/edit`, { as: 'alice', extension: { ...extension, fallback: '📊 Poll closed' } });
    assert.deepEqual([edited.status, (edited.json.content as ExtensionContent).fallback], [200, '📊 Poll closed']);
    const asText = await control('POST', `messages/${id}/edit`, { as: 'alice', text: 'nope' });
    assert.deepEqual([asText.status, asText.json.error?.code], [400, 'bad_request']);
    assert.match(asText.json.error!.message, /whatsapp extension content/);
    assert.equal(server.network.message(sent.json.id as string).edit_count, 1);
  });

  it('survives a restart with --state, edits included', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandbox-ext-'));
    const statePath = join(dir, 'state.json');
    await server.close();
    server = await startSandboxServer({ statePath, seed: 'demo', saveDelayMs: 5 });
    const { message } = server.network.send('alice', 'dm:alice:me', poll);
    const closed = { ...poll, payload: { ...poll.payload, closed: true } };
    server.network.edit('alice', message.id, closed);
    const before = server.network.message(message.id);
    await server.close();
    server = await startSandboxServer({ statePath, seed: 'demo', saveDelayMs: 5 });
    const after = server.network.message(message.id);
    assert.deepEqual(after, before);
    assert.deepEqual([after.content, after.edits[0]?.content], [closed, poll]);
    const me = client(server, 'me');
    await me.connect();
    assert.deepEqual((await me.getMessages('dm:alice:me')).messages.at(-1)?.content, closed, 'and reads back over the wire');
  });
});

describe('sandbox connector: extension content', () => {
  const port = new (class extends EventEmitter implements SandboxPort {
    async connect(): Promise<unknown> { return {}; }
    async close(): Promise<void> {}
    request(): never { throw new Error('not used'); }
    ack(): void {}
    async uploadMedia(): Promise<never> { throw new Error('not used'); }
    async downloadMedia(): Promise<{ stream: Readable; size: number; mimetype: string }> { throw new Error('no media in an extension'); }
  })();
  const message: WireMessage = {
    id: 'dm:alice:me/1', chat_id: 'dm:alice:me', seq: 1, sender: 'alice', ts: 1000, content: poll, reply_to: null,
    edits: [], edit_count: 0, deleted: false, reactions: [], delivered_to: [], client_txn_id: null,
  };

  it('renders an extension message, and an edit of one, as a notice with the fallback text', async () => {
    const h = new SandboxEventHandler(new RecordingLogin('me' as UserLoginId), port);
    const ctx = recordingConvertContext(portalKey('dm:alice:me', 'me'), true);
    const [msg] = h.toRemote({ type: 'message', ts: 1000, self: false, chat_id: message.chat_id, message });
    assert.equal(msg?.type, 'message');
    const converted = msg?.type === 'message' ? await msg.convert(ctx) : assert.fail('no message');
    assert.deepEqual(converted.parts, [{ id: '', type: 'm.room.message', content: { msgtype: 'm.notice', body: '📊 Poll: lunch?', entities: [] } }]);
    const closed = { ...message, edit_count: 1, content: { ...poll, fallback: '📊 Poll closed' } };
    const [edit] = h.toRemote({ type: 'edit', ts: 2000, self: false, chat_id: message.chat_id, message: closed });
    const modified = edit?.type === 'edit' ? await edit.convert(ctx, []) : assert.fail('no edit');
    assert.deepEqual(modified.modifiedParts.map((p) => p.content), [{ msgtype: 'm.notice', body: '📊 Poll closed', entities: [] }]);
    assert.deepEqual(ctx.uploads, []);
  });
});
