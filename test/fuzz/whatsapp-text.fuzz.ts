/**
 * WhatsApp markup <-> FormattedText, in the directions the connector uses: Matrix content ->
 * contentToFormatted -> textToWhatsApp (what is sent), and WhatsApp text -> parseWhatsAppText ->
 * formattedToContent (what Matrix gets). Never throws, bounded time, clean markup, valid
 * mentions, and the round trips wa-text-format.ts promises.
 */
import fc from 'fast-check';
import { contentToFormatted, formattedToContent } from '../../shared/src/matrix/content.js';
import { cleanText, isValidUserId, type FormattedText, type TextEntity } from '../../shared/src/matrix/format/index.js';
import { textToWhatsApp } from '../../bridges/whatsapp/src/msgconv/from-matrix.js';
import { formatWhatsAppText, parseWhatsAppText } from '../../bridges/whatsapp/src/msgconv/wa-text.js';
import { hostileHtml } from './arbitraries-html.js';
import { looseFormatted } from './arbitraries-formatted.js';
import { hostileText, hostileUnit, longText } from './arbitraries-text.js';
import { expectNone, formattedProblem, htmlProblems, textProblem } from './checks.js';
import { CONVERTER_RUNS, fuzz, hugeRuns, timeoutFor } from './fuzz-config.js';

const ZWSP = /\u200b/g;
const WRITER_TAGS: ReadonlySet<string> = new Set(['strong', 'em', 'u', 'del', 'code', 'pre', 'a', 'span', 'blockquote', 'br']);
const JID = /^(\d{1,32})@(s\.whatsapp\.net|lid)$/;

/** WhatsApp markup: marker characters, fences, quotes, mentions, URLs, among hostile text. */
const waUnit = fc.oneof(
  { arbitrary: fc.constantFrom('*', '_', '~', '`', '```', '> ', '\n', '\n> ', ' ', '@', '@123', '@456', '@all', '@everyone', 'https://e.org/a_b*c', '\u200b'), weight: 3 },
  { arbitrary: hostileUnit, weight: 3 },
  { arbitrary: fc.constantFrom('bold', 'x', 'é', '😀', '1', '(', ')', '.'), weight: 2 },
);
const waText = fc.string({ unit: waUnit, maxLength: 80, size: 'medium' });

const PHONE = '123@s.whatsapp.net';
const LID = '456@lid';
const mentionJids = fc.array(fc.oneof(fc.constantFrom(PHONE, LID, '123:7@s.whatsapp.net', '999@s.whatsapp.net', '@', '', 'x@y'), hostileText(10)), { maxLength: 4 });

/** RemoteUserId -> ghost, as the core maps mentions (unknown ids become plain text). */
function ghostOf(remote: string): string | undefined {
  return /^(?:lid-)?\d{1,32}$/.test(remote) ? `@whatsapp_${remote}:example.org` : undefined;
}

/** Matrix user id -> RemoteUserId, for pills of ghosts. */
function remoteOf(userId: string): string | undefined {
  return /^@whatsapp_((?:lid-)?\d{1,32}):example\.org$/.exec(userId)?.[1];
}

const matrixContent = fc.oneof(
  fc.record({ msgtype: fc.constantFrom('m.text', 'm.notice', 'm.emote'), body: hostileText(60), format: fc.constant('org.matrix.custom.html'), formatted_body: hostileHtml }),
  fc.record({ msgtype: fc.constantFrom('m.text', 'm.notice'), body: fc.oneof(hostileText(80), waText) }),
  fc.record({ msgtype: fc.constant('m.text'), body: hostileText(60), 'm.relates_to': fc.constant({ 'm.in_reply_to': { event_id: '$x' } }) }),
);

/** Text after a trip through WhatsApp compares without the ZWSPs the writer inserts. */
const bare = (s: string): string => s.replace(ZWSP, '');

/** The same FormattedText without ZWSPs, entity offsets moved to match. */
function withoutZwsp(ft: FormattedText): FormattedText {
  const before: number[] = [];
  let n = 0;
  for (let i = 0; i <= ft.text.length; i++) {
    before.push(n);
    if (ft.text.charCodeAt(i) === 0x200b) n++;
  }
  const at = (p: number): number => p - (before[p] ?? 0);
  return { text: bare(ft.text), entities: ft.entities.map((e) => ({ ...e, offset: at(e.offset), length: at(e.offset + e.length) - at(e.offset) })) };
}

/** Bold, italic, strikethrough and code on word boundaries of one line: all survive the trip. */
const waWordFormatted: fc.Arbitrary<FormattedText> = fc
  .tuple(
    fc.array(fc.constantFrom('alpha', 'x', 'é', '😀', '42', '*', '_', '~', 'a*b', 'snake_case', '(x)', '"q"', 'https://e.org/a_b', '@123', '> '), { minLength: 1, maxLength: 8 }),
    fc.array(fc.tuple(fc.nat(7), fc.nat(7), fc.constantFrom<TextEntity['type']>('bold', 'italic', 'strikethrough', 'code')), { maxLength: 4 }),
  )
  .map(([words, picks]) => {
    const starts: number[] = [];
    const ends: number[] = [];
    let text = '';
    words.forEach((w, i) => {
      if (i > 0) text += ' ';
      starts.push(text.length);
      text += w;
      ends.push(text.length);
    });
    // Disjoint entities only (nesting has its own rules, covered by the unit tests), and only
    // on words that hold a letter or digit: markers around "*" alone are not read as markup.
    const entities: TextEntity[] = [];
    const used = new Set<number>();
    for (const [a, b, type] of picks) {
      const from = Math.min(a, b) % words.length;
      const to = Math.min(Math.max(a, b) % words.length, words.length - 1);
      if (to < from) continue;
      let free = true;
      for (let k = from; k <= to; k++) if (used.has(k) || !/[\p{L}\p{N}]/u.test(words[k] ?? '')) free = false;
      if (!free) continue;
      for (let k = from; k <= to; k++) used.add(k);
      entities.push({ type, offset: starts[from] as number, length: (ends[to] as number) - (starts[from] as number) });
    }
    return { text, entities };
  });

const key = (e: TextEntity): string => `${e.offset}+${e.length}:${e.type}`;

describe('fuzz: WhatsApp markup <-> FormattedText <-> Matrix', function () {
  this.timeout(timeoutFor(CONVERTER_RUNS));

  it('whatsapp -> formatted -> matrix: sound entities, allowlisted html, clean body, valid mentions', () => {
    const input = fc.record({ text: waText, mentions: mentionJids, everyone: fc.boolean(), named: fc.boolean() });
    fuzz('whatsapp -> formatted -> matrix: sound entities, allowlisted html, clean body, valid mentions', input, CONVERTER_RUNS, ({ text, mentions, everyone, named }) => {
      const ft = parseWhatsAppText(text, {
        mentions,
        everyone,
        jidToUserId: (jid) => (JID.test(jid) ? (jid.endsWith('@lid') ? `lid-${jid.split('@')[0]}` : jid.split('@')[0]) : undefined),
        ...(named ? { displayName: (id: string) => (id.startsWith('lid') ? '\u202eEvil\nName\u0000' : 'Bob') } : {}),
      });
      expectNone([formattedProblem(ft, { cleanText: false })], { text, mentions });
      const content = formattedToContent(ft, ghostOf);
      const userIds = ((content['m.mentions'] as { user_ids?: unknown[] }).user_ids ?? []) as unknown[];
      expectNone(
        [
          textProblem(String(content.body)),
          ...htmlProblems(typeof content.formatted_body === 'string' ? content.formatted_body : '', { tags: WRITER_TAGS, wellFormed: true }),
          ...userIds.map((u) => (isValidUserId(u) ? undefined : `m.mentions user ${JSON.stringify(u)}`)),
        ],
        { text, content },
      );
    });
  });

  it('matrix -> formatted -> whatsapp: clean markup, valid mentions, re-readable', () => {
    const input = fc.record({ content: matrixContent, group: fc.boolean() });
    fuzz('matrix -> formatted -> whatsapp: clean markup, valid mentions, re-readable', input, CONVERTER_RUNS, ({ content, group }) => {
      const ft = contentToFormatted(content, remoteOf);
      const out = textToWhatsApp(ft, group ? '1203630@g.us' : '123@s.whatsapp.net');
      const problems = [textProblem(out.text)];
      for (const jid of out.mentions) {
        const user = JID.exec(jid)?.[1];
        if (user === undefined) problems.push(`mention JID ${JSON.stringify(jid)}`);
        else if (!out.text.includes(`@${user}`)) problems.push(`mention ${jid} not in the text`);
      }
      if (out.mentionAll && !group) problems.push('mention-all outside a group');
      const back = parseWhatsAppText(out.text, { mentions: out.mentions, everyone: out.mentionAll, jidToUserId: (jid) => jid });
      problems.push(formattedProblem(back, { cleanText: true }));
      expectNone(problems, { content, out });
    });
  });

  it('formatted -> whatsapp -> formatted: plain text comes back, ZWSPs aside', () => {
    fuzz('formatted -> whatsapp -> formatted: plain text comes back, ZWSPs aside', hostileText(80), CONVERTER_RUNS, (text) => {
      const out = formatWhatsAppText({ text, entities: [] }, { userIdToJid: () => undefined });
      const back = parseWhatsAppText(out.text, { mentions: [], jidToUserId: () => undefined });
      if (back.entities.length > 0) throw new Error(`markup appeared: ${JSON.stringify(back.entities)} from ${JSON.stringify(out.text)}`);
      if (bare(back.text) !== bare(cleanText(text))) throw new Error(`text changed: ${JSON.stringify(text)} -> ${JSON.stringify(out.text)} -> ${JSON.stringify(back.text)}`);
    });
  });

  it('formatted -> whatsapp -> formatted: word formatting comes back', () => {
    fuzz('formatted -> whatsapp -> formatted: word formatting comes back', waWordFormatted, CONVERTER_RUNS, (ft) => {
      const out = formatWhatsAppText(ft, { userIdToJid: () => undefined });
      const back = withoutZwsp(parseWhatsAppText(out.text, { mentions: [], jidToUserId: () => undefined }));
      const context = `${JSON.stringify(ft)} -> ${JSON.stringify(out.text)} -> ${JSON.stringify(back)}`;
      if (back.text !== ft.text) throw new Error(`text changed: ${context}`);
      if (JSON.stringify(back.entities.map(key).sort()) !== JSON.stringify(ft.entities.map(key).sort())) throw new Error(`entities changed: ${context}`);
    });
  });

  it('any formatted text -> whatsapp: never throws, clean, re-readable', () => {
    fuzz('any formatted text -> whatsapp: never throws, clean, re-readable', looseFormatted, CONVERTER_RUNS, (ft) => {
      const out = formatWhatsAppText(ft, { userIdToJid: (id) => (id === '@alice:example.org' ? PHONE : id === '@x:1.2.3.4' ? '\u0000\n@evil' : undefined) });
      const back = parseWhatsAppText(out.text, { mentions: out.mentions, everyone: out.everyone, jidToUserId: (jid) => jid });
      expectNone([textProblem(out.text), formattedProblem(back)], { ft, out });
    });
  });

  it('every entry point accepts values of the wrong type', () => {
    const junk = fc.oneof(fc.anything(), fc.constant(undefined), fc.constant(null));
    fuzz('every entry point accepts values of the wrong type', junk, Math.min(CONVERTER_RUNS, 2000), (value) => {
      expectNone([formattedProblem(parseWhatsAppText(value as string, { mentions: value as string[], jidToUserId: () => value as string }), { cleanText: false })], value);
      expectNone([textProblem(formatWhatsAppText(value as FormattedText, { userIdToJid: () => value as string }).text)], value);
      formatWhatsAppText({ text: 'abc', entities: value } as unknown as FormattedText, { userIdToJid: () => undefined });
      const content = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { body: value };
      textToWhatsApp(contentToFormatted(content, remoteOf), '1203630@g.us');
    });
  });

  it('huge whatsapp text both ways: bounded time, sound output', () => {
    const huge = fc.tuple(longText(waText, [65_000, 65_536, 70_000, 100_000]), fc.array(fc.nat(), { maxLength: 300 }));
    fuzz('huge whatsapp text both ways: bounded time, sound output', huge, hugeRuns(CONVERTER_RUNS), ([text, cuts]) => {
      const ft = parseWhatsAppText(text, { mentions: [PHONE], everyone: true, jidToUserId: () => '123' });
      expectNone([formattedProblem(ft, { cleanText: false })], text.slice(0, 200));
      const entities: TextEntity[] = cuts.map((n, i) => ({ type: i % 2 ? 'bold' : 'italic', offset: n % text.length, length: 1 + ((n * 7) % 500) }));
      const out = formatWhatsAppText({ text, entities }, { userIdToJid: () => PHONE });
      expectNone([textProblem(out.text)], text.slice(0, 200));
    });
  });
});
