/**
 * Matrix -> network, for one portal, inside its queue. A message is recorded in `pending_sends`
 * before the connector is called, keyed by the Matrix event id, with a stable transaction id the
 * connector passes to the network: a replayed event is skipped once it is sent, and a send that
 * was interrupted is retried with the same id so the network can drop the duplicate.
 */
import { createHash } from 'node:crypto';
import {
  ErrNotLoggedIn, ErrTargetNotFound, ErrUnsupported, ErrUnsupportedInRoom, ErrTooOld, asBridgeError,
  isEditHandling, isReactionHandling, isReadReceiptHandling, isRedactionHandling, isRoomAvatarHandling,
  isRoomNameHandling, isRoomTopicHandling, isTypingHandling, isMembershipHandling,
  type MatrixEventBase, type MatrixMedia, type MatrixMessage, type MessageId, type PartId, type EmojiId, type RemoteUserId,
} from '../network/index.js';
import { contentToFormatted } from '../matrix/content.js';
import type { EphemeralEvent, MatrixRoomEvent } from '../matrix/transaction.js';
import type { Portal } from './portal.js';
import type { UserLogin } from './user-login.js';
import { sendFailureStatus, sendSuccessStatus } from './message-status.js';
import { applyRelayFormat } from './relay.js';
import { DOUBLE_PUPPET_KEY } from './portal-remote.js';
import { handlePowerLevels } from './portal-power-levels.js';
import { waitOutNetworkOutage } from './network-outage.js';
import { encryptedFileOf } from './room-media.js';

export function matrixTxnId(eventId: string): string {
  return 'mx' + createHash('sha256').update(eventId).digest('base64url').slice(0, 30);
}

interface Sender { login: UserLogin; relayedFor?: { mxid: string; displayName: string } }

/** Matrix events a space portal refuses. */
const SPACE_REFUSED = ['m.room.message', 'm.sticker', 'm.reaction', 'm.room.redaction'];

/** The login that acts for a Matrix user in this portal, or the relay. */
async function senderFor(portal: Portal, mxid: string): Promise<Sender | undefined> {
  const b = portal.bridge;
  const logins = b.loginsOf(mxid);
  if (portal.row.receiver) {
    const own = logins.find((l) => l.id === portal.row.receiver);
    if (own) return { login: own };
  } else {
    const inPortal = await b.db.userPortals.listForPortal(portal.key);
    const own = logins.find((l) => inPortal.some((up) => up.loginId === l.id)) ?? logins[0];
    if (own) return { login: own };
  }
  if (portal.row.relayLoginId && b.config.bridge.relay.enabled) {
    const relay = b.getLogin(portal.row.relayLoginId);
    if (relay) {
      const profile = await b.api.getProfile(mxid);
      return { login: relay, relayedFor: { mxid, displayName: profile.displayname ?? mxid } };
    }
  }
  return undefined;
}

export async function handleMatrixEvent(portal: Portal, ev: MatrixRoomEvent): Promise<void> {
  const b = portal.bridge;
  if (b.isGhost(ev.sender) || ev.sender === b.botMxid) return;
  if (ev.content[DOUBLE_PUPPET_KEY] !== undefined) return;
  if (ev.type === 'm.room.member') return handleMembership(portal, ev);
  const bridged = ['m.room.message', 'm.sticker', 'm.reaction', 'm.room.redaction', 'm.room.name', 'm.room.topic', 'm.room.avatar', 'm.room.power_levels'];
  if (!bridged.includes(ev.type)) return;
  if (ev.state_key !== undefined && ev.type === 'm.room.message') return;
  const status = { roomId: ev.room_id, eventId: ev.event_id, eventType: ev.type };
  try {
    if (!b.permissions.can(ev.sender, 'relay')) return;
    // A space (a community) holds rooms, not messages; its name, topic and avatar still bridge.
    if (portal.row.roomType === 'space' && SPACE_REFUSED.includes(ev.type)) {
      throw ErrUnsupportedInRoom('Sending messages in a space').with({ userMessage: 'This room is a space: messages sent here are not bridged' });
    }
    const sender = await senderFor(portal, ev.sender);
    if (!sender) throw ErrNotLoggedIn();
    if (!b.permissions.can(ev.sender, 'user') && !sender.relayedFor) throw ErrNotLoggedIn();
    const base: MatrixEventBase = {
      portal: portal.key, roomId: ev.room_id, eventId: ev.event_id, sender: ev.sender, timestamp: ev.origin_server_ts,
      ...(sender.relayedFor ? { relayedFor: sender.relayedFor } : {}),
    };
    // A new message carries a transaction id the network deduplicates, so it may be repeated even
    // when the connection dropped mid-send; anything else only when it surely did not arrive.
    const rel = (ev.content['m.relates_to'] ?? {}) as Record<string, unknown>;
    const idempotent = (ev.type === 'm.room.message' || ev.type === 'm.sticker') && rel.rel_type !== 'm.replace';
    const handled = await waitOutNetworkOutage(portal, () => dispatch(portal, sender, ev, base), { idempotent });
    if (handled) {
      if (ev.type !== 'm.room.message' && ev.type !== 'm.sticker') b.metrics?.eventBridged('matrix_to_remote', ev.type);
      else if ((ev.content['m.relates_to'] as { rel_type?: unknown } | undefined)?.rel_type === 'm.replace') b.metrics?.eventBridged('matrix_to_remote', 'edit');
      // The status trails the queue: the portal's next event need not wait for this round trip.
      await portal.sendTrailing(() => sendSuccessStatus(b, status));
    }
  } catch (err) {
    await sendFailureStatus(b, status, err);
  }
}

async function dispatch(portal: Portal, sender: Sender, ev: MatrixRoomEvent, base: MatrixEventBase): Promise<boolean> {
  const rel = (ev.content['m.relates_to'] ?? {}) as Record<string, unknown>;
  switch (ev.type) {
    case 'm.room.message':
    case 'm.sticker':
      if (rel.rel_type === 'm.replace') return handleEdit(portal, sender, ev, base, String(rel.event_id));
      return handleMessage(portal, sender, ev, base);
    case 'm.reaction':
      return handleReaction(portal, sender, ev, base, rel);
    case 'm.room.redaction':
      return handleRedaction(portal, sender, ev, base);
    case 'm.room.name':
    case 'm.room.topic':
    case 'm.room.avatar':
      return handleRoomMeta(portal, sender, ev, base);
    case 'm.room.power_levels':
      return !sender.relayedFor && handlePowerLevels(portal, sender.login, ev, base, ErrUnsupported);
  }
  return false;
}

function mentionsToRemote(portal: Portal, login: UserLogin) {
  return (mxid: string) => portal.bridge.remoteIdForMatrixUser(login, mxid);
}

async function handleMessage(portal: Portal, sender: Sender, ev: MatrixRoomEvent, base: MatrixEventBase): Promise<boolean> {
  const b = portal.bridge;
  const recorded = await b.db.messages.getByMxid(ev.event_id);
  if (recorded) {
    // Sent and recorded by a run that stopped before it closed the pending send (older versions).
    if ((await b.db.pendingSends.get(ev.event_id))?.state === 'pending') await b.db.pendingSends.markSent(ev.event_id, recorded.id);
    return false;
  }
  const txnId = matrixTxnId(ev.event_id);
  const existing = await b.db.pendingSends.get(ev.event_id);
  if (existing?.state === 'sent') return false;
  if (!existing) {
    // Committed before the send (the echo of an interrupted send is matched by it after a crash);
    // through db.write so it shares the commit with other portals' writes.
    await b.db.write((tx) => tx.pendingSends.insert({
      eventId: ev.event_id, portalId: portal.row.id, portalReceiver: portal.row.receiver, loginId: sender.login.id,
      txnId,
    }));
  }
  const c = ev.content;
  const msgtype = ev.type === 'm.sticker' ? 'm.sticker' : String(c.msgtype ?? 'm.text');
  const features = sender.login.client.getCapabilities(portal.key);
  const msg: MatrixMessage = { ...base, msgtype, txnId, content: c };
  const toRemote = mentionsToRemote(portal, sender.login);
  const hasText = ['m.text', 'm.notice', 'm.emote'].includes(msgtype);
  if (hasText) msg.text = contentToFormatted(c, toRemote);
  const media = mediaOf(portal, msgtype, c);
  if (media) {
    msg.media = media;
    const caption = typeof c.filename === 'string' && c.filename !== c.body && typeof c.body === 'string' ? contentToFormatted(c, toRemote) : undefined;
    if (caption?.text) msg.text = caption;
    if (features.media?.maxSize && media.size && media.size > features.media.maxSize) {
      throw asBridgeError(new Error('file too large')).with({ status: 'fail', reason: 'm_too_large', userMessage: 'The file is larger than this network allows' });
    }
  }
  if (msgtype === 'm.location') {
    const geo = /^geo:(-?[\d.]+),(-?[\d.]+)/.exec(String(c.geo_uri ?? ''));
    if (!geo) throw asBridgeError(new Error('bad geo_uri')).with({ status: 'fail', reason: 'm_bad_format', userMessage: 'The location is malformed' });
    if (features.locations === false) throw ErrUnsupportedInRoom('Locations');
    msg.location = { latitude: Number(geo[1]), longitude: Number(geo[2]), description: typeof c.body === 'string' ? c.body : undefined };
  }
  if (!hasText && !media && msgtype !== 'm.location') throw ErrUnsupported(`Message type ${msgtype}`);
  const inReply = ((c['m.relates_to'] as Record<string, unknown> | undefined)?.['m.in_reply_to'] as { event_id?: string } | undefined)?.event_id;
  if (inReply) {
    const target = await b.db.messages.getByMxid(inReply);
    if (target) msg.replyTo = { messageId: target.id as MessageId, partId: target.partId as PartId };
  }
  if (sender.relayedFor) applyRelayFormat(b, msg, sender.relayedFor);
  const res = await sender.login.client.handleMatrixMessage(msg).catch(async (err) => {
    await b.db.pendingSends.markFailed(ev.event_id, String((err as Error).message ?? err));
    throw err;
  });
  // One database transaction: a crash between the two would leave the send pending forever.
  await b.db.transaction(async (tx) => {
    await tx.messages.insertIfAbsent({
      id: res.id, partId: '', portalId: portal.row.id, portalReceiver: portal.row.receiver, mxid: ev.event_id,
      roomId: ev.room_id, senderId: res.sender ?? sender.login.id, senderMxid: ev.sender, timestamp: res.timestamp ?? ev.origin_server_ts,
      editCount: 0, replyToId: msg.replyTo?.messageId ?? null, threadRootId: null, metadata: res.metadata ?? {},
    });
    await tx.pendingSends.markSent(ev.event_id, res.id);
  });
  if (portal.row.disappearTimerMs && portal.row.disappearType) {
    await b.db.disappearing.upsert({
      mxid: ev.event_id, roomId: ev.room_id, type: portal.row.disappearType, timerMs: portal.row.disappearTimerMs,
      disappearAt: portal.row.disappearType === 'after_send' ? ev.origin_server_ts + portal.row.disappearTimerMs : null,
    });
  }
  b.metrics?.messageBridged('matrix_to_remote', Date.now() - ev.origin_server_ts, msgtype);
  return true;
}

function mediaOf(portal: Portal, msgtype: string, c: Record<string, unknown>): MatrixMedia | undefined {
  const kinds: Record<string, MatrixMedia['kind']> = { 'm.image': 'image', 'm.video': 'video', 'm.audio': 'audio', 'm.file': 'file', 'm.sticker': 'sticker' };
  const kind = kinds[msgtype];
  if (!kind) return undefined;
  const url = typeof c.url === 'string' ? c.url : undefined;
  const file = url === undefined && c.file !== undefined ? encryptedFileOf(c.file) : undefined; // encrypted attachment
  if (!url && !file) throw asBridgeError(new Error('missing media URL')).with({ status: 'fail', reason: 'm_bad_format', userMessage: 'The file could not be read' });
  const info = (c.info ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const voice = c['org.matrix.msc3245.voice'] !== undefined;
  const audio = (c['org.matrix.msc1767.audio'] ?? {}) as { waveform?: number[]; duration?: number };
  return {
    kind,
    open: async () => (file ? await portal.bridge.media.downloadEncrypted(file, { verifyFirst: true }) : await portal.bridge.media.download(url!)).stream,
    mimetype: typeof info.mimetype === 'string' ? info.mimetype : 'application/octet-stream',
    size: num(info.size),
    filename: typeof c.filename === 'string' ? c.filename : typeof c.body === 'string' ? c.body : 'file',
    width: num(info.w), height: num(info.h), durationMs: num(info.duration) ?? num(audio.duration),
    ...(voice ? { voice: { waveform: Array.isArray(audio.waveform) ? audio.waveform : undefined } } : {}),
  };
}

async function handleEdit(portal: Portal, sender: Sender, ev: MatrixRoomEvent, base: MatrixEventBase, targetId: string): Promise<boolean> {
  const b = portal.bridge;
  const api = sender.login.client;
  if (!isEditHandling(api)) throw ErrUnsupported('Editing');
  const features = api.getCapabilities(portal.key);
  if (!features.edits) throw ErrUnsupportedInRoom('Editing');
  const target = await b.db.messages.getByMxid(targetId);
  if (!target) throw ErrTargetNotFound('edited message');
  if (features.edits.maxAgeMs && Date.now() - target.timestamp > features.edits.maxAgeMs) {
    throw ErrTooOld('Edit').with({ userMessage: `Messages can be edited only within ${Math.max(1, Math.round(features.edits.maxAgeMs / 60_000))} minutes of sending` });
  }
  if (features.edits.maxCount !== undefined && target.editCount >= features.edits.maxCount) {
    // Refused before anything is sent: certain (asBridgeError alone would say "may not have been").
    throw asBridgeError(new Error('edit limit reached')).with({ status: 'fail', reason: 'm_unsupported', certain: true, userMessage: `Messages can be edited at most ${features.edits.maxCount} times` });
  }
  const newContent = (ev.content['m.new_content'] ?? ev.content) as Record<string, unknown>;
  await api.handleMatrixEdit({
    ...base, content: newContent, text: contentToFormatted(newContent, mentionsToRemote(portal, sender.login)),
    target: { messageId: target.id as MessageId, partId: target.partId as PartId, editCount: target.editCount, timestamp: target.timestamp },
  });
  await b.db.messages.updateEdit(target.mxid, target.editCount + 1);
  return true;
}

async function handleReaction(portal: Portal, sender: Sender, ev: MatrixRoomEvent, base: MatrixEventBase, rel: Record<string, unknown>): Promise<boolean> {
  const b = portal.bridge;
  const api = sender.login.client;
  if (sender.relayedFor) return false;
  if (!isReactionHandling(api)) throw ErrUnsupported('Reactions');
  if (!api.getCapabilities(portal.key).reactions) throw ErrUnsupportedInRoom('Reactions');
  if (await b.db.reactions.getByMxid(ev.event_id)) return false;
  const target = await b.db.messages.getByMxid(String(rel.event_id));
  if (!target) throw ErrTargetNotFound('reacted message');
  const msg = { ...base, target: { messageId: target.id as MessageId, partId: target.partId as PartId }, emoji: String(rel.key ?? '') };
  const pre = api.preHandleMatrixReaction(msg);
  const self = sender.login.id as unknown as RemoteUserId;
  if (await b.db.reactions.get(portal.key, target.id, target.partId, self, pre.emojiId)) return false;
  await api.handleMatrixReaction(msg, pre.emojiId);
  if (pre.onePerUser) {
    for (const old of await b.db.reactions.listBySender(portal.key, target.id, self)) {
      await b.db.reactions.deleteByMxid(old.mxid);
      await b.api.redact(ev.room_id, old.mxid, { asUser: b.botMxid, txnId: `unreact.${old.mxid}` }).catch(() => undefined);
    }
  }
  await b.db.reactions.upsert({
    portalId: portal.row.id, portalReceiver: portal.row.receiver, messageId: target.id, partId: target.partId,
    senderId: self, emojiId: pre.emojiId, emoji: pre.emoji, mxid: ev.event_id, timestamp: ev.origin_server_ts, metadata: {},
  });
  return true;
}

async function handleRedaction(portal: Portal, sender: Sender, ev: MatrixRoomEvent, base: MatrixEventBase): Promise<boolean> {
  const b = portal.bridge;
  const api = sender.login.client;
  const redacts = ev.redacts ?? (typeof ev.content.redacts === 'string' ? ev.content.redacts : undefined);
  if (!redacts) return false;
  const message = await b.db.messages.getByMxid(redacts);
  if (message) {
    if (!isRedactionHandling(api)) throw ErrUnsupported('Deleting messages');
    const features = api.getCapabilities(portal.key);
    if (!features.deletes) throw ErrUnsupportedInRoom('Deleting messages');
    if (features.deletes.maxAgeMs && Date.now() - message.timestamp > features.deletes.maxAgeMs) throw ErrTooOld('Deletion');
    await api.handleMatrixMessageRemove({ ...base, target: { messageId: message.id as MessageId, partId: message.partId as PartId, timestamp: message.timestamp } });
    await b.db.messages.deleteAllParts(portal.key, message.id);
    return true;
  }
  const reaction = await b.db.reactions.getByMxid(redacts);
  if (reaction) {
    if (!isReactionHandling(api)) throw ErrUnsupported('Reactions');
    await api.handleMatrixReactionRemove({
      ...base, target: { messageId: reaction.messageId as MessageId, partId: reaction.partId as PartId },
      emojiId: reaction.emojiId as EmojiId, emoji: reaction.emoji,
    });
    await b.db.reactions.deleteByMxid(redacts);
    return true;
  }
  return false;
}

async function handleRoomMeta(portal: Portal, sender: Sender, ev: MatrixRoomEvent, base: MatrixEventBase): Promise<boolean> {
  const b = portal.bridge;
  const api = sender.login.client;
  if (sender.relayedFor || portal.isDm) return false;
  const features = api.getCapabilities(portal.key);
  if (ev.type === 'm.room.name') {
    const name = String(ev.content.name ?? '');
    if (name === portal.row.name) return false;
    if (!isRoomNameHandling(api) || features.rename === false) throw ErrUnsupported('Renaming this chat');
    await api.handleMatrixRoomName({ ...base, name });
    await portal.update({ name, nameSet: true });
  } else if (ev.type === 'm.room.topic') {
    const topic = String(ev.content.topic ?? '');
    if (topic === portal.row.topic) return false;
    if (!isRoomTopicHandling(api) || features.topic === false) throw ErrUnsupported('Changing the topic');
    await api.handleMatrixRoomTopic({ ...base, topic });
    await portal.update({ topic, topicSet: true });
  } else {
    const url = typeof ev.content.url === 'string' ? ev.content.url : undefined;
    if ((url ?? null) === portal.row.avatarMxc) return false;
    if (!isRoomAvatarHandling(api) || features.avatar === false) throw ErrUnsupported('Changing the chat picture');
    const avatar: MatrixMedia | undefined = url ? {
      kind: 'image', open: async () => (await b.media.download(url)).stream, filename: 'avatar',
      mimetype: String(((ev.content.info ?? {}) as Record<string, unknown>).mimetype ?? 'image/jpeg'),
    } : undefined;
    await api.handleMatrixRoomAvatar({ ...base, ...(avatar ? { avatar } : {}) });
    await portal.update({ avatarMxc: url ?? null, avatarId: null, avatarSet: true });
  }
  return true;
}

async function handleMembership(portal: Portal, ev: MatrixRoomEvent): Promise<void> {
  const b = portal.bridge;
  const target = ev.state_key;
  if (!target) return;
  if (target === ev.sender) return handleOwnLeave(portal, ev);
  const remote = b.parseGhostMxid(target);
  if (!remote) return;
  const membership = String(ev.content.membership ?? '');
  const change = membership === 'invite' ? 'invite' : membership === 'leave' ? 'kick' : membership === 'ban' ? 'ban' : undefined;
  if (!change) return;
  const sender = await senderFor(portal, ev.sender);
  const status = { roomId: ev.room_id, eventId: ev.event_id, eventType: ev.type };
  try {
    if (!sender || sender.relayedFor) throw ErrNotLoggedIn();
    if (!isMembershipHandling(sender.login.client) || sender.login.client.getCapabilities(portal.key).membership === false) throw ErrUnsupported('Changing members');
    await sender.login.client.handleMatrixMembership({
      portal: portal.key, roomId: ev.room_id, eventId: ev.event_id, sender: ev.sender, timestamp: ev.origin_server_ts,
      target: remote, change, reason: typeof ev.content.reason === 'string' ? ev.content.reason : undefined,
    });
    if (change === 'invite') await (await b.getGhost(remote)).ensureJoined(ev.room_id);
    await sendSuccessStatus(b, status);
  } catch (err) {
    await sendFailureStatus(b, status, err);
  }
}

/**
 * The person left a group portal in Matrix: their login leaves the group on the network too
 * ("leaves both ways"). Only for a login of theirs that is in the portal; DMs and spaces are left
 * alone (leaving a DM room is tidying up, not something the other person should see).
 */
async function handleOwnLeave(portal: Portal, ev: MatrixRoomEvent): Promise<void> {
  const b = portal.bridge;
  if (String(ev.content.membership ?? '') !== 'leave' || portal.isDm || portal.row.roomType === 'space') return;
  const login = b.loginsInPortal(portal).find((l) => l.userMxid === ev.sender);
  const self = login ? b.remoteIdForMatrixUser(login, ev.sender) : undefined;
  if (!login || !self || !isMembershipHandling(login.client)) return;
  try {
    await login.client.handleMatrixMembership({
      portal: portal.key, roomId: ev.room_id, eventId: ev.event_id, sender: ev.sender, timestamp: ev.origin_server_ts,
      target: self as RemoteUserId, change: 'leave',
    });
    portal.log.info({ login: login.id }, 'left the chat on the network after leaving the room');
  } catch (err) {
    // The room is gone for the person, so a status event would go unseen: log it instead.
    portal.log.warn({ err: asBridgeError(err).message, login: login.id }, 'could not leave the chat on the network');
  }
}

export async function handleMatrixEphemeral(portal: Portal, ev: EphemeralEvent): Promise<void> {
  const b = portal.bridge;
  if (ev.type === 'm.typing') {
    const typingNow = new Set(Array.isArray(ev.content.user_ids) ? (ev.content.user_ids as string[]) : []);
    for (const login of b.loginsInPortal(portal)) {
      if (!isTypingHandling(login.client) || login.client.getCapabilities(portal.key).typing === false) continue;
      const typing = typingNow.has(login.userMxid);
      if (portal.typingState.get(login.userMxid) === typing) continue;
      portal.typingState.set(login.userMxid, typing);
      await login.client.handleMatrixTyping({ portal: portal.key, roomId: ev.room_id!, sender: login.userMxid, typing }).catch((err) => portal.log.debug({ err }, 'typing not sent'));
    }
  } else if (ev.type === 'm.receipt') {
    for (const [eventId, byType] of Object.entries(ev.content)) {
      const readers = Object.keys(((byType as Record<string, unknown>)?.['m.read'] ?? {}) as Record<string, unknown>);
      for (const mxid of readers) {
        const login = b.loginsInPortal(portal).find((l) => l.userMxid === mxid);
        if (!login || !isReadReceiptHandling(login.client)) continue;
        if (portal.puppetReceipts.get(mxid) === eventId) continue;
        const msg = await b.db.messages.getByMxid(eventId);
        await login.client.handleMatrixReadReceipt({
          portal: portal.key, roomId: ev.room_id!, eventId, sender: mxid, timestamp: Date.now(),
          ...(msg ? { target: { messageId: msg.id as MessageId, timestamp: msg.timestamp } } : {}),
        }).catch((err) => portal.log.debug({ err }, 'read receipt not sent'));
        await b.db.disappearing.startTimersForRoom(ev.room_id!, Date.now());
      }
    }
  }
}
