/**
 * Matrix message content <-> the neutral FormattedText, with mentions translated between Matrix
 * user ids and remote user ids by the caller's mapping.
 */
import { formattedToHtml } from './format/formatted-to-html.js';
import { htmlToFormatted } from './format/html-to-formatted.js';
import { cleanText } from './format/text-clean.js';
import type { FormattedText, TextEntity } from './format/formatted-text.js';

export type MentionMapper = (id: string) => string | undefined;

/** Reads `body` / `formatted_body` of a Matrix message into FormattedText; mentions become remote ids. */
export function contentToFormatted(content: Record<string, unknown>, toRemote: MentionMapper): FormattedText {
  const body = typeof content.body === 'string' ? content.body : '';
  let ft: FormattedText;
  if (content.format === 'org.matrix.custom.html' && typeof content.formatted_body === 'string') {
    ft = htmlToFormatted(content.formatted_body);
  } else {
    // Only a reply carries a fallback; a plain message may itself start with "> ".
    const rel = content['m.relates_to'] as Record<string, unknown> | undefined;
    const isReply = typeof rel === 'object' && rel !== null && typeof rel['m.in_reply_to'] === 'object' && rel['m.in_reply_to'] !== null;
    // Cleaned as htmlToFormatted cleans: no control characters or lone surrogates reach a network.
    ft = { text: cleanText(isReply ? stripReplyFallback(body) : body), entities: [] };
  }
  return mapMentions(ft, toRemote);
}

/** Builds Matrix text content from FormattedText whose mentions are remote ids. */
export function formattedToContent(ft: FormattedText, toMatrix: MentionMapper, msgtype = 'm.text'): Record<string, unknown> {
  const mapped = mapMentions(ft, toMatrix);
  const { body, formatted_body } = formattedToHtml(mapped);
  const userIds = [...new Set(mapped.entities.filter((e) => e.type === 'mention' && e.userId).map((e) => e.userId as string))];
  const mentions: Record<string, unknown> = {};
  if (userIds.length) mentions.user_ids = userIds;
  if (mapped.entities.some((e) => e.type === 'room_mention')) mentions.room = true;
  const content: Record<string, unknown> = { msgtype, body, 'm.mentions': mentions };
  if (formatted_body !== undefined) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = formatted_body;
  }
  return content;
}

/** Mentions whose id the mapper does not know become plain text. */
function mapMentions(ft: FormattedText, map: MentionMapper): FormattedText {
  const entities: TextEntity[] = [];
  for (const e of ft.entities) {
    if (e.type !== 'mention') {
      entities.push(e);
      continue;
    }
    const mapped = e.userId ? map(e.userId) : undefined;
    if (mapped) entities.push({ ...e, userId: mapped });
  }
  return { text: ft.text, entities };
}

/** Plain-text replies may start with "> <@user> quoted" lines (the old reply fallback). */
export function stripReplyFallback(body: string): string {
  if (!body.startsWith('> ')) return body;
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('> ')) i++;
  if (i < lines.length && lines[i] === '') i++;
  return lines.slice(i).join('\n');
}

export function plainText(text: string): FormattedText {
  return { text, entities: [] };
}
