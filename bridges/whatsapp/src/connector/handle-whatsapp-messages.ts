/**
 * WhatsApp messages -> RemoteEvents: upserts (new messages, and the protocol messages that edit,
 * delete, react or set the disappearing timer; undecryptable placeholders), `messages.update` (edits and deletes; read and
 * delivery status is in handle-whatsapp-receipts.ts) and `messages.reaction`.
 *
 * The real socket reports some things twice: a received edit, delete or reaction is upserted as a
 * protocol/reaction message AND emitted as messages.update / messages.reaction. Both paths are
 * handled (the event buffer may fold one of them away) and the handler's memory of recent keys
 * drops the second copy.
 */
import {
  emojiId, partId, type ConvertContext, type ConvertedEdit, type MessageId, type PortalKey, type RemoteEvent, type RemoteSender,
} from '@tributary/core/network/index';
import { normalizeMessageContent, proto, type WAMessage, type WAMessageKey } from 'baileys';
import { convertWAEdit, convertWAMessage } from '../msgconv/to-matrix.js';
import type { WAEventHandler } from './handle-whatsapp.js';
import { groupEvents } from './handle-whatsapp-groups.js';
import { hasVisibleContent, msOf } from './handle-whatsapp-history.js';
import { receiptEvents } from './handle-whatsapp-receipts.js';
import { makeMessageId } from './ids.js';
import { pollVoteEvents, rememberPoll } from './poll-store.js';

const PROTOCOL = proto.Message.ProtocolMessage.Type;
const STUB_REVOKE = proto.WebMessageInfo.StubType.REVOKE;
const STUB_CIPHERTEXT = proto.WebMessageInfo.StubType.CIPHERTEXT;

export const UNDECRYPTABLE_NOTICE = '⏳ A message could not be decrypted yet; it may arrive later (open WhatsApp on your phone if it does not)';

type Handler = WAEventHandler;

function removal(h: Handler, portal: PortalKey, target: MessageId | undefined, sender: RemoteSender, timestamp: number): RemoteEvent[] {
  if (!target || !h.recent.first(`revoke|${target}`)) return [];
  return [{ type: 'message_remove', portal, target, sender, timestamp }];
}

function edit(h: Handler, portal: PortalKey, target: MessageId, sender: RemoteSender, timestamp: number, edited: proto.IMessage): RemoteEvent[] {
  if (!h.recent.first(`edit|${target}|${timestamp}`)) return [];
  return [{ type: 'edit', portal, target, sender, timestamp, convert: (ctx, parts) => convertWAEdit(edited, parts, ctx, h.deps) }];
}

function reactionEvents(h: Handler, portal: PortalKey, target: MessageId, sender: RemoteSender, text: string, timestamp: number): RemoteEvent[] {
  if (!h.recent.first(`react|${target}|${sender.user}|${text}|${timestamp}`)) return [];
  if (!text) return [{ type: 'reaction_remove', portal, target, sender, timestamp }];
  return [{ type: 'reaction', portal, target, sender, timestamp, emojiId: emojiId(text), emoji: text, replacesOthers: true }];
}

async function reaction(h: Handler, portal: PortalKey, targetKey: WAMessageKey | null | undefined, sender: RemoteSender, text: string, timestamp: number): Promise<RemoteEvent[]> {
  if (!targetKey?.id) return [];
  // The target key is from our point of view (Baileys normalises it): fromMe = our message.
  const targetSender = targetKey.fromMe ? h.me() : await h.senderOf(targetKey.participant || (portal.receiver ? portal.id : targetKey.remoteJid));
  if (!targetSender) return [];
  return reactionEvents(h, portal, makeMessageId(portal.id, targetSender.user, targetKey.id), sender, text, timestamp);
}

/** A protocol message (delete, edit, disappearing timer) from `sender`. */
async function protocolEvents(h: Handler, portal: PortalKey, sender: RemoteSender, timestamp: number, pm: proto.Message.IProtocolMessage): Promise<RemoteEvent[]> {
  if (pm.type === PROTOCOL.REVOKE && pm.key?.id) {
    const who = pm.key.participant ? await h.userOf(pm.key.participant) : sender.user;
    return removal(h, portal, who ? makeMessageId(portal.id, who, pm.key.id) : undefined, sender, timestamp);
  }
  if (pm.type === PROTOCOL.MESSAGE_EDIT && pm.key?.id && pm.editedMessage) {
    const at = pm.timestampMs ? Math.floor(Number(pm.timestampMs) / 1000) * 1000 : timestamp;
    return edit(h, portal, makeMessageId(portal.id, sender.user, pm.key.id), sender, at, pm.editedMessage);
  }
  if (pm.type === PROTOCOL.EPHEMERAL_SETTING) {
    const s = pm.ephemeralExpiration ?? 0;
    h.timers.set(portal.id, s);
    return [{ type: 'chat_info_change', portal, sender, timestamp, change: { disappear: s > 0 ? { type: 'after_send', timerMs: s * 1000 } : null } }];
  }
  return [];
}

/**
 * A message Baileys could not decrypt (a CIPHERTEXT stub without content): a notice with the
 * message's own id. Baileys asks the sender to retry; if the decrypted message comes, it has the
 * same key and replaces the notice (an edit). Which ids were notices is kept in memory only.
 */
async function undecryptable(h: Handler, portal: PortalKey, msg: WAMessage): Promise<RemoteEvent[]> {
  const sender = await h.keySender(msg.key);
  if (!sender || !msg.key.id) return [];
  const id = makeMessageId(portal.id, sender.user, msg.key.id);
  if (!h.undecrypted.first(id)) return [];
  return [{
    type: 'message', portal, id, sender, timestamp: msOf(msg.messageTimestamp),
    convert: async () => ({
      parts: [{ id: partId(''), type: 'm.room.message', content: { msgtype: 'm.notice', body: UNDECRYPTABLE_NOTICE }, metadata: { undecryptable: true } }],
    }),
  }];
}

/** The decrypted message as the new content of its placeholder notice (its first part). */
async function decryptedEdit(msg: WAMessage, ctx: ConvertContext, h: Handler): Promise<ConvertedEdit> {
  const converted = await convertWAMessage(msg, ctx, h.deps);
  const first = converted.parts[0];
  if (!first) return { modifiedParts: [] };
  return { modifiedParts: [{ partId: partId(''), type: first.type, content: first.content, ...(first.metadata ? { metadata: first.metadata } : {}) }] };
}

/** One upserted message. */
async function fromMessage(h: Handler, msg: WAMessage): Promise<RemoteEvent[]> {
  const key = msg.key;
  if (!key?.id) return [];
  const portal = await h.portalOf(key.remoteJid, key.remoteJidAlt);
  if (!portal) return [];
  if (groupEvents.isCommunityStub(msg)) return groupEvents.fromCommunityStub(h, msg, (jid) => h.socket().groupMetadata(jid));
  if (!msg.message && msg.messageStubType === STUB_REVOKE) {
    // The event buffer folded a delete into the message it deletes: nothing left to show.
    const by = await h.keySender(key);
    return by ? removal(h, portal, await h.targetOf(portal, key), by, msOf(msg.messageTimestamp)) : [];
  }
  if (!msg.message && msg.messageStubType === STUB_CIPHERTEXT) return undecryptable(h, portal, msg);
  const content = normalizeMessageContent(msg.message);
  if (content?.pollUpdateMessage) return pollVoteEvents(h, msg, content.pollUpdateMessage);
  // Baileys upserts a `call` message for group call offers; the call event already made a notice.
  if (!content || !hasVisibleContent(content) || content.call) return [];
  const sender = await h.keySender(key);
  if (!sender) return [];
  await rememberPoll(h, portal, msg, sender);
  const timestamp = msOf(msg.messageTimestamp);

  const pm = content.protocolMessage;
  if ((pm || content.reactionMessage) && key.fromMe && h.ownSends.has(key.id)) return [];
  if (pm) return protocolEvents(h, portal, sender, timestamp, pm);
  if (content.reactionMessage) {
    const r = content.reactionMessage;
    return reaction(h, portal, r.key, sender, r.text ?? '', r.senderTimestampMs ? Number(r.senderTimestampMs) : timestamp);
  }

  const id = makeMessageId(portal.id, sender.user, key.id);
  // The core drops a second message with an id it has bridged: a placeholder is edited instead (once).
  if (h.undecrypted.has(id)) {
    return h.recent.first(`decrypted|${id}`) ? [{ type: 'edit', portal, target: id, sender, timestamp, convert: (ctx) => decryptedEdit(msg, ctx, h) }] : [];
  }
  const out: RemoteEvent[] = [{
    type: 'message', portal, id, sender, timestamp,
    convert: (ctx) => convertWAMessage(msg, ctx, h.deps),
  }];
  // The event buffer folds reactions to a message it still holds into the message itself.
  for (const r of msg.reactions ?? []) {
    const reactor = r.key ? await h.keySender(r.key) : undefined;
    if (reactor) out.push(...reactionEvents(h, portal, id, reactor, r.text ?? '', r.senderTimestampMs ? Number(r.senderTimestampMs) : timestamp));
  }
  return out;
}

/** messages.update: an edit or a delete here; anything else is a status (receipts). */
async function fromUpdate(h: Handler, key: WAMessageKey, update: Partial<WAMessage>): Promise<RemoteEvent[]> {
  const portal = await h.portalOf(key.remoteJid, key.remoteJidAlt);
  if (!portal || !key.id) return [];
  const timestamp = msOf(update.messageTimestamp);
  const edited = update.message?.editedMessage?.message;
  if (edited) {
    const editor = await h.keySender(key);
    return editor ? edit(h, portal, makeMessageId(portal.id, editor.user, key.id), editor, timestamp, edited) : [];
  }
  if (update.message === null && update.messageStubType === STUB_REVOKE) {
    // The key is the deleted message's id with the deleter's address (Baileys keeps no more).
    const by = await h.keySender(key);
    return by ? removal(h, portal, await h.targetOf(portal, key), by, timestamp) : [];
  }
  return receiptEvents.fromStatus(h, portal, key, update, timestamp);
}

async function fromReaction(h: Handler, key: WAMessageKey, r: proto.IReaction): Promise<RemoteEvent[]> {
  const portal = await h.portalOf(key.remoteJid, key.remoteJidAlt);
  const reactor = r.key ? await h.keySender(r.key) : undefined;
  if (!portal || !reactor) return [];
  return reaction(h, portal, key, reactor, r.text ?? '', r.senderTimestampMs ? Number(r.senderTimestampMs) : Date.now());
}

export const messageEvents = { fromMessage, fromUpdate, fromReaction };
