/**
 * End-to-bridge encryption through a real Synapse, with matrix-js-sdk and its Rust crypto as the
 * person's client in "exclude insecure devices" mode (only devices cross-signed by their owner are
 * trusted, for decryption and for key sharing). Every bridged message must decrypt with no warning
 * shield: the bot and each ghost send from their own cross-signed devices.
 */
import assert from 'node:assert/strict';
import { BridgeEnv, eventually, sleep } from '../helpers/bridge-env.js';
import { E2eeClient } from '../helpers/e2ee-client.js';
import { portalRoom, sendAs, textOf, waitForNetworkMessage } from '../helpers/portal-setup.js';

const DM = 'dm:alice:me';
const GROUP = 'g:1';

describe('e2e: end-to-bridge encryption (sandbox network, real Synapse, Rust crypto client)', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let me: E2eeClient;
  let password: string;
  let mgmt: string;
  let dm: string;
  let group: string;

  const fromBot = (re: RegExp) => (e: { getSender(): string | undefined; getContent(): { body?: string } }) =>
    e.getSender() === env.botMxid && re.test(e.getContent().body ?? '');

  before(async function () {
    env = await BridgeEnv.start({ config: { encryption: { allow: true, default: true, undecryptable_notice_after_seconds: 5 } } });
    const user = await env.synapse.registerUser('alice_e');
    password = user.password;
    me = await E2eeClient.start({ baseUrl: env.synapse.baseUrl, user, isolation: 'only-signed' });
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  it('an encrypted DM with the bot becomes the management room; commands and answers are encrypted', async () => {
    mgmt = await me.createEncryptedRoom({ invite: [env.botMxid], isDirect: true });
    await me.waitForMembership(mgmt, env.botMxid, 'join', 30_000);
    const hello = await me.waitForDecrypted(mgmt, fromBot(/management room/));
    assert.ok(hello.noWarning, `the bot's notice shows a shield: ${hello.reason}`);
    await me.sendText(mgmt, 'login password');
    await me.waitForDecrypted(mgmt, fromBot(/your username/));
    await me.sendText(mgmt, 'me');
    await me.waitForDecrypted(mgmt, fromBot(/your password/));
    await me.sendText(mgmt, 'sandbox');
    const done = await me.waitForDecrypted(mgmt, fromBot(/Logged in as me/), 30_000);
    assert.ok(done.noWarning, `shield on the login answer: ${done.reason}`);
  });

  it('creates portals encrypted; a contact\'s message decrypts with no warning, sent by the ghost', async () => {
    dm = await portalRoom(env, me.base, DM);
    group = await portalRoom(env, me.base, GROUP);
    await me.waitForEncryption(dm);
    await me.waitForEncryption(group);
    await sendAs(env, DM, 'alice', { text: 'secret hello from alice' });
    const got = await me.waitForDecrypted(dm, (e) => e.getContent().body === 'secret hello from alice');
    assert.equal(got.sender, env.ghost('alice'));
    assert.ok(got.noWarning, `shield on a ghost's message: ${got.reason}`);
    assert.equal(me.failuresSeen(dm).length, 0);
  });

  it('bridges the person\'s encrypted text, reply, edit and reaction to the network', async () => {
    const first = await me.sendText(dm, 'encrypted from matrix');
    const net = await waitForNetworkMessage(env, DM, (m) => m.sender === 'me' && textOf(m) === 'encrypted from matrix');
    await me.sendReply(dm, first, 'a reply, encrypted');
    const reply = await waitForNetworkMessage(env, DM, (m) => textOf(m) === 'a reply, encrypted');
    assert.equal(reply.reply_to, net.id);
    await me.sendEdit(dm, first, 'encrypted and edited');
    await waitForNetworkMessage(env, DM, (m) => m.id === net.id && textOf(m) === 'encrypted and edited');
    await me.sendReaction(dm, first, '👍');
    await waitForNetworkMessage(env, DM, (m) => m.id === net.id && m.reactions.some((r) => r.emoji === '👍'));
  });

  it('works in a group portal both ways, each ghost from its own device', async () => {
    await sendAs(env, GROUP, 'bob', { text: 'bob in the encrypted group' });
    await sendAs(env, GROUP, 'carol', { text: 'carol in the encrypted group' });
    const bob = await me.waitForDecrypted(group, (e) => e.getContent().body === 'bob in the encrypted group');
    const carol = await me.waitForDecrypted(group, (e) => e.getContent().body === 'carol in the encrypted group');
    assert.equal(bob.sender, env.ghost('bob'));
    assert.equal(carol.sender, env.ghost('carol'));
    assert.ok(bob.noWarning && carol.noWarning, `shields: ${bob.reason} ${carol.reason}`);
    const bobDevice = bob.event.getWireContent().device_id ?? bob.event.getWireContent().sender_key;
    const carolDevice = carol.event.getWireContent().device_id ?? carol.event.getWireContent().sender_key;
    assert.notEqual(bobDevice, carolDevice, 'two ghosts share one device');
    await me.sendText(group, 'matrix into the encrypted group');
    await waitForNetworkMessage(env, GROUP, (m) => m.sender === 'me' && textOf(m) === 'matrix into the encrypted group');
  });

  it('keeps its devices across a restart: both directions still decrypt, no new device', async () => {
    const before = await me.crypto.getUserDeviceInfo([env.ghost('alice'), env.botMxid]);
    await env.stopBridge('SIGTERM');
    await me.sendText(dm, 'sent while the bridge was down');
    await env.startBridge();
    await waitForNetworkMessage(env, DM, (m) => textOf(m) === 'sent while the bridge was down', 60_000);
    await sendAs(env, DM, 'alice', { text: 'alice after the restart' });
    const got = await me.waitForDecrypted(dm, (e) => e.getContent().body === 'alice after the restart');
    assert.ok(got.noWarning, got.reason ?? '');
    const after = await me.crypto.getUserDeviceInfo([env.ghost('alice'), env.botMxid]);
    for (const u of [env.ghost('alice'), env.botMxid]) {
      assert.deepEqual([...after.get(u)!.keys()].sort(), [...before.get(u)!.keys()].sort(), `${u} got a new device`);
    }
  });

  it('shares keys with a new device of the person once it is cross-signed', async () => {
    const second = await E2eeClient.start({ baseUrl: env.synapse.baseUrl, user: { userId: me.userId, password }, isolation: 'only-signed', crossSign: false, deviceName: 'second device' });
    try {
      await me.waitForDevice(me.userId, second.deviceId);
      await me.crypto.crossSignDevice(second.deviceId);
      await second.waitForDevice(me.userId, second.deviceId, true);
      // The ghost learns of the new device from the device-list change in a transaction.
      await eventually('the new device gets the bridged message', async () => {
        const text = `alice to both devices ${Date.now()}`;
        await sendAs(env, DM, 'alice', { text });
        try {
          return await second.waitForDecrypted(dm, (e) => e.getContent().body === text, 8_000);
        } catch {
          return undefined;
        }
      }, 60_000).then((ev) => assert.ok(ev.noWarning, `shield on the new device: ${ev.reason}`));
    } finally {
      await second.stop();
    }
  });

  it('tells the person when a message cannot be decrypted, without losing the next one', async () => {
    // An encrypted event nobody can decrypt (its ciphertext is not even a Megolm message): the
    // bridge says so in a notice replying to it, and the chat goes on. Late keys are tested with a
    // device whose key sharing the test controls (encryption-late-keys.test.ts).
    const fake = {
      algorithm: 'm.megolm.v1.aes-sha2', sender_key: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      session_id: 'nosuchsessionAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', device_id: me.deviceId,
      ciphertext: 'AwgAEhAAAAAAAAAAAAAAAAAAAAAA',
    };
    const res = await fetch(`${env.synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/send/m.room.encrypted/utd${Date.now()}`, {
      method: 'PUT', headers: { Authorization: `Bearer ${me.client.getAccessToken()}`, 'Content-Type': 'application/json' }, body: JSON.stringify(fake),
    });
    const { event_id: utd } = (await res.json()) as { event_id: string };
    await me.sendText(dm, 'the message after the undecryptable one');
    const notice = await me.waitForDecrypted(dm, (e) => e.getSender() === env.botMxid && /could not decrypt this message/.test(e.getContent().body ?? ''), 30_000);
    assert.equal((notice.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } })['m.in_reply_to']?.event_id, utd);
    await waitForNetworkMessage(env, DM, (m) => textOf(m) === 'the message after the undecryptable one');
  });

  it('never needed a warning: no bridged event failed to decrypt on the person\'s device', async () => {
    await sleep(500);
    const failures = me.failuresSeen().filter((f) => f.sender === env.botMxid || f.sender.startsWith('@sandbox_'));
    assert.deepEqual(failures, []);
  });
});
