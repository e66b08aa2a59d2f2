/** Which ghost level changes of a Matrix power-levels event are bridged to the network. */
import assert from 'node:assert/strict';
import { changedGhostLevels } from '../../shared/src/core/portal-power-levels.js';
import type { Portal } from '../../shared/src/core/portal.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';

const portal = {
  bridge: { parseGhostMxid: (mxid: string) => (/^@net_(\w+):hs$/.exec(mxid)?.[1]) },
} as unknown as Portal;

function plEvent(users: Record<string, unknown>, prev?: Record<string, unknown>, extra: Record<string, unknown> = {}): MatrixRoomEvent {
  return {
    event_id: '$e', room_id: '!r', sender: '@me:hs', type: 'm.room.power_levels', state_key: '', origin_server_ts: 1,
    content: { users, ...extra }, ...(prev ? { unsigned: { prev_content: prev } } : {}),
  };
}

describe('power-level changes to the network', () => {
  it('reports only ghosts whose effective level changed, with the new level', () => {
    const ev = plEvent(
      { '@net_bob:hs': 50, '@net_carol:hs': 50, '@me:hs': 100, '@net_dan:hs': 0 },
      { users: { '@net_carol:hs': 50, '@me:hs': 50, '@net_erin:hs': 50 } },
    );
    assert.deepEqual(changedGhostLevels(portal, ev).sort((a, b) => a.user.localeCompare(b.user)), [
      { user: 'bob', level: 50 },
      { user: 'erin', level: 0 },
    ]);
  });

  it('uses users_default for users not listed, and ignores the room\'s first power levels', () => {
    const ev = plEvent({}, { users: {}, users_default: 0 }, { users_default: 50 });
    assert.deepEqual(changedGhostLevels(portal, ev), []);
    const withGhost = plEvent({ '@net_bob:hs': 50 }, { users: { '@net_bob:hs': 0 } }, { users_default: 50 });
    assert.deepEqual(changedGhostLevels(portal, withGhost), [{ user: 'bob', level: 50 }]);
    assert.deepEqual(changedGhostLevels(portal, plEvent({ '@net_bob:hs': 50 })), []);
  });

  it('ignores malformed levels instead of throwing', () => {
    const ev = plEvent({ '@net_bob:hs': 'high', '@net_carol:hs': Number.NaN } as Record<string, unknown>, { users: 'nope' });
    assert.deepEqual(changedGhostLevels(portal, ev), []);
  });
});
