/**
 * Matrix actions on earlier messages and on the chat -> inputs of Meta's tasks: edits (with Meta's
 * limits), reactions (one per person: a new one replaces the old on Meta's side), redactions
 * (unsend), read receipts (mark read) and typing.
 */
import { BridgeError, ErrTargetNotFound, emojiId, type EmojiId, type MatrixEdit, type MatrixMessageRemove, type MatrixReadReceipt, type MatrixReaction, type MatrixReactionRemove, type MatrixTyping } from '@tributary/core/network/index';
import type { markReadInput, sendReactionInput, typingInput } from '../lightspeed/tasks.js';
import type { z } from 'zod';
import { parseMetaMessageId } from './meta-ids.js';
import { META_MAX_TEXT, textToMeta, type MetaSendTarget } from './from-matrix.js';

/** Meta refuses edits later than 15 minutes after the send, or after the fifth edit (facts). */
export const META_EDIT_WINDOW_MS = 15 * 60 * 1000;
export const META_MAX_EDITS = 5;

function targetMid(id: string, what: string): string {
  const mid = parseMetaMessageId(id);
  if (!mid) throw ErrTargetNotFound(`${what} target ${JSON.stringify(id.slice(0, 80))}`);
  return mid;
}

/**
 * The EditMessage input for a Matrix edit, or a BridgeError when Meta would refuse it. Mentions
 * become plain text: Meta's edit carries no mention ranges.
 */
export function matrixEditToMeta(edit: MatrixEdit, target: MetaSendTarget, now: number = Date.now()): { messageId: string; text: string } {
  const messageId = targetMid(edit.target.messageId, 'edit');
  if (edit.target.editCount >= META_MAX_EDITS) {
    throw new BridgeError(`edit limit reached (${edit.target.editCount} edits)`, {
      reason: 'm_unsupported', userMessage: `Meta allows at most ${META_MAX_EDITS} edits of a message`,
    });
  }
  if (now - edit.target.timestamp > META_EDIT_WINDOW_MS) {
    throw new BridgeError('edit window passed', {
      reason: 'm_too_old', userMessage: 'Meta allows edits only within 15 minutes of sending',
    });
  }
  const text = textToMeta(edit.text, target).text;
  if (text.trim() === '') throw new BridgeError('empty edit', { reason: 'm_bad_format', userMessage: 'An edit cannot remove all the text' });
  if (text.length > META_MAX_TEXT) throw new BridgeError('edit too long', { reason: 'm_too_large', userMessage: `The edit is too long for Meta (at most ${META_MAX_TEXT} characters)` });
  return { messageId, text };
}

/** Emoji, flags and keycaps: what a Meta reaction can be. */
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

/**
 * The reaction's identity for the core before it is sent: the emoji itself, one per person.
 * Text keys (Matrix allows any string) are refused: Meta reacts with emoji only.
 */
export function preHandleMetaReaction(msg: Pick<MatrixReaction, 'emoji'>): { emojiId: EmojiId; emoji: string; onePerUser: true } {
  const emoji = typeof msg.emoji === 'string' ? msg.emoji.trim() : '';
  if (emoji === '' || emoji.length > 64 || !EMOJI.test(emoji)) {
    throw new BridgeError('reaction is not an emoji', { reason: 'm_unsupported', userMessage: 'Meta accepts only emoji as reactions' });
  }
  return { emojiId: emojiId(emoji), emoji, onePerUser: true };
}

type ReactionInput = z.input<typeof sendReactionInput>;

export function matrixReactionToMeta(msg: MatrixReaction, target: MetaSendTarget, selfUserId: string): ReactionInput {
  const { emoji } = preHandleMetaReaction(msg);
  return { threadId: target.threadId, messageId: targetMid(msg.target.messageId, 'reaction'), actorId: selfUserId, reaction: emoji, timestampMs: msg.timestamp };
}

/** Meta removes a reaction by sending an empty one (fact). */
export function matrixReactionRemoveToMeta(msg: MatrixReactionRemove, target: MetaSendTarget, selfUserId: string): ReactionInput {
  return { threadId: target.threadId, messageId: targetMid(msg.target.messageId, 'reaction removal'), actorId: selfUserId, reaction: '', timestampMs: msg.timestamp };
}

/** A redaction unsends the message for everyone (Meta decides whether the account may). */
export function matrixRedactionToMeta(msg: MatrixMessageRemove): { messageId: string } {
  return { messageId: targetMid(msg.target.messageId, 'redaction') };
}

export function matrixReadReceiptToMeta(msg: MatrixReadReceipt, target: MetaSendTarget): z.input<typeof markReadInput> {
  const ts = msg.target?.timestamp ?? msg.timestamp;
  return { threadId: target.threadId, watermarkTimestampMs: Math.max(0, Math.floor(ts)) };
}

/** Meta's thread types for typing (facts): 1 one-to-one, 2 group. */
export const THREAD_TYPE = { oneToOne: 1, group: 2 } as const;

export function matrixTypingToMeta(msg: MatrixTyping, target: MetaSendTarget, threadType?: number): z.input<typeof typingInput> {
  return {
    threadId: target.threadId, isGroup: target.isGroup, isTyping: msg.typing,
    threadType: threadType ?? (target.isGroup ? THREAD_TYPE.group : THREAD_TYPE.oneToOne),
  };
}
