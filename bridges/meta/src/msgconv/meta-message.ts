/**
 * The input of the Meta -> Matrix converter: one message row with the attachment rows that belong
 * to it, joined from the typed tables of a LightSpeed response. Meta sends them as separate
 * stored-procedure calls keyed by message id, in any order, sometimes the same blob twice.
 */
import type { LSRow, LSTables } from '../lightspeed/tables.js';

export type MetaMessageRow = LSRow<'LSInsertMessage'> | LSRow<'LSUpsertMessage'>;
export type MetaAttachmentCta = LSRow<'LSInsertAttachmentCta'>;
/** An attachment row, with the call-to-action Meta sent for it (XMAs: a location, a link ...). */
export type MetaAttachmentRow = (LSRow<'LSInsertAttachment'> | LSRow<'LSInsertBlobAttachment'>) & { cta?: MetaAttachmentCta };

/** Attachments with their CTA rows joined by attachment fbid (fact: the join key Meta's clients use). */
export function withCtas<T extends MetaAttachmentRow>(rows: readonly T[], ctas: readonly MetaAttachmentCta[] | undefined): T[] {
  if (!ctas?.length) return [...rows];
  const byFbid = new Map<string, MetaAttachmentCta>();
  for (const cta of ctas) if (cta.attachmentFbid) byFbid.set(cta.attachmentFbid, cta);
  return rows.map((row) => {
    const cta = row.attachmentFbid ? byFbid.get(row.attachmentFbid) : undefined;
    return cta ? { ...row, cta } : row;
  });
}

export interface MetaMessage {
  row: MetaMessageRow;
  /** In Meta's order (attachmentIndex), duplicates removed. */
  attachments: MetaAttachmentRow[];
}

/** Meta's attachment types (facts: the numbering of its AttachmentType enum). */
export const ATTACHMENT_TYPE = {
  none: 0,
  sticker: 1,
  image: 2,
  animatedImage: 3,
  video: 4,
  audio: 5,
  file: 6,
  xma: 7,
  ephemeralImage: 8,
  ephemeralVideo: 9,
  selfieSticker: 10,
  soundBite: 12,
  catalogItem: 13,
  powerUp: 14,
  thirdPartySticker: 15,
} as const;

/**
 * The thumbs-up "stickers" the Messenger like button sends (facts: three sizes, by how long the
 * button was held). Meta's clients show them as the emoji, and so does the bridge.
 */
export const THUMBS_UP_STICKER_IDS: ReadonlySet<string> = new Set(['369239263222822', '369239343222814', '369239383222810']);

/** ReplySourceType 1 is a reply to a message in the thread (fact); others point at stories etc. */
export const REPLY_SOURCE_MESSAGE = 1;

function dedupeKey(att: MetaAttachmentRow): string | undefined {
  return att.attachmentFbid ? `fbid:${att.attachmentFbid}` : undefined;
}

/** Attachments sorted by their index, the exact repeats Meta sometimes sends dropped. */
export function orderAttachments(rows: readonly MetaAttachmentRow[]): MetaAttachmentRow[] {
  const seen = new Set<string>();
  const out: MetaAttachmentRow[] = [];
  for (const row of rows) {
    const key = dedupeKey(row);
    if (key !== undefined) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    out.push(row);
  }
  // A stable sort: rows without an index keep their arrival order after the indexed ones.
  return out
    .map((row, i) => ({ row, i }))
    .sort((a, b) => (a.row.attachmentIndex ?? Number.MAX_SAFE_INTEGER) - (b.row.attachmentIndex ?? Number.MAX_SAFE_INTEGER) || a.i - b.i)
    .map((x) => x.row);
}

/**
 * The messages of one response, each with its attachments, in the order the message rows came.
 * Attachments whose message row is not in the same response are returned apart (Meta sends an
 * attachment for an earlier message when its media finished processing).
 */
export function groupMessages(tables: LSTables): { messages: MetaMessage[]; orphanAttachments: MetaAttachmentRow[] } {
  const rows: MetaMessageRow[] = [...(tables.LSInsertMessage ?? []), ...(tables.LSUpsertMessage ?? [])];
  const byId = new Map<string, MetaAttachmentRow[]>();
  for (const att of withCtas<MetaAttachmentRow>([...(tables.LSInsertAttachment ?? []), ...(tables.LSInsertBlobAttachment ?? [])], tables.LSInsertAttachmentCta)) {
    const list = byId.get(att.messageId) ?? [];
    list.push(att);
    byId.set(att.messageId, list);
  }
  const messages: MetaMessage[] = [];
  const used = new Set<string>();
  for (const row of rows) {
    if (used.has(row.messageId)) {
      // An upsert after an insert of the same message in one response: the later row wins.
      const i = messages.findIndex((m) => m.row.messageId === row.messageId);
      if (i >= 0) messages[i] = { row, attachments: messages[i]?.attachments ?? [] };
      continue;
    }
    used.add(row.messageId);
    messages.push({ row, attachments: orderAttachments(byId.get(row.messageId) ?? []) });
  }
  const orphanAttachments = [...byId.entries()].filter(([id]) => !used.has(id)).flatMap(([, list]) => orderAttachments(list));
  return { messages, orphanAttachments };
}
