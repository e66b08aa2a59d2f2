/**
 * Encrypts an outgoing room event as its sender's own device: tracks the room's members, opens
 * Olm sessions to devices that have none, shares the Megolm room key with every device that should
 * get it, encrypts, and persists the store before the encrypted event may leave.
 */
import {
  CollectStrategy, EncryptionAlgorithm, EncryptionSettings, HistoryVisibility, RoomId, UserId,
} from './wasm.js';
import type { OlmIdentity } from './olm-identity.js';
import { sendRequest } from './olm-requests.js';
import type { RoomCryptoState } from './room-state.js';

export type ShareKeysWith = 'cross-signed' | 'verified' | 'all';

export interface RotationLimits {
  periodMs: number;
  messages: number;
}

function visibility(v: string): HistoryVisibility {
  switch (v) {
    case 'invited': return HistoryVisibility.Invited;
    case 'joined': return HistoryVisibility.Joined;
    case 'world_readable': return HistoryVisibility.WorldReadable;
    default: return HistoryVisibility.Shared;
  }
}

function strategy(share: ShareKeysWith): CollectStrategy {
  switch (share) {
    // Devices their owner has cross-signed (and every device of a user without cross-signing is left out).
    case 'cross-signed': return CollectStrategy.identityBasedStrategy();
    case 'verified': return CollectStrategy.onlyTrustedDevices();
    case 'all': return CollectStrategy.allDevices();
  }
}

/**
 * The settings for one room: the room's own rotation values, but never longer than the bridge's
 * limits (a room may ask for more frequent rotation, not less).
 */
export function encryptionSettings(state: RoomCryptoState, share: ShareKeysWith, limits: RotationLimits): EncryptionSettings {
  const s = new EncryptionSettings();
  s.algorithm = EncryptionAlgorithm.MegolmV1AesSha2;
  const periodMs = Math.min(state.encryption?.rotation_period_ms ?? limits.periodMs, limits.periodMs);
  const messages = Math.min(state.encryption?.rotation_period_msgs ?? limits.messages, limits.messages);
  s.rotationPeriod = BigInt(Math.floor(periodMs)) * 1000n; // microseconds
  s.rotationPeriodMessages = BigInt(Math.floor(messages));
  s.historyVisibility = visibility(state.historyVisibility);
  s.sharingStrategy = strategy(share);
  return s;
}

/**
 * The encrypted content of one event. The caller holds no lock; this runs under the identity's.
 * `recipients` are the users whose devices get the room key.
 */
export async function encryptForRoom(
  identity: OlmIdentity, roomId: string, type: string, content: unknown, recipients: string[], settings: EncryptionSettings,
): Promise<Record<string, unknown>> {
  return identity.run(async () => {
    const m = identity.machine;
    const room = new RoomId(roomId);
    const users = recipients.map((u) => new UserId(u));
    await m.updateTrackedUsers(users);
    // Key queries for newly tracked users must be answered before sessions can be counted.
    await identity.flush();
    const claim = await m.getMissingSessions(recipients.map((u) => new UserId(u)));
    if (claim) await sendRequest(m, identity, claim);
    const shares = await m.shareRoomKey(room, recipients.map((u) => new UserId(u)), settings);
    for (const req of shares) await sendRequest(m, identity, req);
    const encrypted = await m.encryptRoomEvent(new RoomId(roomId), type, JSON.stringify(content));
    // The session's message index moved on: keep it before the event exists anywhere.
    await identity.persist();
    return JSON.parse(encrypted) as Record<string, unknown>;
  });
}
