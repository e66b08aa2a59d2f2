/**
 * WhatsApp polls (pollCreationMessage, V2, V3) -> text listing the options. The poll's
 * `messageSecret` is kept in the part metadata: votes arrive encrypted with it.
 */
import type { TextEntity } from '@tributary/core/matrix/format/index';
import { partId, type ConvertContext, type ConvertedPart } from '@tributary/core/network/index';
import type { proto } from 'baileys';

export interface WAPollMetadata {
  name: string;
  options: string[];
  selectableCount: number;
  /** Base64 of messageContextInfo.messageSecret (the key votes are encrypted with). */
  messageSecret?: string;
}

export function pollMetadata(poll: proto.Message.IPollCreationMessage, secret: Uint8Array | null | undefined): WAPollMetadata {
  return {
    name: poll.name ?? '',
    options: (poll.options ?? []).map((o) => o.optionName ?? ''),
    selectableCount: poll.selectableOptionsCount ?? 0,
    ...(secret && secret.length ? { messageSecret: Buffer.from(secret).toString('base64') } : {}),
  };
}

export function convertWAPoll(poll: proto.Message.IPollCreationMessage, secret: Uint8Array | null | undefined, ctx: ConvertContext): ConvertedPart {
  const meta = pollMetadata(poll, secret);
  const head = `Poll: ${meta.name}`;
  const lines = meta.options.map((o, i) => `${i + 1}. ${o}`);
  const footer = meta.selectableCount > 1 ? `\n(choose up to ${meta.selectableCount}; vote on your phone)` : '\n(vote on your phone)';
  const text = `${head}\n${lines.join('\n')}${footer}`;
  const entities: TextEntity[] = [{ type: 'bold', offset: 0, length: head.length }];
  return { id: partId(''), type: 'm.room.message', content: ctx.textContent({ text, entities }), metadata: { poll: meta } };
}

/** The running totals of a poll: one count per option, in the poll's order. */
export interface WAPollTally {
  name: string;
  options: Array<{ name: string; votes: number }>;
  selectableCount: number;
}

/**
 * The poll's message with its running totals ("• Yes — 2" under the question), sent as an edit of
 * the poll each time a vote arrives.
 */
export function pollTallyContent(tally: WAPollTally, ctx: ConvertContext): ReturnType<ConvertContext['textContent']> {
  const head = `Poll: ${tally.name}`;
  const lines = tally.options.map((o) => `• ${o.name} — ${o.votes}`);
  const footer = tally.selectableCount > 1 ? `(choose up to ${tally.selectableCount}; vote on your phone)` : '(vote on your phone)';
  const text = `${head}\n${lines.join('\n')}\n${footer}`;
  const entities: TextEntity[] = [{ type: 'bold', offset: 0, length: head.length }];
  return ctx.textContent({ text, entities });
}

/** The poll creation in (unwrapped) content, whichever version. */
export function pollCreationOf(content: proto.IMessage | null | undefined): proto.Message.IPollCreationMessage | undefined {
  return content?.pollCreationMessage ?? content?.pollCreationMessageV2 ?? content?.pollCreationMessageV3 ?? undefined;
}
