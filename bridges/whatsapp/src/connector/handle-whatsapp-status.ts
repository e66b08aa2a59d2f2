/**
 * The status broadcast (`status@broadcast`): the status updates ("stories") of the account's
 * contacts. Off by default (network config `status_broadcast`): then the event handler gives the
 * chat no portal, so statuses, their receipts and their history are dropped before anything is
 * queued. When on, each login gets one portal with the fixed id `status@broadcast` (receiver = the
 * login) and a group-type room, "WhatsApp Status Broadcast"; every status is a message from its
 * poster's ghost (key.participant), converted like any other message.
 *
 * From Matrix the room is read-only. Posting a status needs the list of contacts it goes to
 * (Baileys' `statusJidList`) and reaches all of them, so the bridge refuses to post rather than
 * broadcast a message typed into a Matrix room; reactions, edits and deletions are refused too.
 * Read receipts are sent (they mark the statuses as viewed, as the phone does); typing is not.
 */
import { BridgeError, type ChatInfo, type PortalKey, type RoomFeatures } from '@tributary/core/network/index';
import type { WAMessageKey } from 'baileys';
import { STATUS_BROADCAST, jidFromUserId } from './ids.js';

export const STATUS_ROOM_NAME = 'WhatsApp Status Broadcast';
export const STATUS_ROOM_TOPIC = 'Status updates of your WhatsApp contacts, each from its poster. '
  + 'Read-only: messages sent here are not posted as your status.';

export function isStatusBroadcast(jid: string): boolean {
  return jid === STATUS_BROADCAST;
}

/** The status broadcast "chat": a group-type room without a member list (posters join as they post). */
export function statusChatInfo(): ChatInfo {
  return { type: 'group', name: STATUS_ROOM_NAME, topic: STATUS_ROOM_TOPIC };
}

/** What the status room allows from Matrix: reading, nothing else (the core refuses the rest). */
export const STATUS_ROOM_FEATURES: RoomFeatures = {
  readReceipts: true, typing: false, replies: false, locations: false,
  rename: false, topic: false, avatar: false, membership: false,
};

/** Throws the refusal the person sees when they try `what` in the status room. */
export function refuseInStatusBroadcast(portal: PortalKey, what: string): void {
  if (!isStatusBroadcast(portal.id)) return;
  throw new BridgeError(`${what} in the status broadcast`, {
    reason: 'm_unsupported', status: 'fail', certain: true,
    userMessage: `${what} is not possible in the WhatsApp Status Broadcast room: it only shows your contacts' statuses, and nothing is posted as your status from Matrix`,
  });
}

/** A status is addressed by its poster: the read receipt names them as participant. */
export function statusReceiptKey(key: WAMessageKey, poster: string): WAMessageKey {
  return isStatusBroadcast(key.remoteJid ?? '') && !key.participant ? { ...key, participant: jidFromUserId(poster) } : key;
}
