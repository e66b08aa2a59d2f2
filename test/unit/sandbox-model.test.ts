import assert from 'node:assert/strict';
import { SandboxNetwork, makeDmId, parseMessageId } from '../../bridges/sandbox/src/server/network.js';
import { NetworkError } from '../../bridges/sandbox/src/server/errors.js';
import { EventLogs } from '../../bridges/sandbox/src/server/event-log.js';
import { backoffDelay } from '../../bridges/sandbox/src/client/backoff.js';
import type { EventFrame, WireEvent } from '../../bridges/sandbox/src/wire.js';

const text = (t: string) => ({ kind: 'text' as const, text: t, entities: [] });

function setup() {
  const net = new SandboxNetwork({ typingTimeoutMs: 30 });
  const events: Array<{ account: string; frame: EventFrame }> = [];
  net.on('event', (account, frame) => events.push({ account, frame }));
  for (const [id, name] of [['me', 'Me'], ['alice', 'Alice'], ['bob', 'Bob'], ['carol', 'Carol']]) net.createAccount({ id: id!, name: name! });
  return { net, events, of: (account: string, type?: WireEvent['type']) => events.filter((e) => e.account === account && (!type || e.frame.event.type === type)).map((e) => e.frame.event) };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NetworkError, `expected NetworkError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a NetworkError');
}

describe('sandbox network model', () => {
  it('creates accounts with stable ids, unique phones and tokens, and validates input', () => {
    const { net } = setup();
    const a = net.account('alice');
    assert.match(a.phone, /^\+1555\d{7}$/);
    assert.notEqual(a.token, net.account('bob').token);
    assert.equal(net.accountByToken(a.token)?.id, 'alice');
    assert.equal(code(() => net.createAccount({ id: 'alice', name: 'x' })), 'conflict');
    assert.equal(code(() => net.createAccount({ id: 'Bad Id', name: 'x' })), 'bad_request');
    assert.equal(code(() => net.createAccount({ id: 'dave', name: 'x', phone: a.phone })), 'conflict');
    assert.equal(net.resolveIdentifier(a.phone).id, 'alice');
    assert.equal(net.resolveIdentifier('ALICE').id, 'alice');
    assert.equal(code(() => net.resolveIdentifier('+19999999999')), 'not_found');
  });

  it('checks passwords (default "sandbox") with one answer for unknown user and wrong password', () => {
    const { net } = setup();
    assert.equal(net.checkPassword('alice', 'sandbox').id, 'alice');
    assert.equal(code(() => net.checkPassword('alice', 'nope')), 'bad_credentials');
    assert.equal(code(() => net.checkPassword('nobody', 'sandbox')), 'bad_credentials');
  });

  it('creates one DM per pair with a sorted id, and echoes chat_created to both as self/other', () => {
    const { net, of } = setup();
    const first = net.createDm('me', 'alice');
    assert.equal(first.created, true);
    assert.equal(first.chat.id, makeDmId('me', 'alice'));
    assert.equal(first.chat.id, 'dm:alice:me');
    assert.equal(net.createDm('alice', 'me').created, false);
    assert.deepEqual(of('me', 'chat_created').map((e) => e.self), [true]);
    assert.deepEqual(of('alice', 'chat_created').map((e) => e.self), [false]);
    assert.equal(code(() => net.createDm('me', 'me')), 'bad_request');
  });

  it('sends, orders by per-chat seq, dedups by (sender, client_txn_id), and pages messages', () => {
    const { net, of } = setup();
    const chat = net.createGroup('me', 'G', ['alice', 'bob']);
    assert.equal(chat.id, 'g:1');
    const m1 = net.send('me', chat.id, text('one'), { clientTxnId: 't1' });
    const again = net.send('me', chat.id, text('one'), { clientTxnId: 't1' });
    assert.equal(again.duplicate, true);
    assert.equal(again.message.id, m1.message.id);
    const m2 = net.send('alice', chat.id, text('two'), { clientTxnId: 't1', replyTo: m1.message.id });
    assert.equal(m2.duplicate, false, 'txn ids are per sender');
    assert.equal(m2.message.reply_to, 'g:1/1');
    for (let i = 3; i <= 10; i++) net.send('bob', chat.id, text(`m${i}`));
    assert.equal(of('carol').length, 0, 'non-members hear nothing');
    assert.equal(of('bob', 'message').length, 10);
    const latest = net.getMessages('me', chat.id, { limit: 3 });
    assert.deepEqual(latest.messages.map((m) => m.seq), [8, 9, 10]);
    assert.equal(latest.has_more, true);
    assert.deepEqual(net.getMessages('me', chat.id, { after: 'g:1/2', limit: 2 }).messages.map((m) => m.seq), [3, 4]);
    const before = net.getMessages('me', chat.id, { before: 'g:1/3', limit: 5 });
    assert.deepEqual(before.messages.map((m) => m.seq), [1, 2]);
    assert.equal(before.has_more, false);
    assert.equal(code(() => net.getMessages('carol', chat.id, {})), 'not_found');
    assert.equal(code(() => net.send('me', chat.id, text('x'), { replyTo: 'g:9/1' })), 'not_found');
    assert.equal(code(() => net.send('me', chat.id, text('   '))), 'bad_request');
    assert.deepEqual(parseMessageId('dm:a:b/12'), { chatId: 'dm:a:b', seq: 12 });
  });

  it('edits keep history, only the sender edits, media edits replace the caption', () => {
    const { net, of } = setup();
    const { chat } = net.createDm('me', 'alice');
    const m = net.send('me', chat.id, text('helo')).message;
    const edited = net.edit('me', m.id, text('hello'));
    assert.equal(edited.edit_count, 1);
    assert.equal(edited.edits[0]?.content.kind === 'text' && edited.edits[0].content.text, 'helo');
    assert.equal(edited.content.kind === 'text' && edited.content.text, 'hello');
    assert.equal(of('alice', 'edit').length, 1);
    assert.equal(code(() => net.edit('alice', m.id, text('hijack'))), 'forbidden');
    const img = net.send('me', chat.id, { kind: 'image', media_id: 'x'.repeat(24), mimetype: 'image/png', size: 3 }).message;
    const captioned = net.edit('me', img.id, text('a cat'));
    assert.equal(captioned.content.kind === 'image' && captioned.content.caption?.text, 'a cat');
    const loc = net.send('me', chat.id, { kind: 'location', lat: 1, lon: 2 }).message;
    assert.equal(code(() => net.edit('me', loc.id, text('x'))), 'unsupported');
  });

  it('keeps one reaction per user, replacing the old one', () => {
    const { net, of } = setup();
    const { chat } = net.createDm('me', 'alice');
    const m = net.send('alice', chat.id, text('hi')).message;
    net.react('me', m.id, '👍');
    const after = net.react('me', m.id, '❤️');
    assert.deepEqual(after.reactions.map((r) => [r.user_id, r.emoji]), [['me', '❤️']]);
    const reactions = of('alice', 'reaction');
    assert.equal(reactions.length, 2);
    assert.equal(reactions[1]?.type === 'reaction' && reactions[1].replaced, '👍');
    assert.equal(net.unreact('me', m.id).reactions.length, 0);
    assert.equal(of('alice', 'reaction_removed').length, 1);
    net.unreact('me', m.id);
    assert.equal(of('alice', 'reaction_removed').length, 1, 'removing nothing emits nothing');
  });

  it('deletes (sender or group admin), read receipts only move forward, delivery on ack', () => {
    const { net, of } = setup();
    const g = net.createGroup('me', 'G', ['alice', 'bob']);
    const m1 = net.send('alice', g.id, text('1')).message;
    const m2 = net.send('bob', g.id, text('2')).message;
    assert.equal(code(() => net.deleteMessage('bob', m1.id)), 'forbidden');
    assert.equal(net.deleteMessage('me', m1.id).deleted, true, 'owner deletes anything');
    assert.equal(of('alice', 'delete').length, 1);
    net.deleteMessage('me', m1.id);
    assert.equal(of('alice', 'delete').length, 1, 'second delete is a no-op');
    net.markRead('alice', g.id, m2.id);
    net.markRead('alice', g.id, m1.id);
    assert.equal(net.getChat('me', g.id).read_receipts.alice, m2.id);
    assert.equal(of('me', 'read').length, 1);
    // Alice's client acknowledges everything it got: bob's message counts as delivered to her.
    net.ack('alice', net.headSeq('alice'));
    assert.deepEqual(net.message(m2.id).delivered_to, ['alice']);
    const delivered = of('bob', 'delivered');
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]?.type === 'delivered' && delivered[0].user_id, 'alice');
  });

  it('manages group members, roles and chat state, recording history', () => {
    const { net, of } = setup();
    const g = net.createGroup('me', 'G', ['alice']);
    assert.equal(code(() => net.invite('alice', g.id, 'bob')), 'forbidden');
    net.invite('me', g.id, 'bob');
    assert.equal(code(() => net.invite('me', g.id, 'bob')), 'conflict');
    const invited = of('bob', 'members_changed');
    assert.equal(invited[0]?.type === 'members_changed' && invited[0].change, 'invite');
    net.setRole('me', g.id, 'alice', 'admin');
    net.kick('alice', g.id, 'bob');
    assert.deepEqual(of('bob', 'members_changed').map((e) => e.type === 'members_changed' && e.change), ['invite', 'promote', 'kick'], 'the kicked user is told');
    assert.equal(code(() => net.kick('alice', g.id, 'me')), 'forbidden');
    const updated = net.updateChat('alice', g.id, { name: 'New', topic: 'T' });
    assert.equal(updated.name, 'New');
    const upd = of('me', 'chat_updated')[0];
    assert.deepEqual(upd?.type === 'chat_updated' && upd.changed, ['name', 'topic']);
    net.leave('me', g.id);
    assert.equal(net.chat(g.id).members.get('alice'), 'owner', 'ownership passes to an admin');
    assert.deepEqual(net.chat(g.id).history.map((h) => h.type), ['created', 'invite', 'promote', 'kick', 'name', 'topic', 'leave', 'promote']);
    assert.equal(code(() => net.leave('me', net.createDm('me', 'bob').chat.id)), 'bad_request');
  });

  it('typing expires after the timeout and is not kept for replay', async () => {
    const { net, of } = setup();
    const { chat } = net.createDm('me', 'alice');
    const before = net.headSeq('alice');
    net.setTyping('me', chat.id, true);
    assert.equal(net.isTyping(chat.id, 'me'), true);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(net.isTyping(chat.id, 'me'), false);
    assert.deepEqual(of('alice', 'typing').map((e) => e.type === 'typing' && e.typing), [true, false]);
    const replay = net.replay('alice', before);
    assert.equal(replay.resyncRequired, false);
    assert.equal(!replay.resyncRequired && replay.frames.length, 0);
  });

  it('presence goes to everyone and logout rotates the token', () => {
    const { net, of } = setup();
    net.setPresence('alice', true);
    assert.equal(of('carol', 'presence').length, 1);
    assert.equal(net.account('alice').online, true);
    const oldToken = net.account('alice').token;
    let loggedOut = '';
    net.on('logout', (a) => (loggedOut = a));
    net.logout('alice', 'bye');
    assert.equal(loggedOut, 'alice');
    assert.equal(net.accountByToken(oldToken), undefined);
    assert.equal(of('alice', 'logged_out').length, 1);
  });

  it('bounded event logs demand a resync once events were dropped', () => {
    const logs = new EventLogs(10);
    const ev = { type: 'logged_out', reason: 'x', ts: 0, self: false } as const;
    for (let i = 0; i < 30; i++) logs.append('a', ev, false);
    const old = logs.replay('a', 1);
    assert.equal(old.resyncRequired, true);
    const recent = logs.replay('a', 25);
    assert.deepEqual(!recent.resyncRequired && recent.frames.map((f) => f.seq), [26, 27, 28, 29, 30]);
    assert.equal(logs.replay('a', 31).resyncRequired, true, 'a since beyond head means lost server state');
  });

  it('backoff uses full jitter under an exponential cap', () => {
    assert.equal(backoffDelay(0, { minMs: 100, maxMs: 1000 }, () => 0.999), 99);
    assert.equal(backoffDelay(3, { minMs: 100, maxMs: 1000 }, () => 0.5), 400);
    assert.equal(backoffDelay(20, { minMs: 100, maxMs: 1000 }, () => 0.999), 999);
    assert.equal(backoffDelay(5, { minMs: 100, maxMs: 1000 }, () => 0), 0);
  });
});
