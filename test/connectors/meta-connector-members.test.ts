/**
 * Group members changed from Matrix, through the connector's membership handler against the
 * emulator: an invite adds the person to the group (AddParticipants), a kick or a ban removes them
 * (RemoveParticipant), leaving the room removes the person themself, a DM refuses all of it, and
 * what Meta refuses comes back as a BridgeError with nothing changed.
 */
import assert from 'node:assert/strict';
import { BridgeError, portalKey, type MatrixMembershipChange } from '../../shared/src/network/index.js';
import { MetaConnectorEnv, GROUP_1, USER, enc } from '../helpers/meta-connector-env.js';

const DAVE = '15550000009';
const change = (portal: ReturnType<typeof portalKey>, what: MatrixMembershipChange['change'], target: string): MatrixMembershipChange => ({
  portal, roomId: '!room:example.org', eventId: `$m${Math.random()}`, sender: '@alice:example.org', timestamp: Date.now(), change: what, target: target as never,
});

describe('Meta connector: group members from Matrix (Messenger)', function () {
  this.timeout(30_000);
  const env = new MetaConnectorEnv('messenger');
  const group = portalKey(GROUP_1);
  const members = async () => (await env.control<{ members: Array<{ user_id: string }> }>('GET', `/chats/${enc('g:1')}`)).members.map((m) => m.user_id).sort();
  beforeEach(async () => {
    await env.start();
    await env.control('POST', '/accounts', { id: 'dave', name: 'Dave Contact', phone: '+15550000009' });
  });
  afterEach(() => env.stop());

  it('what Meta refuses (a kick by a plain member) is a BridgeError and changes nothing', async () => {
    const { api } = await env.login();
    await assert.rejects(api.handleMatrixMembership(change(group, 'kick', USER.bob)), (err: unknown) => err instanceof BridgeError);
    assert.deepEqual(await members(), ['alice', 'bob', 'carol', 'me']);
  });

  it('invite adds, kick and ban remove, leave removes the person themself', async () => {
    await env.control('POST', `/chats/${enc('g:1')}/roles`, { as: 'alice', user: 'me', role: 'admin' });
    const { api } = await env.login();
    await api.handleMatrixMembership(change(group, 'invite', DAVE));
    assert.deepEqual(await members(), ['alice', 'bob', 'carol', 'dave', 'me']);
    assert.ok(env.dir(api).participants.get(GROUP_1)?.has(DAVE), 'the directory knows the new member from the response');
    await api.handleMatrixMembership(change(group, 'kick', USER.bob));
    await api.handleMatrixMembership(change(group, 'ban', USER.carol));
    assert.deepEqual(await members(), ['alice', 'dave', 'me']);
    assert.equal(env.dir(api).participants.get(GROUP_1)?.has(USER.bob), false);
    await api.handleMatrixMembership(change(group, 'leave', USER.me));
    assert.deepEqual(await members(), ['alice', 'dave'], 'leaving the room left the group on Meta');
    assert.equal(env.dir(api).participants.get(GROUP_1)?.has(USER.me), false);
  });

  it('a DM refuses invite, kick and leave; a target that is not a Meta user is not found', async () => {
    const { api } = await env.login();
    const dm = portalKey(USER.alice, USER.me);
    for (const what of ['invite', 'kick', 'leave'] as const) {
      await assert.rejects(api.handleMatrixMembership(change(dm, what, USER.bob)), (err: unknown) => err instanceof BridgeError && err.reason === 'm_unsupported', what);
    }
    await assert.rejects(api.handleMatrixMembership(change(group, 'invite', 'not-a-meta-id')), (err: unknown) => err instanceof BridgeError && err.reason === 'm_not_found');
    assert.deepEqual(await members(), ['alice', 'bob', 'carol', 'me']);
  });
});
