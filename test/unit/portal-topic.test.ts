/**
 * The room topic from the network's chat info: a new topic is set, an empty one clears a topic the
 * room has (a message request accepted drops its line), and is no change for a room without one.
 */
import assert from 'node:assert/strict';
import { applyChatInfo } from '../../shared/src/core/portal-room.js';
import { startFakeCore, type FakeCore } from '../helpers/fake-core.js';

describe('portal topic from chat info', () => {
  let core: FakeCore;
  beforeEach(async () => { core = await startFakeCore(); });
  afterEach(() => core.close());
  const topicStates = () => core.calls.filter((c) => c.method === 'sendState' && c.args[1] === 'm.room.topic').map((c) => (c.args[3] as { topic: string }).topic);

  it('sets a topic, clears it with an empty one, and sends nothing for an empty topic on a room without one', async () => {
    const portal = await core.portal();
    await applyChatInfo(portal, core.login, { topic: '' });
    assert.deepEqual(topicStates(), [], 'no topic to clear');
    await applyChatInfo(portal, core.login, { topic: 'This chat is a message request' });
    assert.equal(portal.row.topic, 'This chat is a message request');
    await applyChatInfo(portal, core.login, { topic: '' });
    assert.deepEqual(topicStates(), ['This chat is a message request', '']);
    assert.equal(portal.row.topic, null);
    await applyChatInfo(portal, core.login, { topic: '' });
    assert.equal(topicStates().length, 2, 'cleared once');
  });
});
