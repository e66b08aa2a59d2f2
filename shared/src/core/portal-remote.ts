/**
 * Network -> Matrix, for one portal, inside its queue. Every remote message is deduplicated by its
 * remote id before anything is sent, and each Matrix send uses a transaction id derived from the
 * remote id, so replays after a crash are dropped by the database or by the homeserver.
 */
import { createHash } from 'node:crypto';
import type {
  ConvertContext, ConvertedMessage, MessageId, PartId, RemoteBackfill, RemoteEdit, RemoteEvent,
  RemoteMessage, RemoteMessageRemove, RemoteReaction, RemoteReactionRemove, RemoteReadReceipt, RemoteTyping,
  RemoteChatInfoChange, RemoteChatResync, RemoteSender, BackfillMessage, RemoteDeliveryReceipt,
} from '../network/index.js';
import { formattedToContent } from '../matrix/content.js';
import type { Portal } from './portal.js';
import type { UserLogin } from './user-login.js';
import { applyChatInfo, ensureRoom, setMemberPowerLevels } from './portal-room.js';
import { catchUp, initialBackfill } from './portal-backfill.js';
import { setParent } from './portal-space.js';
import { RoomMediaUploads } from './room-media.js';

/** Marks events the bridge sent as a double-puppeted user, so they are never bridged back. */
export const DOUBLE_PUPPET_KEY = 'net.tributary.double_puppet';

export function txnIdFor(...parts: string[]): string {
  return 'r' + createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 32);
}

export async function handleRemoteEvent(portal: Portal, login: UserLogin, evt: RemoteEvent): Promise<void> {
  switch (evt.type) {
    case 'message': return handleRemoteMessage(portal, login, evt);
    case 'edit': return handleRemoteEdit(portal, login, evt);
    case 'reaction': return handleRemoteReaction(portal, login, evt);
    case 'reaction_remove': return handleRemoteReactionRemove(portal, login, evt);
    case 'message_remove': return handleRemoteMessageRemove(portal, login, evt);
    case 'read_receipt': return handleRemoteReadReceipt(portal, login, evt);
    case 'delivery_receipt': return handleRemoteDeliveryReceipt(portal, evt);
    case 'typing': return handleRemoteTyping(portal, login, evt);
    case 'chat_info_change': return handleRemoteChatInfoChange(portal, login, evt);
    case 'chat_resync': return handleRemoteChatResync(portal, login, evt);
    case 'backfill': return handleRemoteBackfill(portal, login, evt);
  }
}

/**
 * `media`: the conversion's RoomMediaUploads, whose `apply` must then rewrite each content before
 * it is sent (encrypted rooms get `file` instead of `url`). Without it, uploads stay plain.
 */
export function convertContext(portal: Portal, login: UserLogin, actor: string, media?: Pick<RoomMediaUploads, 'upload'>): ConvertContext {
  const b = portal.bridge;
  media ??= { upload: (src) => b.media.upload(src, actor) };
  return {
    portal: { key: portal.key, roomId: portal.roomId!, isDm: portal.isDm },
    uploadMedia: (src) => media.upload(src),
    matrixUserIdFor: (user) => b.matrixIdForRemoteUser(login, user),
    textContent: (text, msgtype) => formattedToContent(text, (id) => b.matrixIdForRemoteUser(login, id as never), msgtype),
  };
}

async function handleRemoteMessage(portal: Portal, login: UserLogin, evt: RemoteMessage): Promise<void> {
  const b = portal.bridge;
  if ((await b.db.messages.getAllParts(portal.key, evt.id)).length > 0) {
    portal.log.debug({ id: evt.id }, 'ignoring duplicate remote message');
    return;
  }
  if (await recordEcho(portal, login, evt)) return;
  if (!portal.roomId) {
    if (evt.createPortal === false) return;
    await ensureRoom(portal, login);
    await initialBackfill(portal, login).catch((err) => portal.log.warn({ err }, 'initial backfill failed'));
    if ((await b.db.messages.getAllParts(portal.key, evt.id)).length > 0) return;
  }
  await sendConverted(portal, login, { id: evt.id, sender: evt.sender, timestamp: evt.timestamp, convert: evt.convert });
}

/**
 * When a network message is the echo of a send from Matrix that was not recorded (the bridge
 * stopped between the network's answer and its own bookkeeping, or gave up on an answer that was
 * lost), records it against the Matrix event and returns true: it must not be bridged back.
 */
export async function recordEcho(portal: Portal, login: UserLogin, msg: { id: MessageId; sender: RemoteSender; timestamp: number; echoOf?: string }): Promise<boolean> {
  if (!msg.echoOf) return false;
  const b = portal.bridge;
  const pending = await b.db.pendingSends.getByTxnId(msg.echoOf);
  if (!pending) return false;
  const roomId = portal.roomId;
  await b.db.transaction(async (tx) => {
    if (roomId) {
      await tx.messages.insertIfAbsent({
        id: msg.id, partId: '', portalId: portal.row.id, portalReceiver: portal.row.receiver, mxid: pending.eventId,
        roomId, senderId: msg.sender.user, timestamp: msg.timestamp,
      });
    }
    await tx.pendingSends.markSent(pending.eventId, msg.id);
  });
  portal.log.debug({ id: msg.id, eventId: pending.eventId, login: login.id }, 'recorded the echo of a send from Matrix');
  return true;
}

/** Sends every part of a converted message and records each; used by live messages and backfill. */
export async function sendConverted(portal: Portal, login: UserLogin, msg: BackfillMessage, opts: { backfill?: boolean } = {}): Promise<void> {
  const b = portal.bridge;
  const actor = await b.actorFor(portal, login, msg.sender.user, msg.sender);
  let converted: ConvertedMessage;
  const media = new RoomMediaUploads(b, portal.roomId!, actor);
  try {
    converted = await msg.convert(convertContext(portal, login, actor, media));
  } catch (err) {
    portal.log.warn({ err, id: msg.id }, 'remote message could not be converted');
    converted = { parts: [{ id: '' as PartId, type: 'm.room.message', content: { msgtype: 'm.notice', body: `⚠️ A message could not be bridged: ${(err as Error).message}` } }] };
  }
  let replyTarget: string | undefined;
  if (converted.replyTo) {
    const parts = await b.db.messages.getAllParts(portal.key, converted.replyTo.messageId);
    replyTarget = (parts.find((p) => p.partId === (converted.replyTo!.partId ?? '')) ?? parts[0])?.mxid;
  }
  for (const part of converted.parts) {
    const content: Record<string, unknown> = media.apply({ ...part.content });
    if (b.isDoublePuppet(actor)) content[DOUBLE_PUPPET_KEY] = b.connector.name.networkId;
    if (replyTarget) {
      content['m.relates_to'] = { ...(content['m.relates_to'] as object | undefined), 'm.in_reply_to': { event_id: replyTarget } };
    }
    const txnId = txnIdFor(portal.row.id, portal.row.receiver, msg.id, part.id);
    const eventId = await b.api.sendEvent(portal.roomId!, part.type, content, {
      asUser: actor, txnId, ts: opts.backfill || b.isDoublePuppet(actor) ? msg.timestamp : undefined,
    });
    await b.db.messages.insertIfAbsent({
      id: msg.id, partId: part.id, portalId: portal.row.id, portalReceiver: portal.row.receiver, mxid: eventId,
      roomId: portal.roomId!, senderId: msg.sender.user, senderMxid: actor, timestamp: msg.timestamp, editCount: 0,
      replyToId: converted.replyTo?.messageId ?? null, threadRootId: null, metadata: part.metadata ?? {},
    });
    // The message's own timer, else the chat's (networks usually set it per chat).
    const disappear = converted.disappear ?? (portal.row.disappearType && portal.row.disappearTimerMs
      ? { type: portal.row.disappearType, timerMs: portal.row.disappearTimerMs } : undefined);
    if (disappear) {
      await b.db.disappearing.upsert({
        mxid: eventId, roomId: portal.roomId!, type: disappear.type, timerMs: disappear.timerMs,
        disappearAt: disappear.type === 'after_send' ? msg.timestamp + disappear.timerMs : null,
      });
    }
  }
  if (opts.backfill) {
    b.metrics?.backfilled(1);
  } else {
    const first = converted.parts[0];
    b.metrics?.messageBridged('remote_to_matrix', Date.now() - msg.timestamp, String(first?.content.msgtype ?? first?.type ?? 'other'));
  }
}

async function handleRemoteEdit(portal: Portal, login: UserLogin, evt: RemoteEdit): Promise<void> {
  const b = portal.bridge;
  const parts = await b.db.messages.getAllParts(portal.key, evt.target);
  if (!parts.length || !portal.roomId) return portal.log.debug({ target: evt.target }, 'edit target unknown');
  if (evt.editCount !== undefined && parts.every((p) => p.editCount >= evt.editCount!)) return;
  const actor = await b.actorFor(portal, login, evt.sender.user, evt.sender);
  const media = new RoomMediaUploads(b, portal.roomId, actor);
  const edit = await evt.convert(convertContext(portal, login, actor, media), parts.map((p) => p.partId as PartId));
  for (const mod of edit.modifiedParts) {
    const part = parts.find((p) => p.partId === mod.partId);
    if (!part) continue;
    const editCount = part.editCount + 1;
    const newContent = media.apply(mod.content);
    const body = typeof newContent.body === 'string' ? newContent.body : '';
    const content = {
      ...newContent, body: `* ${body}`,
      ...(typeof newContent.formatted_body === 'string' ? { formatted_body: `* ${newContent.formatted_body}` } : {}),
      'm.new_content': newContent,
      'm.relates_to': { rel_type: 'm.replace', event_id: part.mxid },
    };
    await b.api.sendEvent(portal.roomId, mod.type ?? 'm.room.message', content, {
      asUser: actor, txnId: txnIdFor('edit', part.mxid, String(editCount), String(evt.timestamp)),
    });
    await b.db.messages.updateEdit(part.mxid, editCount, mod.metadata);
  }
  for (const partId of edit.deletedParts ?? []) {
    const part = parts.find((p) => p.partId === partId);
    if (!part) continue;
    await b.api.redact(portal.roomId, part.mxid, { asUser: actor, txnId: txnIdFor('redact', part.mxid) }).catch(() => undefined);
    await b.db.messages.deleteByMxid(part.mxid);
  }
}

async function findTargetPart(portal: Portal, id: MessageId, partId?: PartId) {
  const parts = await portal.bridge.db.messages.getAllParts(portal.key, id);
  return parts.find((p) => p.partId === (partId ?? '')) ?? parts[0];
}

async function handleRemoteReaction(portal: Portal, login: UserLogin, evt: RemoteReaction): Promise<void> {
  const b = portal.bridge;
  const target = await findTargetPart(portal, evt.target, evt.targetPart);
  if (!target || !portal.roomId) return portal.log.debug({ target: evt.target }, 'reaction target unknown');
  const existing = await b.db.reactions.get(portal.key, target.id, target.partId, evt.sender.user, evt.emojiId);
  if (existing) return;
  const actor = await b.actorFor(portal, login, evt.sender.user, evt.sender);
  if (evt.replacesOthers) {
    for (const old of await b.db.reactions.listBySender(portal.key, target.id, evt.sender.user)) {
      await b.api.redact(portal.roomId, old.mxid, { asUser: actor, txnId: txnIdFor('unreact', old.mxid) }).catch(() => undefined);
      await b.db.reactions.deleteByMxid(old.mxid);
    }
  }
  const eventId = await b.api.sendEvent(portal.roomId, 'm.reaction', {
    'm.relates_to': { rel_type: 'm.annotation', event_id: target.mxid, key: evt.emoji },
    ...(b.isDoublePuppet(actor) ? { [DOUBLE_PUPPET_KEY]: b.connector.name.networkId } : {}),
  }, { asUser: actor, txnId: txnIdFor('react', target.mxid, evt.sender.user, evt.emojiId) });
  await b.db.reactions.upsert({
    portalId: portal.row.id, portalReceiver: portal.row.receiver, messageId: target.id, partId: target.partId,
    senderId: evt.sender.user, emojiId: evt.emojiId, emoji: evt.emoji, mxid: eventId, timestamp: evt.timestamp, metadata: {},
  });
}

async function handleRemoteReactionRemove(portal: Portal, login: UserLogin, evt: RemoteReactionRemove): Promise<void> {
  const b = portal.bridge;
  if (!portal.roomId) return;
  const target = await findTargetPart(portal, evt.target, evt.targetPart);
  if (!target) return;
  const rows = (await b.db.reactions.listBySender(portal.key, target.id, evt.sender.user))
    .filter((r) => evt.emojiId === undefined || r.emojiId === evt.emojiId);
  const actor = await b.actorFor(portal, login, evt.sender.user, evt.sender);
  for (const r of rows) {
    await b.api.redact(portal.roomId, r.mxid, { asUser: actor, txnId: txnIdFor('unreact', r.mxid) }).catch(() => undefined);
    await b.db.reactions.deleteByMxid(r.mxid);
  }
}

async function handleRemoteMessageRemove(portal: Portal, login: UserLogin, evt: RemoteMessageRemove): Promise<void> {
  const b = portal.bridge;
  if (!portal.roomId) return;
  const parts = await b.db.messages.getAllParts(portal.key, evt.target);
  const actor = await b.actorFor(portal, login, evt.sender.user, evt.sender);
  for (const p of parts) {
    try {
      await b.api.redact(portal.roomId, p.mxid, { asUser: actor, txnId: txnIdFor('redact', p.mxid) });
    } catch {
      await b.api.redact(portal.roomId, p.mxid, { asUser: b.botMxid, txnId: txnIdFor('redact-bot', p.mxid) });
    }
  }
  await b.db.messages.deleteAllParts(portal.key, evt.target);
}

async function handleRemoteReadReceipt(portal: Portal, login: UserLogin, evt: RemoteReadReceipt): Promise<void> {
  const b = portal.bridge;
  if (!portal.roomId) return;
  const target = await findTargetPart(portal, evt.target);
  if (!target) return;
  const actor = await b.actorFor(portal, login, evt.sender.user, evt.sender);
  if (evt.sender.isFromMe && !b.isDoublePuppet(actor)) return;
  if (b.isDoublePuppet(actor)) portal.puppetReceipts.set(actor, target.mxid);
  await b.api.sendReceipt(portal.roomId, target.mxid, actor);
  if (evt.sender.isFromMe) await b.db.disappearing.startTimersForRoom(portal.roomId, Date.now());
}

async function handleRemoteDeliveryReceipt(portal: Portal, evt: RemoteDeliveryReceipt): Promise<void> {
  const b = portal.bridge;
  if (!portal.roomId || !b.config.bridge.message_status_events) return;
  for (const id of evt.targets) {
    const part = await findTargetPart(portal, id);
    if (!part || b.isGhost(part.senderMxid)) continue;
    await b.api.sendEvent(portal.roomId, 'com.beeper.message_send_status', {
      network: b.connector.name.networkId, status: 'SUCCESS', delivered_to_users: [b.ghostMxid(evt.sender.user)],
      'm.relates_to': { rel_type: 'm.reference', event_id: part.mxid },
    }, { asUser: b.botMxid, txnId: txnIdFor('delivered', part.mxid, evt.sender.user) }).catch(() => undefined);
  }
}

async function handleRemoteTyping(portal: Portal, login: UserLogin, evt: RemoteTyping): Promise<void> {
  const b = portal.bridge;
  if (!portal.roomId || evt.sender.isFromMe) return;
  const actor = await b.actorFor(portal, login, evt.sender.user, evt.sender);
  await b.api.setTyping(portal.roomId, actor, evt.timeoutMs > 0, evt.timeoutMs).catch(() => undefined);
}

async function handleRemoteChatInfoChange(portal: Portal, login: UserLogin, evt: RemoteChatInfoChange): Promise<void> {
  const b = portal.bridge;
  if (!portal.roomId) return;
  const c = evt.change;
  await applyChatInfo(portal, login, { name: c.name, topic: c.topic, avatar: c.avatar, members: [...(c.members?.added ?? []), ...(c.members?.changed ?? [])] }, evt.sender.user);
  for (const r of c.members?.removed ?? []) {
    const mxid = b.matrixIdForRemoteUser(login, r.user);
    if (r.kicked && r.by) {
      const by = await b.actorFor(portal, login, r.by);
      await b.api.kick(portal.roomId, mxid, by).catch(() => b.api.kick(portal.roomId!, mxid, b.botMxid).catch(() => undefined));
      // A kicked ghost must join again when re-added; drop its cached membership.
      if (b.isGhost(mxid)) (await b.getGhost(r.user)).forgetRoom(portal.roomId);
    } else if (b.isGhost(mxid)) {
      await b.api.leave(portal.roomId, mxid).catch(() => undefined);
      (await b.getGhost(r.user)).forgetRoom(portal.roomId);
    } else {
      await b.api.kick(portal.roomId, mxid, b.botMxid, 'Left the chat on the network').catch(() => undefined);
    }
  }
  if (c.members?.changed?.length || c.members?.added?.some((m) => m.powerLevel !== undefined)) {
    await setMemberPowerLevels(portal, [...(c.members.changed ?? []), ...(c.members.added ?? [])]);
  }
  if (c.parent !== undefined) await setParent(portal, login, c.parent);
  if (c.disappear !== undefined) {
    await portal.update({ disappearType: c.disappear?.type ?? null, disappearTimerMs: c.disappear?.timerMs ?? null });
    const actor = await b.actorFor(portal, login, evt.sender.user, evt.sender);
    await b.api.sendEvent(portal.roomId, 'm.room.message', { msgtype: 'm.notice', body: disappearNotice(c.disappear) }, {
      asUser: actor, txnId: txnIdFor('disappear', portal.row.id, String(evt.timestamp)),
    });
  }
}

async function handleRemoteChatResync(portal: Portal, login: UserLogin, evt: RemoteChatResync): Promise<void> {
  if (!portal.roomId) {
    if (!evt.createPortal) return;
    await ensureRoom(portal, login, evt.info);
  } else {
    const info = evt.info ?? (await login.client.getChatInfo(portal.key));
    await applyChatInfo(portal, login, info);
    if (info.members) await setMemberPowerLevels(portal, info.members);
    // Full info: no parent means the chat has none (any more).
    await setParent(portal, login, info.parent ?? null);
  }
  if (evt.latestMessage) {
    const last = await portal.bridge.db.messages.getLast(portal.key);
    if (!last || last.id !== evt.latestMessage.id) await catchUp(portal, login);
  }
}

async function handleRemoteBackfill(portal: Portal, login: UserLogin, evt: RemoteBackfill): Promise<void> {
  if (!portal.roomId) await ensureRoom(portal, login);
  for (const msg of evt.messages) {
    if ((await portal.bridge.db.messages.getAllParts(portal.key, msg.id)).length) continue;
    if (await recordEcho(portal, login, msg)) continue;
    await sendConverted(portal, login, msg, { backfill: true });
  }
}

export type { RemoteSender };

/** "Disappearing messages are now on: messages disappear 1 minute after they are sent." */
export function disappearNotice(d: { type: 'after_read' | 'after_send'; timerMs: number } | null): string {
  if (!d) return 'Disappearing messages are now off.';
  const s = Math.round(d.timerMs / 1000);
  const span = s % 86_400 === 0 ? `${s / 86_400} day${s === 86_400 ? '' : 's'}` : s % 3600 === 0 ? `${s / 3600} hour${s === 3600 ? '' : 's'}`
    : s % 60 === 0 ? `${s / 60} minute${s === 60 ? '' : 's'}` : `${s} second${s === 1 ? '' : 's'}`;
  return `Disappearing messages are now on: messages disappear ${span} after they are ${d.type === 'after_read' ? 'read' : 'sent'}.`;
}
