/**
 * The real Bridge, portals, queues and an in-memory SQLite database, with a recording fake in
 * place of the Matrix API and a scriptable NetworkAPI: for unit tests of the core's portal logic
 * without a homeserver or a network.
 */
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { makeCoreSchema } from '../../shared/src/config/schema.js';
import { Bridge } from '../../shared/src/core/bridge.js';
import type { Portal } from '../../shared/src/core/portal.js';
import type { UserLogin } from '../../shared/src/core/user-login.js';
import type { MatrixMessage, MatrixMessageResponse, NetworkAPI, NetworkConnector, RemoteUserId } from '../../shared/src/network/index.js';

export const PERSON = '@alice:example.org';
export const LOGIN_ID = 'alice';
export const ROOM = '!room:example.org';

export interface ApiCall { method: string; args: unknown[] }

export interface FakeCore {
  db: Database;
  bridge: Bridge;
  /** Every MatrixApi call, in order. */
  calls: ApiCall[];
  /** Messages handed to the network, in order. */
  sentToNetwork: MatrixMessage[];
  login: UserLogin;
  /** The login's NetworkAPI; tests replace its methods. */
  client: NetworkAPI & Record<string, unknown>;
  /** The group portal `chat`, with room ROOM, the login in it; made at `createdAt` (default: now). */
  portal(createdAt?: number): Promise<Portal>;
  close(): Promise<void>;
}

/**
 * Records every MatrixApi call; events get ids $e<n> in call order. `answers` adds or replaces
 * the answers of named calls (e.g. createRoom).
 */
export function recordingApi(calls: ApiCall[], answers: Record<string, (...args: unknown[]) => unknown> = {}): unknown {
  const known: Record<string, (...args: unknown[]) => unknown> = {
    sendEvent: () => `$e${calls.length}`,
    sendState: () => `$s${calls.length}`,
    joinedMembers: () => [],
    getState: () => undefined,
    getProfile: () => ({}),
    ...answers,
  };
  return new Proxy({}, {
    get(_t, name) {
      if (typeof name !== 'string' || name === 'then') return undefined;
      return async (...args: unknown[]) => {
        calls.push({ method: name, args });
        return known[name]?.(...args);
      };
    },
  });
}

export async function startFakeCore(): Promise<FakeCore> {
  const db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
  await db.migrate();
  const calls: ApiCall[] = [];
  const sentToNetwork: MatrixMessage[] = [];
  const core = makeCoreSchema('net').parse({ permissions: { '*': 'user' }, homeserver: { domain: 'example.org', address: 'http://127.0.0.1:1' } });
  const connector = {
    name: { displayName: 'Net', networkId: 'net', protocolId: 'net', networkUrl: 'https://net.example', defaultPort: 1, botDisplayName: 'bot' },
  } as unknown as NetworkConnector<unknown>;
  const bridge = new Bridge({ ...core, network: {} }, db, connector);
  (bridge as unknown as { api: unknown }).api = recordingApi(calls);
  const client = {
    connect: () => undefined, disconnect: async () => undefined, isLoggedIn: () => true, logoutRemote: async () => undefined,
    isThisUser: (u: RemoteUserId) => u === LOGIN_ID,
    getChatInfo: async () => ({ type: 'group', name: 'Chat' }),
    getUserInfo: async () => ({}),
    getCapabilities: () => ({ edits: {}, reactions: {}, deletes: {} }),
    handleMatrixMessage: async (msg: MatrixMessage): Promise<MatrixMessageResponse> => {
      sentToNetwork.push(msg);
      return { id: `net-${sentToNetwork.length}` as MatrixMessageResponse['id'], timestamp: 1000 + sentToNetwork.length };
    },
  } as unknown as FakeCore['client'];
  await db.users.getOrCreate(PERSON);
  await db.logins.upsert({ id: LOGIN_ID, userMxid: PERSON, remoteName: 'alice', spaceRoom: null, metadata: {}, createdAt: 1 });
  const login = { id: LOGIN_ID, userMxid: PERSON, remoteName: 'alice', spaceRoom: null, client, log: bridge.log } as unknown as UserLogin;
  bridge.getLogin = () => login;
  bridge.loginsOf = (mxid: string) => (mxid === PERSON ? [login] : []);
  return {
    db, bridge, calls, sentToNetwork, login, client,
    async portal(createdAt?: number) {
      await db.portals.upsert({ id: 'chat', receiver: '', roomType: 'group', mxid: ROOM, ...(createdAt !== undefined ? { createdAt } : {}) });
      await db.userPortals.upsert({ loginId: LOGIN_ID, portalId: 'chat', portalReceiver: '', userMxid: PERSON, inSpace: true, preferred: true });
      return (await bridge.getPortalByRoom(ROOM))!;
    },
    close: () => db.close(),
  };
}
