/**
 * The person's ENCRYPTING Matrix client in e2e tests: matrix-js-sdk with its Rust crypto
 * (in memory), its own device cross-signed through password UIA, and a device isolation
 * mode ('all' or 'only-signed' = Element's "exclude insecure devices"). Tests wait for
 * decrypted events and read their shield, or for decryption failures. The SDK client itself
 * comes from e2ee-sdk.ts, which explains why it is a separately loaded copy of matrix-js-sdk.
 *
 * Import this only from test files that do NOT reach the WhatsApp bridge: a file that loads
 * matrix-js-sdk as a value before a chain reaching Baileys evaluates the SDK twice.
 */
import * as sdk from 'matrix-js-sdk';
import {
  DecryptionFailureCode,
  EventShieldColour,
  EventShieldReason,
  AllDevicesIsolationMode,
  OnlySignedDevicesIsolationMode,
  type CryptoApi,
} from 'matrix-js-sdk/lib/crypto-api/index.js';
import type { RoomMessageEventContent } from 'matrix-js-sdk/lib/@types/events.js';
import type { UIAuthCallback } from 'matrix-js-sdk/lib/interactive-auth.js';
import { createCryptoClient, passwordLogin, uiaSession } from './e2ee-sdk.js';
import { TestClient, waitUntil } from './matrix-client.js';

const DEFAULT_TIMEOUT_MS = 40_000;
const MEGOLM = 'm.megolm.v1.aes-sha2';

/** 'only-signed': decrypt only from, and share keys only with, devices cross-signed by their owner. */
export type IsolationMode = 'all' | 'only-signed';

export interface E2eeClientOptions {
  baseUrl: string;
  /** A registered user; the password is used for login and for the cross-signing UIA. */
  user: { userId: string; password: string };
  /** Default 'only-signed'. */
  isolation?: IsolationMode;
  /** Default true. false = a plain login with crypto but no cross-signing: an "insecure" device. */
  crossSign?: boolean;
  deviceName?: string;
}

/** A successfully decrypted event and what the person's client would show next to it. */
export interface DecryptedEvent {
  event: sdk.MatrixEvent;
  eventId: string;
  sender: string;
  /** The decrypted (clear) type and content; content follows an applied edit. */
  type: string;
  content: Record<string, unknown>;
  shieldColour: EventShieldColour;
  shieldReason: EventShieldReason | null;
  /** No shield at all: what a test of a bridged message wants. */
  noWarning: boolean;
  /** shieldReason's name (e.g. 'UNSIGNED_DEVICE'), for assertion messages. */
  reason: string | null;
}

export interface DecryptionFailure {
  roomId: string;
  eventId: string;
  sender: string;
  reason: DecryptionFailureCode | null;
  /** The SDK's explanation (the body it puts in place of the clear text). */
  detail: string;
}

function isolationMode(mode: IsolationMode) {
  return mode === 'only-signed' ? new OnlySignedDevicesIsolationMode() : new AllDevicesIsolationMode(false);
}

function failureOf(ev: sdk.MatrixEvent): DecryptionFailure {
  return {
    roomId: ev.getRoomId() ?? '',
    eventId: ev.getId() ?? '',
    sender: ev.getSender() ?? '',
    reason: ev.decryptionFailureReason,
    detail: String(ev.getContent()['body']),
  };
}

function isDecrypted(ev: sdk.MatrixEvent): boolean {
  return ev.isEncrypted() && !ev.isDecryptionFailure() && ev.getClearContent() !== null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class E2eeClient {
  private readonly failuresLog: DecryptionFailure[] = [];
  private readonly onDecrypted = (ev: sdk.MatrixEvent) => {
    if (ev.isDecryptionFailure()) this.failuresLog.push(failureOf(ev));
  };

  private constructor(
    readonly base: TestClient,
    readonly crypto: CryptoApi,
    readonly deviceId: string,
    private mode: IsolationMode,
  ) {
    base.client.on(sdk.MatrixEventEvent.Decrypted, this.onDecrypted);
  }

  get client(): sdk.MatrixClient {
    return this.base.client;
  }

  get userId(): string {
    return this.base.userId;
  }

  get isolation(): IsolationMode {
    return this.mode;
  }

  /**
   * Log in (new device), initialise Rust crypto in memory, set the isolation mode, start
   * syncing and, unless crossSign is false, bootstrap cross-signing and check that this
   * device is signed by its owner.
   */
  static async start(opts: E2eeClientOptions): Promise<E2eeClient> {
    const { userId, password } = opts.user;
    const mode = opts.isolation ?? 'only-signed';
    const { accessToken, deviceId } = await passwordLogin(opts.baseUrl, userId, password, opts.deviceName ?? 'e2e test device');
    const client = await createCryptoClient({ baseUrl: opts.baseUrl, userId, accessToken, deviceId });
    const crypto = client.getCrypto();
    if (!crypto) throw new Error(`Rust crypto did not initialise for ${userId}`);
    crypto.setDeviceIsolationMode(isolationMode(mode));
    // Started before the bootstrap: the first sync uploads this device's keys, which the
    // self-signing signature then refers to.
    const base = await TestClient.startExisting(client, userId);
    const e2ee = new E2eeClient(base, crypto, deviceId, mode);
    try {
      if (opts.crossSign !== false) await e2ee.bootstrapCrossSigning(password);
    } catch (err) {
      await e2ee.stop();
      throw err;
    }
    return e2ee;
  }

  private async bootstrapCrossSigning(password: string): Promise<void> {
    const authUploadDeviceSigningKeys: UIAuthCallback<void> = async (makeRequest) => {
      try {
        // Synapse lets a user's first cross-signing upload through without UIA (MSC3967).
        await makeRequest(null);
      } catch (err) {
        const session = uiaSession(err);
        if (session === undefined) throw err;
        await makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: this.userId }, password, session });
      }
    };
    await this.crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys });
    const status = await this.crypto.getDeviceVerificationStatus(this.userId, this.deviceId);
    if (!status?.signedByOwner || !(await this.crypto.isCrossSigningReady())) {
      throw new Error(`cross-signing bootstrap of ${this.userId} left device ${this.deviceId} unsigned`);
    }
  }

  /** Switch the isolation mode; it applies to decryptions and key shares from now on. */
  setIsolationMode(mode: IsolationMode): void {
    this.crypto.setDeviceIsolationMode(isolationMode(mode));
    this.mode = mode;
  }

  /** Create a room with encryption from its first state, and wait until this client sees it encrypted. */
  async createEncryptedRoom(opts: { invite?: string[]; isDirect?: boolean; name?: string } = {}): Promise<string> {
    const { room_id: roomId } = await this.client.createRoom({
      name: opts.name,
      invite: opts.invite,
      is_direct: opts.isDirect,
      preset: opts.isDirect ? sdk.Preset.TrustedPrivateChat : sdk.Preset.PrivateChat,
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } }],
    });
    await this.waitForEncryption(roomId);
    return roomId;
  }

  /** Send m.room.encryption into an existing room and wait until this client sees it. */
  async enableEncryption(roomId: string): Promise<void> {
    await this.client.sendStateEvent(roomId, sdk.EventType.RoomEncryption, { algorithm: MEGOLM }, '');
    await this.waitForEncryption(roomId);
  }

  /** This client knows roomId is encrypted (its sends there will be encrypted). */
  async waitForEncryption(roomId: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await waitUntil(
      `encryption in ${roomId} (as ${this.userId})`,
      timeoutMs,
      () => (this.client.getRoom(roomId)?.hasEncryptionStateEvent() ? true : undefined),
      (recheck) => {
        this.client.on(sdk.RoomStateEvent.Events, recheck);
        this.client.on(sdk.ClientEvent.Room, recheck);
        return () => {
          this.client.off(sdk.RoomStateEvent.Events, recheck);
          this.client.off(sdk.ClientEvent.Room, recheck);
        };
      },
    );
  }

  async joinRoom(roomId: string): Promise<void> {
    await this.client.joinRoom(roomId);
    await this.base.waitForMembership(roomId, this.userId, 'join');
  }

  waitForInvite(predicate?: (roomId: string, inviter: string | undefined) => boolean, timeoutMs?: number): Promise<string> {
    return this.base.waitForInvite(predicate, timeoutMs);
  }

  waitForMembership(roomId: string, userId: string, membership: string, timeoutMs?: number): Promise<void> {
    return this.base.waitForMembership(roomId, userId, membership, timeoutMs);
  }

  /** Send an event that matrix-js-sdk encrypts; refuses (throws) when this client does not see the room as encrypted. */
  private async sendEncrypted(roomId: string, content: Record<string, unknown>): Promise<string> {
    if (!this.client.getRoom(roomId)?.hasEncryptionStateEvent()) {
      throw new Error(`refusing to send in the clear: ${roomId} is not encrypted as seen by ${this.userId}`);
    }
    return (await this.client.sendMessage(roomId, content as unknown as RoomMessageEventContent)).event_id;
  }

  /** Encrypted m.text; `extra` is merged into the content. Resolves with the event id. */
  sendText(roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> {
    return this.sendEncrypted(roomId, { msgtype: sdk.MsgType.Text, body, ...extra });
  }

  /** Encrypted m.text replying to eventId. */
  sendReply(roomId: string, eventId: string, body: string): Promise<string> {
    return this.sendText(roomId, body, { 'm.relates_to': { 'm.in_reply_to': { event_id: eventId } } });
  }

  /** Encrypted edit (m.replace) of eventId. */
  sendEdit(roomId: string, eventId: string, newBody: string): Promise<string> {
    return this.sendText(roomId, `* ${newBody}`, {
      'm.new_content': { msgtype: sdk.MsgType.Text, body: newBody },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
  }

  /** A reaction. matrix-js-sdk never encrypts m.reaction (its relation is in the clear anyway). */
  async sendReaction(roomId: string, eventId: string, key: string): Promise<string> {
    const content = { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key } };
    return (await this.client.sendEvent(roomId, sdk.EventType.Reaction, content as never)).event_id;
  }

  /** The decrypted view and the shield of an event this client decrypted. */
  async describe(ev: sdk.MatrixEvent): Promise<DecryptedEvent> {
    if (!isDecrypted(ev)) throw new Error(`event ${ev.getId()} is not a successfully decrypted event`);
    const info = await this.crypto.getEncryptionInfoForEvent(ev);
    if (!info) throw new Error(`no encryption info for ${ev.getId()} (as ${this.userId})`);
    return {
      event: ev,
      eventId: ev.getId() ?? '',
      sender: ev.getSender() ?? '',
      type: ev.getType(),
      content: ev.getContent(),
      shieldColour: info.shieldColour,
      shieldReason: info.shieldReason,
      noWarning: info.shieldColour === EventShieldColour.NONE,
      reason: info.shieldReason === null ? null : EventShieldReason[info.shieldReason],
    };
  }

  /**
   * An event in roomId that arrived encrypted, decrypted successfully and matches predicate
   * (which sees the decrypted event: getType(), getContent(), getSender()).
   */
  async waitForDecrypted(
    roomId: string,
    predicate: (ev: sdk.MatrixEvent) => boolean,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<DecryptedEvent> {
    const ok = (ev: sdk.MatrixEvent) => ev.getRoomId() === roomId && isDecrypted(ev) && predicate(ev);
    let arrived: sdk.MatrixEvent | undefined;
    const ev = await this.explainTimeout(roomId, waitUntil(
      `a decrypted event matching the predicate in ${roomId} (as ${this.userId})`,
      timeoutMs,
      () => arrived ?? this.base.timeline(roomId).find(ok),
      (recheck) => {
        const onEvent = (e: sdk.MatrixEvent) => {
          if (ok(e)) arrived = e;
          recheck();
        };
        this.client.on(sdk.MatrixEventEvent.Decrypted, onEvent);
        this.client.on(sdk.RoomEvent.Timeline, onEvent);
        return () => {
          this.client.off(sdk.MatrixEventEvent.Decrypted, onEvent);
          this.client.off(sdk.RoomEvent.Timeline, onEvent);
        };
      },
    ));
    return this.describe(ev);
  }

  /** Events of roomId's live timeline that are undecryptable right now. */
  decryptionFailures(roomId: string): DecryptionFailure[] {
    return this.base
      .timeline(roomId)
      .filter((ev) => ev.isDecryptionFailure())
      .map(failureOf);
  }

  /** Every decryption failure seen since start (also ones a later key fixed), optionally for one room. */
  failuresSeen(roomId?: string): DecryptionFailure[] {
    return this.failuresLog.filter((f) => roomId === undefined || f.roomId === roomId);
  }

  /** An event of roomId that is currently undecryptable and matches predicate (e.g. on reason or sender). */
  waitForDecryptionFailure(
    roomId: string,
    predicate: (f: DecryptionFailure) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<DecryptionFailure> {
    return this.explainTimeout(roomId, waitUntil(
      `a decryption failure matching the predicate in ${roomId} (as ${this.userId})`,
      timeoutMs,
      () => this.decryptionFailures(roomId).find(predicate),
      (recheck) => {
        this.client.on(sdk.MatrixEventEvent.Decrypted, recheck);
        this.client.on(sdk.RoomEvent.Timeline, recheck);
        return () => {
          this.client.off(sdk.MatrixEventEvent.Decrypted, recheck);
          this.client.off(sdk.RoomEvent.Timeline, recheck);
        };
      },
    ));
  }

  /** On failure, append what this client holds undecryptable in roomId: the usual clue. */
  private async explainTimeout<T>(roomId: string, wait: Promise<T>): Promise<T> {
    try {
      return await wait;
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      const now = this.decryptionFailures(roomId).map((f) => `${f.eventId} from ${f.sender}: ${f.reason} (${f.detail})`);
      err.message += `; undecryptable now: ${now.length ? now.join(', ') : 'none'}`;
      throw err;
    }
  }

  /**
   * Wait until this client knows userId's deviceId and, with `signed`, sees it cross-signed by
   * its owner (or, with signed === false, not). Only for users whose devices this client tracks:
   * itself and people it shares an encrypted room with (a one-off key query of anyone else is
   * not stored, so it would never show up here). Polls: key downloads announce no event.
   */
  async waitForDevice(userId: string, deviceId: string, signed?: boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.crypto.getDeviceVerificationStatus(userId, deviceId);
      if (status && (signed === undefined || status.signedByOwner === signed)) return;
      if (Date.now() > deadline) {
        const seen = status ? `signedByOwner=${status.signedByOwner}` : 'unknown';
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${userId}'s device ${deviceId} (as ${this.userId}; it is ${seen})`);
      }
      await sleep(200);
    }
  }

  async stop(): Promise<void> {
    this.client.off(sdk.MatrixEventEvent.Decrypted, this.onDecrypted);
    await this.base.stop();
  }
}

export { DecryptionFailureCode, EventShieldColour, EventShieldReason };
