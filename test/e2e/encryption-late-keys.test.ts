/**
 * Room keys that arrive after their messages, through a real Synapse: the person's second device is
 * a raw OlmMachine (test/helpers/olm-device.ts) that sends encrypted messages while holding back
 * the to-device messages carrying their Megolm key, and releases them when the test says. The
 * person's js-sdk client (cross-signed, "exclude insecure devices") reads the bot's notices.
 *
 * - A key that comes within the wait: the portal's queue holds the message (and the one behind
 *   it), then both are bridged, in order, and only after the key.
 * - A key that comes after the wait: the bot tells the person in a notice replying to the event;
 *   when the key comes, the message is bridged late and the notice edited.
 * - A key that comes after a bridge crash: the waiting message is kept in the bridge's database
 *   (before and after its notice), so the restarted bridge still bridges it when the key comes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type * as sdk from 'matrix-js-sdk';
import { openDatabase } from '../../shared/src/db/database.js';
import { BridgeEnv, eventually, sleep } from '../helpers/bridge-env.js';
import { E2eeClient } from '../helpers/e2ee-client.js';
import { OlmDevice } from '../helpers/olm-device.js';
import { loginAsMe, networkMessages, portalRoom, textOf, waitForNetworkMessage } from '../helpers/portal-setup.js';

/** encryption.undecryptable_notice_after_seconds */
const WAIT_S = 12;
const DM_ALICE = 'dm:alice:me';
const DM_BOB = 'dm:bob:me';
const GROUP = 'g:1';

type Rel = { rel_type?: string; event_id?: string; 'm.in_reply_to'?: { event_id?: string } };
/** The relation of a decrypted event: in the clear beside the ciphertext, or inside the payload. */
function relationOf(e: sdk.MatrixEvent): Rel {
  return ((e.getWireContent()['m.relates_to'] ?? e.getContent()['m.relates_to']) ?? {}) as Rel;
}

describe('e2e: late room keys (a person\'s device that holds its keys back)', function () {
  this.timeout(300_000);
  let env: BridgeEnv;
  let me: E2eeClient;
  let raw: OlmDevice;
  const rooms = new Map<string, string>();

  const networkTexts = async (chat: string) => (await networkMessages(env, chat)).map(textOf);
  const botNotice = (room: string, replyTo: string, re: RegExp) => me.waitForDecrypted(room, (e) =>
    e.getSender() === env.botMxid && re.test(e.getContent().body ?? '') && relationOf(e)['m.in_reply_to']?.event_id === replyTo, (WAIT_S + 40) * 1000);
  const lateEdit = (room: string, noticeId: string) => me.waitForDecrypted(room, (e) =>
    e.getSender() === env.botMxid && relationOf(e).rel_type === 'm.replace' && relationOf(e).event_id === noticeId, 60_000);

  /** Whether the bridge's database keeps the event as waiting for its key (portal-encrypted.ts). */
  async function keptAsLate(eventId: string): Promise<boolean> {
    const cfg = env.config as unknown as { data_dir: string; database: { uri: string } };
    const db = await openDatabase({ type: 'sqlite', uri: join(cfg.data_dir, cfg.database.uri) });
    try {
      return (await db.kv.get(`crypto.late:${eventId}`)) !== undefined;
    } finally {
      await db.close();
    }
  }

  before(async function () {
    env = await BridgeEnv.start({
      db: 'sqlite',
      config: { encryption: { allow: true, default: true, undecryptable_notice_after_seconds: WAIT_S } },
    });
    const user = await env.synapse.registerUser('late_keys');
    me = await E2eeClient.start({ baseUrl: env.synapse.baseUrl, user, isolation: 'only-signed' });
    await loginAsMe(env, me.base);
    for (const chat of [DM_ALICE, DM_BOB, GROUP]) {
      const room = await portalRoom(env, me.base, chat, 60_000);
      await me.waitForEncryption(room);
      rooms.set(chat, room);
    }
    raw = await OlmDevice.login({ baseUrl: env.synapse.baseUrl, user, deviceName: 'holds its keys back' });
  });
  after(async () => {
    raw?.stop();
    await me?.stop();
    await env?.stop();
  });

  it('(a) holds the chat for a key that comes within the wait: both messages bridged after it, in order', async () => {
    const room = rooms.get(DM_ALICE)!;
    const held = await raw.shareRoomKey(room, { hold: true });
    assert.ok(held.recipients.includes(env.botMxid), `the bot's device is among the key's recipients: ${held.recipients.join(', ')}`);
    const first = await raw.sendText(room, 'late key (a): first');
    const second = await raw.sendText(room, 'late key (a): second, same session');
    assert.deepEqual([first.sessionId, first.index + 1], [second.sessionId, second.index], 'one session, consecutive indexes');
    await sleep(3000);
    const beforeKey = await networkTexts(DM_ALICE);
    assert.ok(!beforeKey.some((t) => t.startsWith('late key (a)')), 'nothing was bridged before the key came');
    await raw.release(held);
    const texts = await eventually('both messages on the network', async () => {
      const t = await networkTexts(DM_ALICE);
      return t.includes('late key (a): first') && t.includes('late key (a): second, same session') ? t : undefined;
    }, 30_000);
    assert.deepEqual(texts.filter((t) => t.startsWith('late key (a)')), ['late key (a): first', 'late key (a): second, same session'], 'once each, in order');
  });

  it('(b) tells the person when the key is later than the wait, then bridges the message late and edits the notice', async () => {
    const room = rooms.get(DM_BOB)!;
    const held = await raw.shareRoomKey(room, { hold: true });
    assert.ok(held.recipients.includes(env.botMxid));
    const sent = await raw.sendText(room, 'late key (b): after the notice');
    const t0 = Date.now();
    const notice = await botNotice(room, sent.eventId, /has not received the key/);
    assert.ok(Date.now() - t0 >= (WAIT_S - 2) * 1000, `the notice came only after the wait (${Date.now() - t0} ms)`);
    assert.ok(notice.noWarning, `shield on the notice: ${notice.reason}`);
    assert.ok(!(await networkTexts(DM_BOB)).includes('late key (b): after the notice'), 'not bridged without its key');
    await eventually('the waiting event kept in the database', () => keptAsLate(sent.eventId), 10_000);
    await raw.release(held);
    await waitForNetworkMessage(env, DM_BOB, (m) => textOf(m) === 'late key (b): after the notice', 30_000);
    const edit = await lateEdit(room, notice.eventId);
    assert.match(String((edit.content['m.new_content'] as { body?: string } | undefined)?.body ?? edit.content.body), /arrived late/);
    await eventually('the waiting event forgotten once bridged', async () => !(await keptAsLate(sent.eventId)), 10_000);
    // The chat goes on, and the late message was bridged once.
    await raw.sendText(room, 'late key (b): next');
    await waitForNetworkMessage(env, DM_BOB, (m) => textOf(m) === 'late key (b): next', 30_000);
    assert.deepEqual((await networkTexts(DM_BOB)).filter((t) => t.startsWith('late key (b)')), ['late key (b): after the notice', 'late key (b): next']);
  });

  it('(c) still bridges a message whose key comes after the bridge was killed while it waited past its notice', async () => {
    const room = rooms.get(GROUP)!;
    const held = await raw.shareRoomKey(room, { hold: true });
    assert.ok(held.recipients.includes(env.botMxid));
    const sent = await raw.sendText(room, 'late key (c): across a crash');
    const notice = await botNotice(room, sent.eventId, /has not received the key/);
    await eventually('the waiting event kept in the database', () => keptAsLate(sent.eventId), 10_000);
    await env.stopBridge('SIGKILL');
    await env.startBridge();
    await raw.release(held);
    await waitForNetworkMessage(env, GROUP, (m) => textOf(m) === 'late key (c): across a crash', 40_000);
    await lateEdit(room, notice.eventId);
    assert.deepEqual((await networkTexts(GROUP)).filter((t) => t.startsWith('late key (c)')), ['late key (c): across a crash']);
  });

  it('(c) also when the bridge was killed during the wait, before any notice', async () => {
    const room = rooms.get(GROUP)!;
    // A new session, so there is a key to hold back (the bot has the previous one).
    await raw.rotate(room);
    const held = await raw.shareRoomKey(room, { hold: true });
    assert.ok(held.recipients.includes(env.botMxid));
    const sent = await raw.sendText(room, 'late key (c2): killed while waiting');
    await sleep(2000);
    await env.stopBridge('SIGKILL');
    await env.startBridge();
    await sleep(1000);
    await raw.release(held);
    await waitForNetworkMessage(env, GROUP, (m) => textOf(m) === 'late key (c2): killed while waiting', 40_000);
    assert.equal(await keptAsLate(sent.eventId), false);
    assert.deepEqual((await networkTexts(GROUP)).filter((t) => t.startsWith('late key (c2)')), ['late key (c2): killed while waiting']);
  });

  it('no bridged event failed to decrypt on the person\'s js-sdk device', async () => {
    await sleep(500);
    const failures = me.failuresSeen().filter((f) => f.sender === env.botMxid || f.sender.startsWith('@sandbox_'));
    assert.deepEqual(failures, []);
  });
});
