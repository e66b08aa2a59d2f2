/**
 * The real-Synapse harness itself: start, shared-secret registration, two
 * matrix-js-sdk clients talking through a room, refusal of a wrong secret,
 * and restart keeping the data.
 */
import assert from 'node:assert/strict';
import * as sdk from 'matrix-js-sdk';
import { TestClient } from '../helpers/matrix-client.js';
import { sharedSecretRegister, startSynapse, type RegisteredUser, type SynapseHandle } from '../helpers/synapse.js';

describe('e2e: Synapse harness', function () {
  let synapse: SynapseHandle;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  const clients: TestClient[] = [];

  before(async function () {
    this.timeout(120_000);
    synapse = await startSynapse();
    alice = await synapse.registerUser('alice', 'alice-password');
    bob = await synapse.registerUser('bob');
  });

  after(async function () {
    this.timeout(30_000);
    for (const c of clients) await c.stop();
    await synapse?.stop();
  });

  it('reports where and what it runs', function () {
    assert.match(synapse.version, /^\d+\.\d+\.\d+/);
    assert.equal(synapse.serverName, 'localhost');
    assert.equal(synapse.baseUrl, `http://127.0.0.1:${synapse.port}`);
  });

  it('registers users through the shared-secret API', function () {
    assert.equal(alice.userId, '@alice:localhost');
    assert.equal(bob.userId, '@bob:localhost');
    assert.ok(alice.accessToken.length > 0 && alice.deviceId.length > 0);
    assert.equal(alice.password, 'alice-password');
    assert.ok(bob.password.length >= 16, 'a generated password');
  });

  it('carries a message from one client to another through a room', async function () {
    this.timeout(60_000);
    const a = await TestClient.start(synapse.baseUrl, alice.userId, alice.accessToken, alice.deviceId);
    clients.push(a);
    const b = await TestClient.start(synapse.baseUrl, bob.userId, bob.accessToken, bob.deviceId);
    clients.push(b);

    const { room_id: roomId } = await a.client.createRoom({ name: 'harness', invite: [bob.userId] });
    const invitedTo = await b.waitForInvite((id, inviter) => id === roomId && inviter === alice.userId);
    assert.equal(invitedTo, roomId);

    await b.client.joinRoom(roomId);
    await a.waitForMembership(roomId, bob.userId, 'join');

    const eventId = await a.sendText(roomId, 'hello bob');
    const seen = await b.waitForEvent(roomId, (ev) => ev.getId() === eventId);
    assert.equal(seen.getSender(), alice.userId);
    assert.equal(seen.getType(), sdk.EventType.RoomMessage);
    assert.deepEqual(seen.getContent(), { msgtype: 'm.text', body: 'hello bob' });

    const htmlId = await a.sendHtml(roomId, 'bold', '<b>bold</b>');
    const html = await b.waitForEvent(roomId, (ev) => ev.getId() === htmlId);
    assert.equal(html.getContent()['formatted_body'], '<b>bold</b>');

    const name = await b.waitForRoomState(roomId, sdk.EventType.RoomName, '');
    assert.equal(name.getContent()['name'], 'harness');
    assert.ok(b.timeline(roomId).some((ev) => ev.getId() === eventId), 'the message is in the timeline');
  });

  it('reports what a wait was for when it times out', async function () {
    const a = clients[0];
    assert.ok(a, 'the previous test started a client');
    await assert.rejects(
      a.waitForInvite(() => false, 200),
      (err: Error) => err.message.includes(`an invite for ${alice.userId}`),
    );
  });

  it('refuses a registration signed with the wrong shared secret', async function () {
    await assert.rejects(
      sharedSecretRegister(synapse.baseUrl, 'not-the-secret', 'mallory', 'pw'),
      (err: Error & { status?: number }) => err.status === 403,
    );
    // And the user was not created: the right secret can still take the name.
    const mallory = await synapse.registerUser('mallory');
    assert.equal(mallory.userId, '@mallory:localhost');
  });

  it('keeps users and their tokens across restart()', async function () {
    this.timeout(120_000);
    for (const c of clients.splice(0)) await c.stop();
    const portBefore = synapse.port;
    await synapse.restart();
    assert.equal(synapse.port, portBefore);

    const whoami = await fetch(`${synapse.baseUrl}/_matrix/client/v3/account/whoami`, {
      headers: { authorization: `Bearer ${bob.accessToken}` },
    });
    assert.equal(whoami.status, 200);
    assert.equal(((await whoami.json()) as { user_id: string }).user_id, bob.userId);

    const login = await fetch(`${synapse.baseUrl}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: 'alice' },
        password: 'alice-password',
      }),
    });
    assert.equal(login.status, 200);
    assert.equal(((await login.json()) as { user_id: string }).user_id, alice.userId);
  });
});
