/**
 * Shared steps for e2e suites that work in portal rooms: log the person in through the bot,
 * find (and join) the Matrix room of a sandbox chat, and wait for something on the network.
 */
import * as sdk from 'matrix-js-sdk';
import type { BridgeEnv } from './bridge-env.js';
import { eventually } from './bridge-env.js';
import type { TestClient } from './matrix-client.js';
import type { TextEntity, WireChat, WireMessage } from '../../bridges/sandbox/src/wire.js';

/** A message as the control API lists it. */
export type NetworkMessage = WireMessage & { read_by?: string[] };
/** A chat as the control API returns it (with its member/state history). */
export type NetworkChat = WireChat & { history: unknown[] };

const enc = encodeURIComponent;

/**
 * Opens a DM with the bot (the management room), runs `login password` as `me`/`sandbox` and
 * waits for "Logged in as me".
 */
export async function loginAsMe(env: BridgeEnv, client: TestClient, account = 'me', password = 'sandbox'): Promise<{ mgmt: string }> {
  const mgmt = (await client.client.createRoom({ is_direct: true, invite: [env.botMxid] })).room_id;
  await client.waitForMembership(mgmt, env.botMxid, 'join', 30_000);
  await client.waitForEvent(mgmt, (e) => e.getSender() === env.botMxid && /management room/.test(e.getContent().body ?? ''), 30_000);
  const bodyMatches = (re: RegExp) => (e: sdk.MatrixEvent) => e.getSender() === env.botMxid && re.test(e.getContent().body ?? '');
  await client.sendText(mgmt, 'login password');
  await client.waitForEvent(mgmt, bodyMatches(/your username/));
  await client.sendText(mgmt, account);
  await client.waitForEvent(mgmt, bodyMatches(/your password/));
  await client.sendText(mgmt, password);
  await client.waitForEvent(mgmt, bodyMatches(new RegExp(`Logged in as ${account}`)), 30_000);
  return { mgmt };
}

interface PortalCache {
  byChat: Map<string, string>;
  /** Rooms whose m.bridge state was already read. */
  scanned: Set<string>;
}
const caches = new WeakMap<TestClient, PortalCache>();

function cacheOf(client: TestClient): PortalCache {
  let c = caches.get(client);
  if (!c) {
    c = { byChat: new Map(), scanned: new Set() };
    caches.set(client, c);
  }
  return c;
}

/** The chat id in a room's `m.bridge` state, read from the server; undefined when not a portal. */
async function bridgedChatOf(client: TestClient, roomId: string): Promise<string | undefined> {
  const state = (await client.client.roomState(roomId)) as unknown as Array<{ type: string; content: { channel?: { id?: string } } }>;
  return state.find((e) => e.type === 'm.bridge' && typeof e.content?.channel?.id === 'string')?.content.channel!.id;
}

/**
 * The Matrix room of a sandbox chat: accepts the bot's portal invites (they carry no m.bridge
 * state before joining), joins them, reads their `m.bridge` state, and caches chat → room.
 */
export async function portalRoom(env: BridgeEnv, client: TestClient, chatId: string, timeoutMs = 30_000): Promise<string> {
  const cache = cacheOf(client);
  const hit = cache.byChat.get(chatId);
  if (hit) return hit;
  return eventually(`the portal room of ${chatId}`, async () => {
    for (const room of client.client.getRooms()) {
      if (cache.scanned.has(room.roomId)) continue;
      const membership = room.getMyMembership();
      if (membership === sdk.KnownMembership.Invite) {
        const inviter = room.getMember(client.userId)?.events.member?.getSender();
        if (inviter !== env.botMxid) continue;
        await client.client.joinRoom(room.roomId);
      } else if (membership !== sdk.KnownMembership.Join) {
        continue;
      }
      const chat = await bridgedChatOf(client, room.roomId);
      cache.scanned.add(room.roomId);
      if (chat) cache.byChat.set(chat, room.roomId);
    }
    return cache.byChat.get(chatId);
  }, timeoutMs);
}

/** Every message the network holds for a chat (incl. the bridge's sends and deleted ones). */
export function networkMessages(env: BridgeEnv, chatId: string): Promise<NetworkMessage[]> {
  return env.control<NetworkMessage[]>('GET', `/chats/${enc(chatId)}/messages`);
}

/** The network's view of a chat: info, members with roles, read receipts, history. */
export function networkChat(env: BridgeEnv, chatId: string): Promise<NetworkChat> {
  return env.control<NetworkChat>('GET', `/chats/${enc(chatId)}`);
}

/** Polls the control API until a message of chatId matches predicate; returns it. */
export function waitForNetworkMessage(
  env: BridgeEnv,
  chatId: string,
  predicate: (m: NetworkMessage) => boolean,
  timeoutMs = 40_000,
): Promise<NetworkMessage> {
  return eventually(`a network message in ${chatId} matching the predicate`, async () => (await networkMessages(env, chatId)).find(predicate), timeoutMs);
}

/** Sends a message on the network as a contact (control API); returns the stored message. */
export function sendAs(env: BridgeEnv, chatId: string, as: string, body: Record<string, unknown>): Promise<NetworkMessage> {
  return env.control<NetworkMessage>('POST', `/chats/${enc(chatId)}/messages`, { as, ...body });
}

/** The text of a message whose content is text or notice ('' otherwise). */
export function textOf(m: NetworkMessage): string {
  return m.content.kind === 'text' || m.content.kind === 'notice' ? m.content.text : '';
}

/**
 * A room's messages as the server holds them (GET /messages), oldest first. Unlike the sync
 * timeline this never has gaps, so it is the place to check order and counts.
 */
export async function roomMessages(client: TestClient, roomId: string, limit = 200): Promise<sdk.IEvent[]> {
  const res = await client.client.createMessagesRequest(roomId, null, limit, sdk.Direction.Backward);
  return [...res.chunk].reverse() as sdk.IEvent[];
}

/** The bytes of an mxc:// URI, downloaded through the authenticated media endpoint as the user. */
export async function downloadMxc(env: BridgeEnv, accessToken: string, mxc: string): Promise<Buffer> {
  const m = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc);
  if (!m) throw new Error(`not an mxc URI: ${mxc}`);
  const res = await fetch(`${env.synapse.baseUrl}/_matrix/client/v1/media/download/${enc(m[1]!)}/${enc(m[2]!)}`, {
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  if (!res.ok) throw new Error(`media download ${mxc}: ${res.status} ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The bytes of a sandbox media id. */
export async function downloadNetworkMedia(env: BridgeEnv, mediaId: string): Promise<Buffer> {
  const res = await fetch(`${env.sandbox.url}/media/${enc(mediaId)}`);
  if (!res.ok) throw new Error(`sandbox media ${mediaId}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The entities of a text or notice message ([] otherwise). */
export function entitiesOf(m: NetworkMessage): Array<TextEntity> {
  return m.content.kind === 'text' || m.content.kind === 'notice' ? m.content.entities : [];
}
