/**
 * WhatsApp contact cards -> a text summary ("Contact: Name, +1 555 …") plus each card as a .vcf
 * file, so a Matrix user can both read it and import it.
 */
import { Readable } from 'node:stream';
import { partId, type ConvertContext, type ConvertedPart, type MatrixContent } from '@tributary/core/network/index';
import type { proto } from 'baileys';

export interface VCardSummary {
  name: string;
  phones: string[];
}

/** Name and phone numbers of a vCard (folded lines joined; parameters and escapes handled). */
export function summarizeVCard(vcard: string, fallbackName = ''): VCardSummary {
  const lines = vcard.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
  let name = '';
  const phones: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const prop = line.slice(0, colon).split(';')[0]?.split('.').pop()?.toUpperCase();
    const value = line.slice(colon + 1).replace(/\\([,;\\])/g, '$1').replace(/\\n/gi, ' ').trim();
    if (prop === 'FN' && !name) name = value;
    else if (prop === 'TEL' && value) phones.push(value);
  }
  return { name: (name || fallbackName || 'Unknown contact').slice(0, 200), phones: phones.slice(0, 20) };
}

function safeFileName(name: string): string {
  const cleaned = name.replace(/[^\p{L}\p{N} ._-]+/gu, '').trim().slice(0, 100);
  return `${cleaned || 'contact'}.vcf`;
}

export async function convertWAContacts(
  cards: proto.Message.IContactMessage[], ctx: ConvertContext,
): Promise<ConvertedPart[]> {
  const summaries = cards.map((c) => summarizeVCard(c.vcard ?? '', c.displayName ?? ''));
  const lines = summaries.map((s) => (s.phones.length ? `${s.name}: ${s.phones.join(', ')}` : s.name));
  const text = cards.length === 1 ? `Contact: ${lines[0] ?? ''}` : `Contacts:\n${lines.map((l) => `• ${l}`).join('\n')}`;
  const parts: ConvertedPart[] = [{
    id: partId(''), type: 'm.room.message', content: ctx.textContent({ text, entities: [] }),
    metadata: { contacts: summaries },
  }];
  for (const [i, card] of cards.entries()) {
    if (!card.vcard) continue;
    const bytes = Buffer.from(card.vcard, 'utf8');
    const filename = safeFileName(summaries[i]?.name ?? 'contact');
    const up = await ctx.uploadMedia({ open: async () => Readable.from([bytes]), mimetype: 'text/vcard', size: bytes.length, filename });
    const content: MatrixContent = { msgtype: 'm.file', body: filename, filename, url: up.url, info: { mimetype: 'text/vcard', size: up.size } };
    parts.push({ id: partId(cards.length === 1 ? 'vcf' : `vcf-${i}`), type: 'm.room.message', content });
  }
  return parts;
}
