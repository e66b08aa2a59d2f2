import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type {
  ConvertContext, MatrixMessage, QueuedEvent, RemoteEvent, RemotePresence, UserLoginHandle,
} from '../../shared/src/network/index.js';
import { portalKey } from '../../shared/src/network/index.js';
import { getLogger } from '../../shared/src/logging.js';
import { SandboxEventHandler } from '../../bridges/sandbox/src/connector/handle-sandbox.js';
import { matrixToWire } from '../../bridges/sandbox/src/connector/msgconv.js';
import type { SandboxPort } from '../../bridges/sandbox/src/connector/port.js';
import type { WireChat, WireEvent, WireMessage } from '../../bridges/sandbox/src/wire.js';

const ME = 'alice';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

/** A UserLoginHandle that records what the connector reports; `handled` promises are ours to settle. */
class FakeLogin implements UserLoginHandle {
  readonly id = ME as UserLoginHandle['id'];
  readonly userMxid = '@alice:example.org';
  readonly remoteName = 'Alice';
  readonly log = getLogger('test-sandbox-connector');
  metadata: Record<string, unknown> = {};
  readonly queued: RemoteEvent[] = [];
  readonly gates: Array<{ promise: Promise<void>; resolve: () => void }> = [];
  readonly saves: Array<Record<string, unknown>> = [];
  readonly presence: RemotePresence[] = [];
  readonly logouts: string[] = [];
  /** When false, every queued event's `handled` waits for the test to resolve its gate. */
  autoHandle = true;

  async saveMetadata(patch: Record<string, unknown>): Promise<void> {
    this.saves.push(patch);
    this.metadata = { ...this.metadata, ...patch };
  }

  async queueRemoteEvent(evt: RemoteEvent): Promise<QueuedEvent> {
    this.queued.push(evt);
    const gate = deferred();
    this.gates.push(gate);
    if (this.autoHandle) gate.resolve();
    return { handled: gate.promise };
  }

  updatePresence(p: RemotePresence): void {
    this.presence.push(p);
  }

  setBridgeState(): void {}

  async handleRemoteLogout(reason: string): Promise<void> {
    this.logouts.push(reason);
  }

  async updateGhost(): Promise<void> {}
  async sendProgressNotice(): Promise<void> {}
  async getMessageMetadata(): Promise<undefined> {
    return undefined;
  }
}

class FakePort extends EventEmitter implements SandboxPort {
  readonly acks: number[] = [];
  readonly uploads: Array<{ mimetype: string; data: string }> = [];
  async connect(): Promise<unknown> { return {}; }
  async close(): Promise<void> {}
  request(): never { throw new Error('not used in this test'); }
  ack(seq: number): void { this.acks.push(seq); }
  async uploadMedia(body: Buffer | Readable, mimetype: string) {
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(body)) chunks.push(body);
    else for await (const c of body) chunks.push(c as Buffer);
    const data = Buffer.concat(chunks).toString('utf8');
    this.uploads.push({ mimetype, data });
    return { media_id: 'm1', mimetype, size: data.length };
  }
  async downloadMedia(id: string) {
    return { stream: Readable.from([Buffer.from(`media ${id}`)]), size: 8, mimetype: 'image/png' };
  }
}

function wireMessage(over: Partial<WireMessage> = {}): WireMessage {
  return {
    id: 'msg1', chat_id: 'group:g1', seq: 1, sender: 'bob', ts: 1000, content: { kind: 'text', text: 'hello', entities: [] },
    reply_to: null, edits: [], edit_count: 0, deleted: false, reactions: [], delivered_to: [], client_txn_id: null, ...over,
  };
}

function chat(over: Partial<WireChat> = {}): WireChat {
  return {
    id: 'group:g1', type: 'group', name: 'Group One', topic: null, avatar: null,
    members: [{ user_id: ME, role: 'owner' }, { user_id: 'bob', role: 'member' }],
    created_at: 1, last_message_id: null, read_receipts: {}, disappear_ms: null, ...over,
  };
}

/** A ConvertContext recording what the converter asked for. */
function convertContext(): ConvertContext & { texts: Array<[unknown, string | undefined]> } {
  const texts: Array<[unknown, string | undefined]> = [];
  const ctx: Pick<ConvertContext, 'portal' | 'matrixUserIdFor' | 'textContent'> = {
    portal: { key: portalKey('group:g1'), roomId: '!r:example.org', isDm: false },
    matrixUserIdFor: (u) => `@sandbox_${u}:example.org`,
    textContent: (text, msgtype = 'm.text') => {
      texts.push([text, msgtype]);
      return { msgtype, body: text.text };
    },
  };
  const uploadMedia = async () => ({ url: 'mxc://example.org/abc', size: 8 });
  return { ...ctx, uploadMedia, texts } as unknown as ConvertContext & { texts: Array<[unknown, string | undefined]> };
}

describe('SandboxEventHandler: wire events -> RemoteEvents', () => {
  let login: FakeLogin;
  let port: FakePort;
  let h: SandboxEventHandler;
  beforeEach(() => {
    login = new FakeLogin();
    port = new FakePort();
    h = new SandboxEventHandler(login, port);
  });

  const one = (ev: WireEvent): RemoteEvent => {
    const out = h.toRemote(ev);
    assert.equal(out.length, 1, `one RemoteEvent for ${ev.type}`);
    return out[0]!;
  };

  it('message in a group: shared portal, remote sender, converted lazily', async () => {
    const r = one({ type: 'message', ts: 1000, self: false, chat_id: 'group:g1', message: wireMessage({ reply_to: 'msg0' }) });
    assert.equal(r.type, 'message');
    if (r.type !== 'message') return;
    assert.deepEqual(r.portal, { id: 'group:g1', receiver: '' });
    assert.deepEqual(r.sender, { user: 'bob', isFromMe: false });
    assert.equal(r.id, 'msg1');
    assert.equal(r.timestamp, 1000);
    assert.equal(r.echoOf, undefined);
    const ctx = convertContext();
    const converted = await r.convert(ctx);
    assert.deepEqual(converted.parts, [{ id: '', type: 'm.room.message', content: { msgtype: 'm.text', body: 'hello' } }]);
    assert.deepEqual(converted.replyTo, { messageId: 'msg0' });
  });

  it('message in a DM: the portal is keyed by the login', () => {
    const r = one({ type: 'message', ts: 1, self: false, chat_id: 'dm:alice:bob', message: wireMessage({ chat_id: 'dm:alice:bob' }) });
    assert.deepEqual(r.portal, { id: 'dm:alice:bob', receiver: ME });
  });

  it('own message: isFromMe, and echoOf from client_txn_id', () => {
    const r = one({ type: 'message', ts: 1, self: true, chat_id: 'group:g1', message: wireMessage({ sender: ME, client_txn_id: 'txn-42' }) });
    assert.equal(r.type, 'message');
    assert.deepEqual(r.sender, { user: ME, isFromMe: true });
    assert.equal(r.type === 'message' && r.echoOf, 'txn-42');
  });

  it('own message sent from another device (no client_txn_id) is no echo', () => {
    const r = one({ type: 'message', ts: 1, self: true, chat_id: 'group:g1', message: wireMessage({ sender: ME }) });
    assert.equal(r.type === 'message' && r.echoOf, undefined);
    assert.equal(r.sender?.isFromMe, true);
  });

  it('edit carries target, editCount and the new content', async () => {
    const r = one({ type: 'edit', ts: 2000, self: false, chat_id: 'group:g1', message: wireMessage({ edit_count: 3, content: { kind: 'notice', text: 'fixed', entities: [] } }) });
    assert.equal(r.type, 'edit');
    if (r.type !== 'edit') return;
    assert.equal(r.target, 'msg1');
    assert.equal(r.editCount, 3);
    assert.equal(r.timestamp, 2000);
    const ctx = convertContext();
    const edit = await r.convert(ctx, []);
    assert.deepEqual(edit.modifiedParts, [{ partId: '', content: { msgtype: 'm.notice', body: 'fixed' } }]);
  });

  it('delete becomes message_remove by the deleter', () => {
    const r = one({ type: 'delete', ts: 3, self: false, chat_id: 'dm:alice:bob', message_id: 'msg1', by: 'bob' });
    assert.deepEqual({ ...r }, { type: 'message_remove', portal: { id: 'dm:alice:bob', receiver: ME }, target: 'msg1', sender: { user: 'bob', isFromMe: false }, timestamp: 3 });
  });

  it('reaction replaces the sender\'s others (one reaction per user); removal names the emoji', () => {
    const r = one({ type: 'reaction', ts: 4, self: false, chat_id: 'group:g1', message_id: 'msg1', user_id: 'bob', emoji: '👍', replaced: '❤️' });
    assert.deepEqual({ ...r }, {
      type: 'reaction', portal: { id: 'group:g1', receiver: '' }, target: 'msg1', sender: { user: 'bob', isFromMe: false },
      timestamp: 4, emojiId: '👍', emoji: '👍', replacesOthers: true,
    });
    const rm = one({ type: 'reaction_removed', ts: 5, self: true, chat_id: 'group:g1', message_id: 'msg1', user_id: ME, emoji: '👍' });
    assert.deepEqual({ ...rm }, {
      type: 'reaction_remove', portal: { id: 'group:g1', receiver: '' }, target: 'msg1', sender: { user: ME, isFromMe: true }, timestamp: 5, emojiId: '👍',
    });
  });

  it('read, delivered (not for our own delivery) and typing', () => {
    const read = one({ type: 'read', ts: 6, self: false, chat_id: 'group:g1', user_id: 'bob', message_id: 'msg1' });
    assert.equal(read.type, 'read_receipt');
    assert.equal(read.type === 'read_receipt' && read.target, 'msg1');
    const del = one({ type: 'delivered', ts: 7, self: false, chat_id: 'group:g1', user_id: 'bob', message_id: 'msg1' });
    assert.equal(del.type === 'delivery_receipt' && del.targets[0], 'msg1');
    assert.deepEqual(h.toRemote({ type: 'delivered', ts: 7, self: true, chat_id: 'group:g1', user_id: ME, message_id: 'msg1' }), []);
    const typing = one({ type: 'typing', ts: 8, self: false, chat_id: 'group:g1', user_id: 'bob', typing: true, timeout_ms: 5000 });
    assert.equal(typing.type === 'typing' && typing.timeoutMs, 5000);
    const stop = one({ type: 'typing', ts: 9, self: false, chat_id: 'group:g1', user_id: 'bob', typing: false, timeout_ms: 5000 });
    assert.equal(stop.type === 'typing' && stop.timeoutMs, 0);
  });

  it('presence goes to updatePresence, not a portal', () => {
    assert.deepEqual(h.toRemote({ type: 'presence', ts: 1, self: false, user_id: 'bob', presence: { online: true, last_seen: null } }), []);
    assert.deepEqual(login.presence, [{ user: 'bob', presence: 'online' }]);
  });

  it('chat_created resyncs and may create the portal, with members and DM other user', () => {
    const r = one({ type: 'chat_created', ts: 10, self: false, chat: chat({ id: 'dm:alice:bob', type: 'dm', name: 'ignored for DMs', members: [{ user_id: ME, role: 'member' }, { user_id: 'bob', role: 'member' }] }), by: 'bob' });
    assert.equal(r.type, 'chat_resync');
    if (r.type !== 'chat_resync') return;
    assert.equal(r.createPortal, true);
    assert.deepEqual(r.portal, { id: 'dm:alice:bob', receiver: ME });
    assert.equal(r.info?.type, 'dm');
    assert.equal(r.info?.name, undefined);
    assert.equal(r.info?.otherUser, 'bob');
    assert.deepEqual(r.info?.members?.map((m) => [m.user, m.isFromMe]), [[ME, true], ['bob', false]]);
  });

  it('chat_updated lists only the changed fields', () => {
    const r = one({ type: 'chat_updated', ts: 11, self: false, chat: chat({ name: 'New name', topic: 'New topic' }), by: 'bob', changed: ['name'] });
    assert.equal(r.type, 'chat_info_change');
    assert.deepEqual(r.type === 'chat_info_change' && r.change, { name: 'New name' });
  });

  it('members_changed: others joining are added; being added ourselves resyncs; kicks are removals', () => {
    const c = chat({ members: [{ user_id: ME, role: 'owner' }, { user_id: 'bob', role: 'member' }, { user_id: 'carol', role: 'admin' }] });
    const added = one({ type: 'members_changed', ts: 12, self: false, chat: c, by: ME, change: 'join', users: ['carol'] });
    assert.equal(added.type === 'chat_info_change' && added.change.members?.added?.[0]?.user, 'carol');
    assert.equal(added.type === 'chat_info_change' && added.change.members?.added?.[0]?.powerLevel, 50);
    const me = one({ type: 'members_changed', ts: 13, self: true, chat: c, by: 'bob', change: 'invite', users: [ME] });
    assert.equal(me.type, 'chat_resync');
    const kicked = one({ type: 'members_changed', ts: 14, self: false, chat: c, by: ME, change: 'kick', users: ['bob'] });
    assert.deepEqual(kicked.type === 'chat_info_change' && kicked.change.members?.removed, [{ user: 'bob', kicked: true, by: ME }]);
  });

  it('logged_out reports the remote logout', async () => {
    assert.deepEqual(h.toRemote({ type: 'logged_out', ts: 1, self: true, reason: 'password changed' }), []);
    await flush();
    assert.deepEqual(login.logouts, ['password changed']);
  });
});

describe('SandboxEventHandler: since advances only over handled events', () => {
  const msg = (id: string): WireEvent => ({ type: 'message', ts: 1, self: false, chat_id: 'group:g1', message: wireMessage({ id }) });

  it('saves and acks nothing until the oldest event is handled, then everything settled, in order', async () => {
    const login = new FakeLogin();
    login.autoHandle = false;
    const port = new FakePort();
    const h = new SandboxEventHandler(login, port);
    await h.onEvent(1, msg('m1'));
    await h.onEvent(2, msg('m2'));
    await h.onEvent(3, msg('m3'));
    assert.deepEqual(login.queued.map((e) => e.type === 'message' && e.id), ['m1', 'm2', 'm3']);

    login.gates[1]!.resolve(); // seq 2 finishes first
    await flush();
    assert.deepEqual(login.saves, [], 'nothing saved while seq 1 is unfinished');
    assert.deepEqual(port.acks, []);

    login.gates[0]!.resolve(); // now seq 1 finishes: 1 and 2 are done, 3 is not
    await flush();
    await flush();
    // Both finished entries are taken in one metadata write; seq 3 is still unfinished.
    assert.deepEqual(login.saves, [{ since: 2 }]);
    assert.deepEqual(port.acks, [2]);
    assert.equal(login.metadata.since, 2);

    login.gates[2]!.resolve();
    await flush();
    assert.deepEqual(login.saves, [{ since: 2 }, { since: 3 }]);
    assert.deepEqual(port.acks, [2, 3]);
  });

  it('events without a portal (presence) still advance since, in order', async () => {
    const login = new FakeLogin();
    login.autoHandle = false;
    const port = new FakePort();
    const h = new SandboxEventHandler(login, port);
    await h.onEvent(7, msg('m7'));
    await h.onEvent(8, { type: 'presence', ts: 1, self: false, user_id: 'bob', presence: { online: false, last_seen: 1 } });
    await flush();
    assert.deepEqual(login.saves, [], 'presence after an unfinished message does not jump ahead');
    login.gates[0]!.resolve();
    await flush();
    await flush();
    assert.deepEqual(login.saves, [{ since: 8 }]);
    assert.deepEqual(port.acks, [8]);
  });

  it('the ack is sent only after the metadata write', async () => {
    const login = new FakeLogin();
    const port = new FakePort();
    const order: string[] = [];
    const save = login.saveMetadata.bind(login);
    login.saveMetadata = async (patch) => {
      await flush();
      await save(patch);
      order.push(`save ${String(patch.since)}`);
    };
    const ack = port.ack.bind(port);
    port.ack = (seq) => {
      order.push(`ack ${seq}`);
      ack(seq);
    };
    const h = new SandboxEventHandler(login, port);
    await h.onEvent(1, msg('m1'));
    for (let i = 0; i < 5 && order.length < 2; i++) await flush();
    assert.deepEqual(order, ['save 1', 'ack 1']);
  });
});

describe('sandbox msgconv matrixToWire', () => {
  const port = new FakePort();
  const base = (over: Partial<MatrixMessage>): MatrixMessage => ({
    portal: portalKey('group:g1'), roomId: '!r:example.org', eventId: '$e', sender: '@alice:example.org', timestamp: 1,
    msgtype: 'm.text', txnId: 't', content: {}, ...over,
  });

  it('text keeps text and entities', async () => {
    const text = { text: 'hi bob', entities: [{ type: 'mention' as const, offset: 3, length: 3, userId: 'bob' }] };
    assert.deepEqual(await matrixToWire(port, base({ text })), { kind: 'text', ...text });
  });

  it('notice becomes kind notice', async () => {
    assert.deepEqual(await matrixToWire(port, base({ msgtype: 'm.notice', text: { text: 'beep', entities: [] } })), { kind: 'notice', text: 'beep', entities: [] });
  });

  it('emote becomes "* text" with entities shifted by two', async () => {
    const w = await matrixToWire(port, base({ msgtype: 'm.emote', text: { text: 'waves', entities: [{ type: 'bold', offset: 0, length: 5 }] } }));
    assert.deepEqual(w, { kind: 'text', text: '* waves', entities: [{ type: 'bold', offset: 2, length: 5 }] });
    assert.equal(w.kind === 'text' && w.text.slice(2, 7), 'waves');
  });

  it('location keeps coordinates and a shortened description', async () => {
    assert.deepEqual(await matrixToWire(port, base({ msgtype: 'm.location', location: { latitude: 52.5, longitude: 13.4 } })), { kind: 'location', lat: 52.5, lon: 13.4 });
    const long = 'x'.repeat(150);
    const w = await matrixToWire(port, base({ msgtype: 'm.location', location: { latitude: -1, longitude: 2, description: long } }));
    assert.deepEqual(w, { kind: 'location', lat: -1, lon: 2, name: 'x'.repeat(100) });
  });

  it('media is uploaded to the network first, with the caption', async () => {
    const w = await matrixToWire(port, base({
      msgtype: 'm.image', text: { text: 'look', entities: [] },
      media: { kind: 'image', open: async () => Readable.from([Buffer.from('PNGDATA')]), mimetype: 'image/png', filename: 'a.png', width: 10, height: 20 },
    }));
    assert.deepEqual(port.uploads.at(-1), { mimetype: 'image/png', data: 'PNGDATA' });
    assert.deepEqual(w, { kind: 'image', media_id: 'm1', mimetype: 'image/png', size: 7, filename: 'a.png', caption: { text: 'look', entities: [] }, width: 10, height: 20 });
  });

  it('refuses a message with nothing it can send as unsupported', async () => {
    await assert.rejects(matrixToWire(port, base({ msgtype: 'm.poll' })), (err: unknown) => {
      assert.equal((err as { reason?: string }).reason, 'm_unsupported');
      return true;
    });
  });
});
