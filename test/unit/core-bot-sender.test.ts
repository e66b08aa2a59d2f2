/**
 * A RemoteSender marked `isBridgeBot` is sent as the bridge bot (a connector's notice about the
 * chat, such as Meta's "end-to-end encrypted, cannot be bridged yet"), while a person's sender
 * still becomes their ghost. The real Bridge and SQLite database, no homeserver.
 */
import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { makeCoreSchema } from '../../shared/src/config/schema.js';
import { Bridge } from '../../shared/src/core/bridge.js';
import type { Portal } from '../../shared/src/core/portal.js';
import type { UserLogin } from '../../shared/src/core/user-login.js';
import type { NetworkConnector, RemoteUserId } from '../../shared/src/network/index.js';

describe('core: a sender that is the bridge bot', () => {
  let db: Database;
  let bridge: Bridge;

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    const core = makeCoreSchema('net').parse({ permissions: { '*': 'user' }, homeserver: { domain: 'example.org', address: 'http://127.0.0.1:1' } });
    const connector = {
      name: { displayName: 'Net', networkId: 'net', protocolId: 'net', networkUrl: 'https://net.example', defaultPort: 1, botDisplayName: 'bot' },
    } as unknown as NetworkConnector<unknown>;
    bridge = new Bridge({ ...core, network: {} }, db, connector);
  });
  afterEach(() => db.close());

  it('isBridgeBot sends as the bot; the same user without it is their ghost', async () => {
    const portal = { roomId: undefined } as unknown as Portal;
    const login = { userMxid: '@alice:example.org', client: { isThisUser: () => false } } as unknown as UserLogin;
    const user = '12345' as RemoteUserId;
    assert.equal(await bridge.actorFor(portal, login, user, { user, isFromMe: false, isBridgeBot: true }), bridge.botMxid);
    assert.equal(await bridge.actorFor(portal, login, user, { user, isFromMe: false }), bridge.ghostMxid(user));
  });
});
