/**
 * A Matrix device of the person driven directly by the wasm OlmMachine, for tests that must
 * control when a room key travels: it can encrypt and send a message while HOLDING BACK the
 * to-device messages that carry its Megolm room key, and release them later, as a slow or
 * misbehaving client would.
 *
 * It uses the bridge's own crypto version (18.9.0, under shared/node_modules), not the 14.x that
 * matrix-js-sdk puts at the repo root. It has no sync loop: it logs in with a password (a new
 * device), uploads its keys, and answers its own outgoing requests (key queries, claims) as it
 * goes; it never receives anything, which is all a sender needs.
 */
import { createRequire } from 'node:module';
import type * as Wasm from '../../shared/node_modules/@matrix-org/matrix-sdk-crypto-wasm/index.js';

const requireFromShared = createRequire(new URL('../../shared/package.json', import.meta.url));
const wasm = requireFromShared('@matrix-org/matrix-sdk-crypto-wasm') as typeof Wasm;

type Outgoing = Awaited<ReturnType<Wasm.OlmMachine['outgoingRequests']>>[number];
const enc = encodeURIComponent;

/** The room-key messages of one share, not sent yet (the machine believes they were). */
export interface HeldKey {
  roomId: string;
  /** Users whose devices the held messages are addressed to. */
  recipients: string[];
  requests: Array<{ eventType: string; txnId: string; body: string }>;
  released: boolean;
}

export interface OlmDeviceOptions {
  baseUrl: string;
  user: { userId: string; password: string };
  deviceName?: string;
}

/** The session and message index of a Megolm event, read from its ciphertext. */
export interface MegolmIndex {
  sessionId: string;
  index: number;
}

/**
 * Reads the Megolm message index of an `m.room.encrypted` content: the ciphertext is base64 of
 * version byte 3, then protobuf field 1 (tag 0x08) holding the index as a varint.
 */
export function megolmIndex(content: Record<string, unknown>): MegolmIndex {
  const { ciphertext, session_id: sessionId } = content;
  if (typeof ciphertext !== 'string' || typeof sessionId !== 'string') throw new Error('not a Megolm content (no ciphertext or session_id)');
  const bytes = Buffer.from(ciphertext, 'base64');
  if (bytes[0] !== 3 || bytes[1] !== 0x08) throw new Error(`unexpected Megolm message layout (starts ${bytes.subarray(0, 2).toString('hex')})`);
  let index = 0;
  let shift = 0;
  for (let i = 2; i < bytes.length && shift < 35; i++) {
    const b = bytes[i]!;
    index += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { sessionId, index };
    shift += 7;
  }
  throw new Error('truncated or oversized Megolm message index');
}

async function passwordLogin(baseUrl: string, userId: string, password: string, deviceName: string): Promise<{ accessToken: string; deviceId: string }> {
  const res = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: userId }, password, initial_device_display_name: deviceName }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== 'string' || typeof body.device_id !== 'string') {
    // Never the password.
    throw new Error(`password login of ${userId} failed: HTTP ${res.status} ${String(body.errcode)}`);
  }
  return { accessToken: body.access_token, deviceId: body.device_id };
}

export class OlmDevice {
  private txn = 0;

  private constructor(
    private readonly baseUrl: string,
    readonly userId: string,
    readonly deviceId: string,
    private readonly accessToken: string,
    readonly machine: Wasm.OlmMachine,
  ) {}

  /** Logs in (a new device), creates its machine in memory and uploads its keys. */
  static async login(opts: OlmDeviceOptions): Promise<OlmDevice> {
    await wasm.initAsync();
    const { accessToken, deviceId } = await passwordLogin(opts.baseUrl, opts.user.userId, opts.user.password, opts.deviceName ?? 'raw Olm test device');
    const machine = await wasm.OlmMachine.initialize(new wasm.UserId(opts.user.userId), new wasm.DeviceId(deviceId));
    const dev = new OlmDevice(opts.baseUrl, opts.user.userId, deviceId, accessToken, machine);
    await dev.flush();
    return dev;
  }

  /** One Client-Server call as this device; the answer's text (errors carry the errcode). */
  async call(method: string, path: string, body?: unknown): Promise<string> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.accessToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path.split('?')[0]} as ${this.userId}/${this.deviceId}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return text || '{}';
  }

  private route(req: Outgoing): { method: string; path: string } | undefined {
    if (req instanceof wasm.KeysUploadRequest) return { method: 'POST', path: '/_matrix/client/v3/keys/upload' };
    if (req instanceof wasm.KeysQueryRequest) return { method: 'POST', path: '/_matrix/client/v3/keys/query' };
    if (req instanceof wasm.KeysClaimRequest) return { method: 'POST', path: '/_matrix/client/v3/keys/claim' };
    if (req instanceof wasm.SignatureUploadRequest) return { method: 'POST', path: '/_matrix/client/v3/keys/signatures/upload' };
    if (req instanceof wasm.ToDeviceRequest) return { method: 'PUT', path: `/_matrix/client/v3/sendToDevice/${enc(req.event_type)}/${enc(req.txn_id)}` };
    if (req instanceof wasm.RoomMessageRequest) return { method: 'PUT', path: `/_matrix/client/v3/rooms/${enc(req.room_id)}/send/${enc(req.event_type)}/${enc(req.txn_id)}` };
    return undefined; // key backup: never enabled here
  }

  private async send(req: Outgoing): Promise<void> {
    const r = this.route(req);
    if (!r) return;
    const answer = await this.call(r.method, r.path, JSON.parse(req.body));
    if (req.id !== undefined) await this.machine.markRequestAsSent(req.id, req.type, answer);
  }

  /** Answers what the machine has queued (key upload, key queries, ...) until nothing is left. */
  async flush(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const reqs = (await this.machine.outgoingRequests()).filter((r) => this.route(r) !== undefined);
      if (reqs.length === 0) return;
      for (const req of reqs) await this.send(req);
    }
  }

  async joinedMembers(roomId: string): Promise<string[]> {
    const res = JSON.parse(await this.call('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`)) as { joined?: Record<string, unknown> };
    return Object.keys(res.joined ?? {});
  }

  /**
   * Makes sure every device of the room's joined members has the room's current outbound Megolm
   * session (tracking the members, claiming one-time keys for new Olm sessions). With `hold`, the
   * to-device messages carrying the key are kept back (the machine is told they were sent) until
   * `release`; `requests` is empty when everyone had the session already.
   */
  async shareRoomKey(roomId: string, opts: { hold: boolean }): Promise<HeldKey> {
    const users = await this.joinedMembers(roomId);
    const ids = () => users.map((u) => new wasm.UserId(u));
    await this.machine.updateTrackedUsers(ids());
    await this.flush();
    const claim = await this.machine.getMissingSessions(ids());
    if (claim) await this.send(claim);
    const settings = new wasm.EncryptionSettings();
    settings.sharingStrategy = wasm.CollectStrategy.allDevices();
    const held: HeldKey = { roomId, recipients: [], requests: [], released: !opts.hold };
    for (const req of await this.machine.shareRoomKey(new wasm.RoomId(roomId), ids(), settings)) {
      if (!opts.hold) {
        await this.send(req);
        continue;
      }
      held.requests.push({ eventType: req.event_type, txnId: req.txn_id, body: req.body });
      const messages = (JSON.parse(req.body) as { messages?: Record<string, unknown> }).messages ?? {};
      for (const u of Object.keys(messages)) if (!held.recipients.includes(u)) held.recipients.push(u);
      await this.machine.markRequestAsSent(req.id, req.type, '{}');
    }
    return held;
  }

  /** Sends the held room-key messages now. */
  async release(held: HeldKey): Promise<void> {
    if (held.released) throw new Error(`the key for ${held.roomId} was released already`);
    for (const r of held.requests) await this.call('PUT', `/_matrix/client/v3/sendToDevice/${enc(r.eventType)}/${enc(r.txnId)}`, JSON.parse(r.body));
    held.released = true;
  }

  /** Starts a new Megolm session for the room at the next share (the old one is never used again). */
  async rotate(roomId: string): Promise<void> {
    await this.machine.invalidateGroupSession(new wasm.RoomId(roomId));
  }

  /**
   * Encrypts with the room's current session (call `shareRoomKey` first) and sends it; resolves
   * with the event id and the message index the event used.
   */
  async sendEncrypted(roomId: string, type: string, content: Record<string, unknown>): Promise<{ eventId: string } & MegolmIndex> {
    const encrypted = JSON.parse(await this.machine.encryptRoomEvent(new wasm.RoomId(roomId), type, JSON.stringify(content))) as Record<string, unknown>;
    const txnId = `olmdev.${this.deviceId}.${Date.now()}.${++this.txn}`;
    const res = JSON.parse(await this.call('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.encrypted/${enc(txnId)}`, encrypted)) as { event_id?: string };
    if (typeof res.event_id !== 'string') throw new Error(`no event id for the encrypted send in ${roomId}`);
    return { eventId: res.event_id, ...megolmIndex(encrypted) };
  }

  sendText(roomId: string, body: string): Promise<{ eventId: string } & MegolmIndex> {
    return this.sendEncrypted(roomId, 'm.room.message', { msgtype: 'm.text', body });
  }

  stop(): void {
    this.machine.close();
  }
}
