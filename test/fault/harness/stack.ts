/**
 * The stack every fault scenario runs on: a real Synapse, the in-process sandbox network and the
 * sandbox bridge as its own process (BridgeEnv), the person logged in as `me`, and several portals
 * (groups and DMs) whose Matrix rooms the person has joined.
 */
import * as sdk from 'matrix-js-sdk';
import { BridgeEnv } from '../../helpers/bridge-env.js';
import type { TestClient } from '../../helpers/matrix-client.js';
import { loginAsMe, portalRoom } from '../../helpers/portal-setup.js';

/** One portal under load: the network chat, its Matrix room, and the contacts who talk in it. */
export interface LoadChat {
  id: string;
  room: string;
  contacts: string[];
}

export interface FaultStack {
  env: BridgeEnv;
  /** The person's syncing client (setup: management room, invites). */
  me: TestClient;
  /**
   * The person's sending client: the same account and device, without sync or scheduler, so each
   * send is one PUT with our own transaction id (retried with the same id, as a client does).
   */
  sender: sdk.MatrixClient;
  chats: LoadChat[];
  stop(): Promise<void>;
}

/** The seeded demo network (g:1, dm:alice:me, dm:bob:me) plus a second group and a third DM. */
const EXTRA_GROUPS = [{ name: 'Fault club', creator: 'bob', members: ['me', 'alice', 'carol'] }];
const EXTRA_DMS = [{ a: 'carol', b: 'me' }];

export async function startFaultStack(localpart: string): Promise<FaultStack> {
  const env = await BridgeEnv.start({
    // The scenarios need the log only when something fails; info level costs CPU under load.
    config: { logging: { level: process.env.TRIBUTARY_E2E_LOG ?? 'warn' } },
  });
  let me: TestClient | undefined;
  try {
    for (const g of EXTRA_GROUPS) await env.control('POST', '/groups', g);
    for (const d of EXTRA_DMS) await env.control('POST', '/dms', d);
    const { user, client } = await env.user(localpart);
    me = client;
    await loginAsMe(env, me);
    const networkChats = await env.control<Array<{ id: string; members: Array<{ user_id: string }> }>>('GET', '/chats?account=me');
    const chats: LoadChat[] = [];
    for (const chat of networkChats) {
      const room = await portalRoom(env, me, chat.id, 60_000);
      chats.push({ id: chat.id, room, contacts: chat.members.map((m) => m.user_id).filter((u) => u !== 'me') });
    }
    // Not createClient: it adds a scheduler that retries on its own with fresh local echoes.
    const sender = new sdk.MatrixClient({ baseUrl: env.synapse.baseUrl, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId });
    const person = me;
    return {
      env, me: person, sender, chats,
      async stop() {
        sender.stopClient();
        await person.stop();
        await env.stop();
      },
    };
  } catch (err) {
    await me?.stop();
    await env.stop();
    throw err;
  }
}
