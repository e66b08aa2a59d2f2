/**
 * The encrypting person's client itself, in a real Synapse without any bridge: two
 * cross-signed people in "exclude insecure devices" mode talk without warnings, and a
 * device that is not cross-signed is refused (only-signed) or shown with a red shield (all).
 * This proves the check the bridge's encryption tests rely on can fail.
 */
import assert from 'node:assert/strict';
import {
  DecryptionFailureCode,
  E2eeClient,
  EventShieldColour,
  EventShieldReason,
} from '../helpers/e2ee-client.js';
import { startSynapse, type RegisteredUser, type SynapseHandle } from '../helpers/synapse.js';

describe('e2e: encrypting person client (Rust crypto, real Synapse)', function () {
  this.timeout(60_000);
  let synapse: SynapseHandle;
  let aliceUser: RegisteredUser;
  let bobUser: RegisteredUser;
  let alice: E2eeClient;
  let bob: E2eeClient;
  let insecure: E2eeClient | undefined;
  let room: string;

  before(async function () {
    this.timeout(120_000);
    synapse = await startSynapse();
    aliceUser = await synapse.registerUser('alice', 'alice-password');
    bobUser = await synapse.registerUser('bob', 'bob-password');
    [alice, bob] = await Promise.all([
      E2eeClient.start({ baseUrl: synapse.baseUrl, user: aliceUser, isolation: 'only-signed' }),
      E2eeClient.start({ baseUrl: synapse.baseUrl, user: bobUser, isolation: 'only-signed' }),
    ]);
  });

  after(async function () {
    this.timeout(30_000);
    for (const c of [insecure, bob, alice]) await c?.stop();
    await synapse?.stop();
  });

  it('opens an encrypted DM; each person\'s device is cross-signed as the other person sees it', async () => {
    room = await alice.createEncryptedRoom({ invite: [bobUser.userId], isDirect: true, name: 'e2ee' });
    await bob.waitForInvite((id) => id === room);
    await bob.joinRoom(room);
    await bob.waitForEncryption(room);
    await alice.waitForMembership(room, bobUser.userId, 'join');
    // Known to the other side only through the server: the self-signing signature was uploaded.
    await alice.waitForDevice(bobUser.userId, bob.deviceId, true);
    await bob.waitForDevice(aliceUser.userId, alice.deviceId, true);
    const own = await alice.crypto.getDeviceVerificationStatus(aliceUser.userId, alice.deviceId);
    assert.equal(own?.crossSigningVerified, true, 'the person trusts their own device through cross-signing');
  });

  it('both cross-signed, only-signed: messages both ways decrypt with no warning shield', async () => {
    const helloId = await alice.sendText(room, 'hello bob');
    const hello = await bob.waitForDecrypted(room, (ev) => ev.getId() === helloId);
    assert.equal(hello.event.getWireType(), 'm.room.encrypted', 'it travelled encrypted');
    assert.equal(hello.sender, aliceUser.userId);
    assert.equal(hello.type, 'm.room.message');
    assert.equal(hello.content['body'], 'hello bob');
    assert.equal(hello.noWarning, true, `shield on alice's message: ${hello.reason}`);

    const replyId = await bob.sendReply(room, helloId, 'hi alice');
    const reply = await alice.waitForDecrypted(room, (ev) => ev.getId() === replyId);
    assert.equal(reply.sender, bobUser.userId);
    assert.deepEqual(reply.content['m.relates_to'], { 'm.in_reply_to': { event_id: helloId } });
    assert.equal(reply.noWarning, true, `shield on bob's reply: ${reply.reason}`);

    const editId = await alice.sendEdit(room, helloId, 'hello bob, edited');
    const edit = await bob.waitForDecrypted(room, (ev) => ev.getId() === editId);
    assert.deepEqual(edit.content['m.new_content'], { msgtype: 'm.text', body: 'hello bob, edited' });
    assert.equal(edit.noWarning, true, `shield on the edit: ${edit.reason}`);

    // The person's own echo is decrypted by their own device, also without a shield.
    const ownEcho = await alice.waitForDecrypted(room, (ev) => ev.getId() === editId);
    assert.equal(ownEcho.noWarning, true, `shield on alice's own edit: ${ownEcho.reason}`);

    assert.deepEqual(alice.decryptionFailures(room), [], 'alice has undecryptable events');
    assert.deepEqual(bob.decryptionFailures(room), [], 'bob has undecryptable events');
  });

  it('a device that is not cross-signed: undecryptable under only-signed, red shield under all', async () => {
    // Bob's second login: crypto, but never cross-signed ("an insecure device").
    insecure = await E2eeClient.start({
      baseUrl: synapse.baseUrl,
      user: bobUser,
      crossSign: false,
      isolation: 'all',
      deviceName: 'unverified laptop',
    });
    await insecure.waitForEncryption(room);
    await alice.waitForDevice(bobUser.userId, insecure.deviceId, false);
    await bob.waitForDevice(bobUser.userId, insecure.deviceId, false);
    bob.setIsolationMode('all');

    const firstId = await insecure.sendText(room, 'from an unverified device');
    const refused = await alice.waitForDecryptionFailure(
      room,
      (f) => f.eventId === firstId && f.reason === DecryptionFailureCode.UNSIGNED_SENDER_DEVICE,
    );
    assert.equal(refused.sender, bobUser.userId);
    const shown = await bob.waitForDecrypted(room, (ev) => ev.getId() === firstId);
    assert.equal(shown.content['body'], 'from an unverified device');
    assert.equal(shown.noWarning, false);
    assert.equal(shown.shieldColour, EventShieldColour.RED);
    assert.equal(shown.shieldReason, EventShieldReason.UNSIGNED_DEVICE);

    // The same check from another user's point of view.
    alice.setIsolationMode('all');
    const secondId = await insecure.sendText(room, 'again from the unverified device');
    const warned = await alice.waitForDecrypted(room, (ev) => ev.getId() === secondId);
    assert.equal(warned.noWarning, false);
    assert.equal(warned.reason, 'UNSIGNED_DEVICE');
  });

  it('only-signed sending withholds the room key from a device that is not cross-signed', async () => {
    assert.ok(insecure, 'the previous case created the insecure device');
    alice.setIsolationMode('only-signed');
    const id = await alice.sendText(room, 'only for signed devices');
    const ok = await bob.waitForDecrypted(room, (ev) => ev.getId() === id);
    assert.equal(ok.noWarning, true, `shield on the message: ${ok.reason}`);
    const withheld = await insecure.waitForDecryptionFailure(
      room,
      (f) => f.eventId === id && f.reason === DecryptionFailureCode.MEGOLM_KEY_WITHHELD_FOR_UNVERIFIED_DEVICE,
    );
    assert.equal(withheld.sender, aliceUser.userId);
  });
});
