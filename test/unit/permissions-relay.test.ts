import assert from 'node:assert/strict';
import type { Bridge } from '../../shared/src/core/bridge.js';
import { Permissions } from '../../shared/src/core/permissions.js';
import { applyRelayFormat } from '../../shared/src/core/relay.js';
import { portalKey, type MatrixMessage } from '../../shared/src/network/index.js';

describe('Permissions', () => {
  const perms = new Permissions({
    '*': 'relay',
    'example.org': 'user',
    'admin.example': 'commands',
    '@boss:example.org': 'admin',
    '@blocked:example.org': 'none',
    '@typo:example.org': 'superuser',
  });

  it('resolves an exact mxid before its domain before *', () => {
    assert.equal(perms.levelOf('@boss:example.org'), 'admin');
    assert.equal(perms.levelOf('@alice:example.org'), 'user');
    assert.equal(perms.levelOf('@someone:admin.example'), 'commands');
    assert.equal(perms.levelOf('@stranger:elsewhere.net'), 'relay');
  });

  it('lets an mxid entry lower the level its domain would give', () => {
    assert.equal(perms.levelOf('@blocked:example.org'), 'none');
    assert.equal(perms.can('@blocked:example.org', 'relay'), false);
  });

  it('treats a domain as the whole server name, not a suffix or a port-less prefix', () => {
    assert.equal(perms.levelOf('@a:sub.example.org'), 'relay');
    assert.equal(perms.levelOf('@a:example.org:8448'), 'relay');
  });

  it('maps unknown level strings to none', () => {
    assert.equal(perms.levelOf('@typo:example.org'), 'none');
    for (const weird of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'ADMIN', '']) {
      const p = new Permissions({ '*': weird });
      assert.equal(p.levelOf('@x:y.org'), 'none', `level ${JSON.stringify(weird)}`);
      assert.equal(p.can('@x:y.org', 'relay'), false, `level ${JSON.stringify(weird)}`);
    }
  });

  it('gives none to everyone when nothing matches', () => {
    const p = new Permissions({ 'example.org': 'admin' });
    assert.equal(p.levelOf('@x:other.org'), 'none');
    assert.equal(p.can('@x:other.org', 'relay'), false);
  });

  it('orders levels relay < commands < user < admin', () => {
    const levels = ['relay', 'commands', 'user', 'admin'] as const;
    for (const [i, have] of levels.entries()) {
      const p = new Permissions({ '*': have });
      for (const [j, need] of levels.entries()) {
        assert.equal(p.can('@x:y.org', need), j <= i, `${have} can ${need}`);
      }
    }
  });
});

describe('applyRelayFormat', () => {
  function bridgeWith(format: string): Bridge {
    return { config: { bridge: { relay: { message_format: format } } } } as unknown as Bridge;
  }

  function message(text: MatrixMessage['text'], extra: Partial<MatrixMessage> = {}): MatrixMessage {
    return {
      portal: portalKey('chat1'), roomId: '!r:example.org', eventId: '$e', sender: '@alice:example.org', timestamp: 1,
      msgtype: 'm.text', txnId: 't1', content: {}, ...(text ? { text } : {}), ...extra,
    };
  }

  const who = { mxid: '@alice:example.org', displayName: 'Alice' };

  it('prefixes the text and shifts every entity by the prefix length', () => {
    const msg = message({ text: 'hello bob', entities: [{ type: 'bold', offset: 0, length: 5 }, { type: 'mention', offset: 6, length: 3, userId: 'bob' }] });
    applyRelayFormat(bridgeWith('{sender_displayname}: {message}'), msg, who);
    assert.equal(msg.text!.text, 'Alice: hello bob');
    assert.deepEqual(msg.text!.entities, [{ type: 'bold', offset: 7, length: 5 }, { type: 'mention', offset: 13, length: 3, userId: 'bob' }]);
    // The shifted entities still cover the same words.
    assert.equal(msg.text!.text.slice(7, 12), 'hello');
    assert.equal(msg.text!.text.slice(13, 16), 'bob');
  });

  it('fills in the mxid and keeps a suffix after {message}', () => {
    const msg = message({ text: 'hi', entities: [{ type: 'italic', offset: 0, length: 2 }] });
    applyRelayFormat(bridgeWith('<{sender_mxid}> {message} (relayed)'), msg, who);
    assert.equal(msg.text!.text, '<@alice:example.org> hi (relayed)');
    assert.deepEqual(msg.text!.entities, [{ type: 'italic', offset: 21, length: 2 }]);
    assert.equal(msg.text!.text.slice(21, 23), 'hi');
  });

  it('counts the prefix in UTF-16 code units (emoji in the display name)', () => {
    const msg = message({ text: 'yo', entities: [{ type: 'code', offset: 0, length: 2 }] });
    applyRelayFormat(bridgeWith('{sender_displayname}: {message}'), msg, { mxid: '@e:x.org', displayName: '🦊 Fox' });
    assert.equal(msg.text!.text, '🦊 Fox: yo');
    assert.equal(msg.text!.text.slice(msg.text!.entities[0]!.offset, msg.text!.entities[0]!.offset + 2), 'yo');
  });

  it('puts the rendered template in front when it has no {message}', () => {
    const msg = message({ text: 'body', entities: [{ type: 'bold', offset: 0, length: 4 }] });
    applyRelayFormat(bridgeWith('{sender_displayname} says:'), msg, who);
    assert.equal(msg.text!.text, 'Alice says: body');
    assert.deepEqual(msg.text!.entities, [{ type: 'bold', offset: 12, length: 4 }]);
  });

  it('gives a media message without caption a caption naming the sender', () => {
    const msg = message(undefined, { msgtype: 'm.image' });
    applyRelayFormat(bridgeWith('{sender_displayname}: {message}'), msg, who);
    assert.deepEqual(msg.text, { text: 'Alice: ', entities: [] });
  });

  it('does not expand placeholders that appear in the display name', () => {
    const msg = message({ text: 'x', entities: [] });
    applyRelayFormat(bridgeWith('{sender_displayname}: {message}'), msg, { mxid: '@m:x.org', displayName: 'Eve {message}' });
    assert.equal(msg.text!.text, 'Eve {message}: x');
    const m2 = message({ text: 'y', entities: [{ type: 'bold', offset: 0, length: 1 }] });
    applyRelayFormat(bridgeWith('{sender_displayname}: {message}'), m2, { mxid: '@m:x.org', displayName: "A$&B$'{sender_mxid}" });
    assert.equal(m2.text!.text, "A$&B$'{sender_mxid}: y");
    assert.deepEqual(m2.text!.entities, [{ type: 'bold', offset: m2.text!.text.length - 1, length: 1 }]);
  });
});
