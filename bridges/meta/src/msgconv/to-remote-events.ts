/**
 * LightSpeed rows that change earlier messages -> the core's RemoteEvents: reactions (one per
 * person on Meta, so each replaces the sender's previous one), reaction removals, edits, unsends.
 * The connector gives the portal, the time and who the account is; everything else is in the row.
 */
import {
  emojiId, type ConvertContext, type PortalKey, type RemoteEdit, type RemoteMessageRemove, type RemoteReaction,
  type RemoteReactionRemove, type RemoteSender, type UserLoginId,
} from '@tributary/core/network/index';
import type { LSRow } from '../lightspeed/tables.js';
import { makeMetaMessageId, makeMetaUserId } from './meta-ids.js';
import { convertMetaEdit } from './to-matrix.js';

/** The logged-in account, to tell its own actions (from the phone, or echoes) from others'. */
export interface MetaSelf {
  userId: string;
  login: UserLoginId;
}

export function metaSender(actorId: string, self: MetaSelf): RemoteSender {
  const isFromMe = actorId === self.userId;
  return { user: makeMetaUserId(actorId), isFromMe, ...(isFromMe ? { login: self.login } : {}) };
}

/** An upserted reaction; an empty reaction is Meta's way of taking one back. */
export function reactionEvent(row: LSRow<'LSUpsertReaction'>, portal: PortalKey, self: MetaSelf, now: number): RemoteReaction | RemoteReactionRemove {
  const base = { portal, sender: metaSender(row.actorId, self), timestamp: row.timestampMs ?? now, target: makeMetaMessageId(row.messageId) };
  if (row.reaction === '') return { type: 'reaction_remove', ...base };
  return { type: 'reaction', ...base, emojiId: emojiId(row.reaction), emoji: row.reaction, replacesOthers: true };
}

/** A deleted reaction: the person has at most one, so every reaction of theirs on the message goes. */
export function reactionRemoveEvent(row: LSRow<'LSDeleteReaction'>, portal: PortalKey, self: MetaSelf, now: number): RemoteReactionRemove {
  return { type: 'reaction_remove', portal, sender: metaSender(row.actorId, self), timestamp: now, target: makeMetaMessageId(row.messageId) };
}

/** An edit; the sender is the message's author, whom the edit row does not name. */
export function editEvent(row: LSRow<'LSEditMessage'>, portal: PortalKey, author: RemoteSender, now: number): RemoteEdit {
  return {
    type: 'edit', portal, sender: author, timestamp: now, target: makeMetaMessageId(row.messageId),
    ...(row.editCount !== undefined && row.editCount > 0 ? { editCount: row.editCount } : {}),
    convert: async (ctx: ConvertContext, existingParts) => convertMetaEdit(row, existingParts, ctx),
  };
}

/** A message deleted for everyone (an unsend seen as a delete row, or an upsert marking it unsent). */
export function unsendEvent(messageId: string, portal: PortalKey, sender: RemoteSender, timestamp: number): RemoteMessageRemove {
  return { type: 'message_remove', portal, sender, timestamp, target: makeMetaMessageId(messageId) };
}
