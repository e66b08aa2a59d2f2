/**
 * Message requests, the pure parts: the AcceptMessageRequest (66) and DeleteThread (146) tasks as
 * exact JSON, the emulator's request folders and which events belong to database 95, the
 * capability guard, and the `accept` / `decline` bot commands.
 */
import assert from 'node:assert/strict';
import type { WireEvent } from '../../bridges/sandbox/src/client/index.js';
import { acceptMessageRequestTask, deleteThreadTask, type LSTask } from '../../bridges/meta/src/lightspeed/tasks.js';
import { LSRequestError, stringifyLS } from '../../bridges/meta/src/lightspeed/ids.js';
import { RequestFolders } from '../../bridges/meta/src/emulator/requests.js';
import { requestStateOf } from '../../bridges/meta/src/emulator/sync-requests.js';
import { handlesMessageRequests, requestNoticeText, type MessageRequestHandling } from '../../bridges/meta/src/connector/requests.js';
import { requestTopicNote } from '../../bridges/meta/src/connector/chat-info.js';
import { metaCommands } from '../../bridges/meta/src/connector/commands.js';
import type { CommandContext } from '../../shared/src/commands/processor.js';
import { portalKey, type PortalKey } from '../../shared/src/network/index.js';

const THREAD = '9007199254740993';
const wire = (t: LSTask) => ({ label: t.label, queue: t.queueName, payload: stringifyLS(t.payload) });
const dm = (a: string, b: string) => ({ id: `dm:${[a, b].sort().join(':')}`, type: 'dm' as const, members: [{ user_id: a }, { user_id: b }] });
const message = (chat: string, sender: string): WireEvent => ({
  type: 'message', ts: 1, self: false, chat_id: chat,
  message: { id: `${chat}/1`, chat_id: chat, sender, ts: 1, content: { kind: 'text', text: 'hi', entities: [] }, reply_to: null, edits: [], edit_count: 0, deleted: false, reactions: [], client_txn_id: null },
} as unknown as WireEvent);

describe('meta message requests', () => {
  it('AcceptMessageRequest is label 66 on the message_request queue; DeleteThread is 146 on the thread (exact JSON)', () => {
    assert.deepEqual(wire(acceptMessageRequestTask({ threadId: THREAD })), {
      label: '66', queue: 'message_request', payload: `{"thread_key":${THREAD},"sync_group":1,"ig_folder":null}`,
    });
    assert.deepEqual(wire(deleteThreadTask({ threadId: THREAD })), {
      label: '146', queue: THREAD, payload: `{"thread_key":${THREAD},"remove_type":0,"sync_group":1}`,
    });
    assert.throws(() => acceptMessageRequestTask({ threadId: 'abc' }), (e: unknown) => e instanceof LSRequestError && /^AcceptMessageRequest: threadId/.test(e.message));
    assert.throws(() => deleteThreadTask({ threadId: '1e5' }), (e: unknown) => e instanceof LSRequestError && /^DeleteThread: threadId/.test(e.message));
  });

  it('emulator folders: a stranger\'s DM is pending until accepted; declined hides it until the stranger writes again', () => {
    const f = new RequestFolders(true, ['dave']);
    const daveDm = dm('dave', 'me');
    assert.equal(f.folderOf(daveDm, 'me'), 'pending');
    assert.equal(f.folderOf(daveDm, 'dave'), 'inbox', 'the stranger sees an ordinary chat');
    assert.equal(f.folderOf(dm('alice', 'me'), 'me'), 'inbox');
    assert.equal(f.isRequest({ id: 'g:1', type: 'group', members: [{ user_id: 'dave' }, { user_id: 'me' }] }, 'me'), false, 'groups are never requests');
    f.decline(daveDm.id, 'me');
    assert.equal(f.isHidden(daveDm.id, 'me'), true);
    assert.equal(f.noteEvent(message(daveDm.id, 'me'), 'me'), false, 'our own message does not bring it back');
    assert.equal(f.noteEvent(message(daveDm.id, 'dave'), 'me'), true);
    assert.equal(f.isHidden(daveDm.id, 'me'), false);
    f.accept(daveDm.id, 'me');
    assert.equal(f.folderOf(daveDm, 'me'), 'inbox');
    f.setStranger('erin', true);
    assert.equal(f.folderOf(dm('erin', 'me'), 'me'), 'pending');
    f.setStranger('erin', false);
    assert.equal(f.folderOf(dm('erin', 'me'), 'me'), 'inbox');
    assert.equal(new RequestFolders(false, ['dave']).folderOf(daveDm, 'me'), 'inbox', 'the Instagram flavour has no request folder');
  });

  it('events of a request belong to database 95, those of a declined one to nobody, the rest to the mailbox', () => {
    const f = new RequestFolders(true, ['dave']);
    assert.equal(requestStateOf(message('dm:dave:me', 'dave'), f, 'me'), 'request');
    assert.equal(requestStateOf({ type: 'typing', ts: 1, self: false, chat_id: 'dm:dave:me', user_id: 'dave', typing: true, timeout_ms: 6000 } as WireEvent, f, 'me'), 'request');
    assert.equal(requestStateOf(message('dm:alice:me', 'alice'), f, 'me'), undefined);
    assert.equal(requestStateOf(message('g:1', 'dave'), f, 'me'), undefined);
    assert.equal(requestStateOf({ type: 'presence', ts: 1, self: false, user_id: 'dave', presence: { online: true } } as unknown as WireEvent, f, 'me'), undefined);
    f.decline('dm:dave:me', 'me');
    assert.equal(requestStateOf(message('dm:dave:me', 'dave'), f, 'me'), 'hidden');
  });

  it('the notice says what a request is and how to accept or decline it', () => {
    assert.equal(requestNoticeText('messenger'),
      'This chat is a message request on Messenger: the sender is not in your chats yet. To accept it, send "!messenger accept" here '
      + '(or simply reply: replying accepts it, as on Messenger). To decline it, send "!messenger decline": the request is deleted on Messenger.');
  });

  it('the notice and the topic name the configured command prefix', async () => {
    assert.match(requestNoticeText('instagram', '!ig'), /send "!ig accept" here .* send "!ig decline"/);
    assert.match(requestTopicNote('instagram', '!ig'), /Send "!ig accept" \(or reply\) to accept it, "!ig decline" to delete it\.$/);
    assert.match(requestTopicNote('messenger'), /"!messenger accept"/);
  });

  describe('accept and decline commands', () => {
    const portal = portalKey('15550000009', '15550000000');
    function setup(isRequest: boolean) {
      const calls: string[] = [];
      const replies: string[] = [];
      const api: MessageRequestHandling = {
        isMessageRequest: (p: PortalKey) => isRequest && p.id === portal.id,
        acceptMessageRequest: async (p) => void calls.push(`accept ${p.id}`),
        declineMessageRequest: async (p) => void calls.push(`decline ${p.id}`),
      };
      const ctx = {
        sender: '@alice:example.org', roomId: '!r', eventId: '$e', args: [], rawArgs: '', isManagementRoom: false,
        portal: { key: portal, row: { receiver: '15550000000' } },
        bridge: { loginsOf: () => [{ id: '15550000000', client: api }] },
        reply: async (t: string) => { replies.push(t); return '$reply'; },
      } as unknown as CommandContext;
      const cmd = (name: string) => metaCommands().find((c) => c.name === name)!;
      return { calls, replies, ctx, cmd };
    }

    it('accept and decline act on a request and say so', async () => {
      const { calls, replies, ctx, cmd } = setup(true);
      await cmd('accept').run(ctx);
      await cmd('decline').run(ctx);
      assert.deepEqual(calls, [`accept ${portal.id}`, `decline ${portal.id}`]);
      assert.deepEqual(replies, ['Accepted: the chat is in your inbox now.', 'Declined: the request is deleted. You can leave this room.']);
      assert.ok(metaCommands().every((c) => c.portalOnly && c.permission === 'user'));
    });

    it('a chat that is not a request gets a plain answer and nothing is sent', async () => {
      const { calls, replies, ctx, cmd } = setup(false);
      await cmd('accept').run(ctx);
      assert.deepEqual(calls, []);
      assert.deepEqual(replies, ['This chat is not a message request.']);
    });

    it('the capability guard', () => {
      assert.equal(handlesMessageRequests({ isMessageRequest() {}, acceptMessageRequest() {}, declineMessageRequest() {} }), true);
      assert.equal(handlesMessageRequests({ isMessageRequest() {} }), false);
      assert.equal(handlesMessageRequests(null), false);
    });
  });
});
