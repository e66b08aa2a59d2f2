/**
 * The fault harness for encrypted portals (test/fault/encryption-kill.test.ts): the same stack,
 * load and counting as the other scenarios, but the person is a matrix-js-sdk client with Rust
 * crypto (test/helpers/e2ee-client.ts) whose sends are encrypted, and the Matrix side is read
 * DECRYPTED. Every encrypted event is fetched from /messages (no sync gaps) and decrypted by the
 * person's own client; what the bridge's devices sent is also kept as raw ciphertext, so Megolm
 * (session, message index) pairs and sending devices can be checked.
 */
import * as sdk from 'matrix-js-sdk';
import { BridgeEnv, sleep } from '../../helpers/bridge-env.js';
import { E2eeClient } from '../../helpers/e2ee-client.js';
import { megolmIndex } from '../../helpers/olm-device.js';
import { loginAsMe, networkMessages, portalRoom, textOf } from '../../helpers/portal-setup.js';
import { checkDelivery, type ObservedChat, type SeenMessage } from './check.js';
import type { MixedLoad } from './load.js';
import type { DeliveryResult, Excuse } from './observe.js';
import type { FaultStack, LoadChat } from './stack.js';

export interface EncryptedStack extends FaultStack {
  person: E2eeClient;
}

/**
 * A bridge in which portals are encrypted from their creation, the person logged in (through an
 * unencrypted management room) with a cross-signed js-sdk device, and the portals of `chatIds`
 * joined and seen encrypted. `sender` is the person's crypto client: its sends are encrypted.
 */
export async function startEncryptedStack(localpart: string, chatIds: string[]): Promise<EncryptedStack> {
  const env = await BridgeEnv.start({
    db: 'sqlite',
    config: { logging: { level: process.env.TRIBUTARY_E2E_LOG ?? 'warn' }, encryption: { allow: true, default: true } },
  });
  let person: E2eeClient | undefined;
  try {
    const user = await env.synapse.registerUser(localpart);
    person = await E2eeClient.start({ baseUrl: env.synapse.baseUrl, user, isolation: 'only-signed' });
    await loginAsMe(env, person.base);
    const networkChats = await env.control<Array<{ id: string; members: Array<{ user_id: string }> }>>('GET', '/chats?account=me');
    const chats: LoadChat[] = [];
    for (const id of chatIds) {
      const chat = networkChats.find((c) => c.id === id);
      if (!chat) throw new Error(`no network chat ${id}`);
      const room = await portalRoom(env, person.base, id, 60_000);
      await person.waitForEncryption(room);
      chats.push({ id, room, contacts: chat.members.map((m) => m.user_id).filter((u) => u !== 'me') });
    }
    const p = person;
    return {
      env, me: p.base, sender: p.client, chats, person: p,
      async stop() {
        await p.stop();
        await env.stop();
      },
    };
  } catch (err) {
    await person?.stop();
    await env.stop();
    throw err;
  }
}

/** An event one of the bridge's devices sent, as its ciphertext reached the person. */
export interface BridgeCiphertext {
  eventId: string;
  roomId: string;
  sender: string;
  sessionId: string;
  index: number;
  /** The sending device's Curve25519 key (identifies the device even where device_id is absent). */
  senderKey: string | undefined;
  deviceId: string | undefined;
}

interface Clear {
  type: string;
  body: string | undefined;
}

/**
 * The rooms as the person's device can read them. Decrypted events are remembered (each is
 * decrypted once); an event that cannot be decrypted yet is tried again at the next read.
 */
export class DecryptedView {
  private readonly clear = new Map<string, Clear>();
  readonly ciphertexts = new Map<string, BridgeCiphertext>();
  /** Ids of every event read that arrived as m.room.encrypted. */
  readonly encrypted = new Set<string>();
  /** Encrypted events from the bridge's users that the last read could not decrypt. */
  readonly undecryptable = new Map<string, { roomId: string; sender: string; reason: string | null }>();

  private readonly mapper: ReturnType<sdk.MatrixClient['getEventMapper']>;

  constructor(private readonly person: E2eeClient, private readonly isBridgeUser: (mxid: string) => boolean) {
    // The client's own mapper, so the event models come from the same copy of the SDK as the
    // client (e2ee-client.ts). No re-emit: an attempt made here is not a failure seen live.
    this.mapper = person.client.getEventMapper({ preventReEmit: true, decrypt: false });
  }

  private async decrypt(raw: sdk.IEvent): Promise<Clear | undefined> {
    const known = this.clear.get(raw.event_id);
    if (known) return known;
    // The live timeline's model when the client has one (its own retries fix it when a key comes
    // late), else a new one; either way a failure is tried again at the next read.
    const ev = this.mapper(raw);
    await this.person.client.decryptEventIfNeeded(ev);
    if (ev.isDecryptionFailure() || ev.getClearContent() === null) {
      if (this.isBridgeUser(raw.sender)) this.undecryptable.set(raw.event_id, { roomId: raw.room_id ?? '', sender: raw.sender, reason: ev.decryptionFailureReason });
      return undefined;
    }
    this.undecryptable.delete(raw.event_id);
    const body = (ev.getContent() as { body?: unknown }).body;
    const clear = { type: ev.getType(), body: typeof body === 'string' ? body : undefined };
    this.clear.set(raw.event_id, clear);
    return clear;
  }

  private keepCiphertext(raw: sdk.IEvent): void {
    if (!this.isBridgeUser(raw.sender) || this.ciphertexts.has(raw.event_id)) return;
    const content = raw.content as Record<string, unknown>;
    const { sessionId, index } = megolmIndex(content);
    this.ciphertexts.set(raw.event_id, {
      eventId: raw.event_id, roomId: raw.room_id ?? '', sender: raw.sender, sessionId, index,
      senderKey: typeof content.sender_key === 'string' ? content.sender_key : undefined,
      deviceId: typeof content.device_id === 'string' ? content.device_id : undefined,
    });
  }

  /** Every m.room.message of the room, decrypted where it was encrypted, oldest first. */
  async messages(roomId: string): Promise<SeenMessage[]> {
    const raws: sdk.IEvent[] = [];
    let from: string | null = null;
    for (let page = 0; page < 200; page++) {
      const res: Awaited<ReturnType<sdk.MatrixClient['createMessagesRequest']>> =
        await this.person.client.createMessagesRequest(roomId, from, 500, sdk.Direction.Backward);
      raws.push(...(res.chunk as sdk.IEvent[]));
      if (!res.end || res.chunk.length === 0) break;
      from = res.end;
    }
    const out: SeenMessage[] = [];
    for (const raw of raws.reverse()) {
      let clear: Clear | undefined;
      if (raw.type === 'm.room.encrypted') {
        this.encrypted.add(raw.event_id);
        this.keepCiphertext(raw);
        clear = await this.decrypt(raw);
      } else {
        const body = (raw.content as { body?: unknown }).body;
        clear = { type: raw.type, body: typeof body === 'string' ? body : undefined };
      }
      if (clear?.type === 'm.room.message' && clear.body !== undefined) out.push({ body: clear.body, id: raw.event_id, sender: raw.sender });
    }
    return out;
  }

  /** Both sides of every chat: Matrix decrypted, the network from the control API. */
  observe(stack: FaultStack): Promise<ObservedChat[]> {
    return Promise.all(stack.chats.map(async (chat) => ({
      chat: chat.id,
      matrix: await this.messages(chat.room),
      network: (await networkMessages(stack.env, chat.id)).map((m) => ({ body: textOf(m), id: m.id, sender: m.sender })),
    })));
  }

  /** observe.ts's awaitDelivery, reading the Matrix side decrypted. */
  async awaitDelivery(stack: FaultStack, load: MixedLoad, boundMs: number, excuse?: Excuse): Promise<DeliveryResult> {
    const from = load.lastAcceptedAt;
    for (;;) {
      const observed = await this.observe(stack);
      const report = checkDelivery(load.tag, load.sent, observed);
      const now = Date.now();
      const lost = [...report.matrix.lost, ...report.network.lost];
      const excused = lost.length && excuse ? await excuse(report, load) : new Set<string>();
      if (lost.every((b) => excused.has(b))) return { report, observed, deliveryMs: now - from, complete: true };
      if (now - from > boundMs) return { report, observed, deliveryMs: now - from, complete: false };
      await sleep(500);
    }
  }
}

/** (session, index) pairs that more than one event used: each is a broken Megolm guarantee. */
export function megolmReuse(ciphertexts: Iterable<BridgeCiphertext>): Array<{ sessionId: string; index: number; eventIds: string[] }> {
  const byPair = new Map<string, BridgeCiphertext[]>();
  for (const c of ciphertexts) {
    const key = `${c.sessionId}\u0000${c.index}`;
    byPair.set(key, [...(byPair.get(key) ?? []), c]);
  }
  return [...byPair.values()].filter((l) => l.length > 1).map((l) => ({ sessionId: l[0]!.sessionId, index: l[0]!.index, eventIds: l.map((c) => c.eventId) }));
}

/** Per sender, the distinct sending devices (device_id or, without it, the Curve25519 key) seen in its ciphertexts. */
export function sendingDevices(ciphertexts: Iterable<BridgeCiphertext>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const c of ciphertexts) {
    const set = out.get(c.sender) ?? new Set<string>();
    set.add(c.deviceId ?? c.senderKey ?? '?');
    out.set(c.sender, set);
  }
  return out;
}

/** The devices the homeserver lists for each user (POST /keys/query as the person), sorted. */
export async function publishedDevices(person: E2eeClient, users: string[]): Promise<Record<string, string[]>> {
  const res = await fetch(`${person.client.baseUrl}/_matrix/client/v3/keys/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${person.client.getAccessToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ device_keys: Object.fromEntries(users.map((u) => [u, []])) }),
  });
  if (!res.ok) throw new Error(`keys/query: HTTP ${res.status}`);
  const body = (await res.json()) as { device_keys?: Record<string, Record<string, unknown>> };
  return Object.fromEntries(users.map((u) => [u, Object.keys(body.device_keys?.[u] ?? {}).sort()]));
}
