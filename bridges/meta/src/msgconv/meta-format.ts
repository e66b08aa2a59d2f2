/**
 * The core's FormattedText -> Meta text with markers (meta-markup.ts) and mention ranges, for
 * sends and edits from Matrix. Offsets are UTF-16 code units of the text written, which is what
 * JavaScript string indexes count and what Meta's mention columns count.
 *
 * - bold/italic/strikethrough: `*x*` `_x_` `~x~`, per line, spaces at either end left outside
 *   (Meta needs a non-blank character inside each marker). Meta does not nest them: an inline
 *   style inside another is written as plain text inside the outer one.
 * - code: `` `x` ``; code holding a backtick or a line break becomes a block. pre: a ``` block
 *   on lines of its own, with its language when Meta knows it.
 * - blockquote: "> " before each of its lines. underline, spoiler: plain text (Meta has neither).
 * - link: "text (url)", or the URL alone when the text is the URL; an unsafe URL is left out.
 * - mention: its text, "@" added in front when missing, plus a mention range for the Meta user;
 *   a mention of someone who is not a Meta user stays plain text. room_mention: "@everyone" with a
 *   thread mention, when the caller names the thread (groups only).
 * Literal marker characters in the text are not escaped: Meta has no escape character.
 */
import {
  cleanFormattedText, normalizeEntities, safeLinkUrl, type FormattedText, type TextEntity,
} from '@tributary/core/matrix/format/index';
import { CODE_LANGUAGES, FENCE, QUOTE_PREFIX, isSpace } from './meta-markup.js';
import type { MetaMention } from './meta-mentions.js';

export interface MetaFormatOptions {
  /** The decimal Meta user id a mention's user id stands for, or undefined. */
  metaUserIdFor(userId: string): string | undefined;
  /** The thread id for a room mention (groups); absent: "@room" stays text. */
  roomMentionThreadId?: string;
}

export interface MetaOutgoingText {
  text: string;
  mentions: MetaMention[];
}

const MARKERS: Partial<Record<TextEntity['type'], string>> = { bold: '*', italic: '_', strikethrough: '~', code: '`' };
export const EVERYONE_TEXT = '@everyone';

interface Item {
  e: TextEntity;
  end: number;
  /** For mentions: the Meta user id (or thread id) and type. */
  mention?: { id: string; type: 'p' | 't' };
}

const isInline = (t: TextEntity['type']): boolean => MARKERS[t] !== undefined;
const isAtomic = (t: TextEntity['type']): boolean => t === 'code' || t === 'pre' || t === 'mention' || t === 'room_mention';

/** The entities Meta can show, inline ones split per line and trimmed, nested in a way Meta reads. */
function prepare(text: string, input: readonly TextEntity[], opts: MetaFormatOptions): Item[] {
  const sorted = normalizeEntities(text, input);
  const kept: Item[] = [];
  const stack: Item[] = [];
  for (const original of sorted) {
    const e: TextEntity = { ...original };
    const end = e.offset + e.length;
    while (stack.length > 0 && (stack[stack.length - 1]?.end ?? 0) <= e.offset) stack.pop();
    if (e.type === 'underline' || e.type === 'spoiler') continue;
    if (stack.some((a) => isAtomic(a.e.type))) continue;
    if (e.type === 'code' && /[`\n]/.test(text.slice(e.offset, end))) e.type = 'pre';
    if (isInline(e.type) && stack.some((a) => isInline(a.e.type))) continue;
    if (e.type === 'blockquote' && stack.some((a) => a.e.type === 'blockquote' || isInline(a.e.type))) continue;
    if (e.type === 'pre' && stack.some((a) => isInline(a.e.type))) continue;
    if (e.type === 'link' && safeLinkUrl(e.url) === undefined) continue;
    let item: Item = { e, end };
    if (e.type === 'mention') {
      const id = typeof e.userId === 'string' ? opts.metaUserIdFor(e.userId) : undefined;
      if (id === undefined || !/^\d{1,19}$/.test(id)) continue;
      item = { e, end, mention: { id, type: 'p' } };
    }
    if (e.type === 'room_mention') {
      const id = opts.roomMentionThreadId;
      if (id === undefined || !/^\d{1,19}$/.test(id)) continue;
      item = { e, end, mention: { id, type: 't' } };
    }
    stack.push(item);
    kept.push(item);
  }
  const out: Item[] = [];
  for (const item of kept) {
    if (!isInline(item.e.type)) {
      out.push(item);
      continue;
    }
    let start = item.e.offset;
    for (let i = start; i <= item.end; i++) {
      if (i < item.end && text.charCodeAt(i) !== 0x0a) continue;
      let a = start;
      let b = i;
      if (item.e.type !== 'code') {
        while (a < b && isSpace(text.charAt(a))) a++;
        while (b > a && isSpace(text.charAt(b - 1))) b--;
      }
      if (b > a) out.push({ e: { ...item.e, offset: a, length: b - a }, end: b });
      start = i + 1;
    }
  }
  // Pieces of a split entity keep the outer-first order of normalizeEntities.
  return out.sort((x, y) => x.e.offset - y.e.offset || y.end - x.end);
}

/** Output kept as chunks (no re-reading of a growing string), with what the end of it holds. */
class Writer {
  private readonly chunks: string[] = [];
  length = 0;
  private lastChar = '';
  /** Spaces and tabs at the end of the output. */
  private trailingBlank = 0;
  quoteDepth = 0;
  readonly mentions: MetaMention[] = [];
  /** Where the last mention ends: trimming never reaches into it. */
  mentionEnd = 0;
  /** Set after a block ends mid-line: the spaces that followed it in the source are not written. */
  skipSpaces = false;

  write(s: string): void {
    if (s.length === 0) return;
    this.chunks.push(s);
    this.length += s.length;
    this.lastChar = s.charAt(s.length - 1);
    let blank = 0;
    while (blank < s.length && /[ \t]/.test(s.charAt(s.length - 1 - blank))) blank++;
    this.trailingBlank = blank === s.length ? this.trailingBlank + blank : blank;
  }

  /** Starts a new line unless at one; spaces left at the end of the line go (unless a mention ends there). */
  lineStart(): void {
    let cut = Math.min(this.trailingBlank, this.length - this.mentionEnd);
    while (cut > 0) {
      const last = this.chunks.pop() as string;
      const keep = Math.max(0, last.length - cut);
      cut -= last.length - keep;
      this.length -= last.length - keep;
      this.trailingBlank -= last.length - keep;
      if (keep > 0) this.chunks.push(last.slice(0, keep));
    }
    const tail = this.chunks[this.chunks.length - 1] ?? '';
    this.lastChar = tail.charAt(tail.length - 1);
    if (this.length > 0 && this.lastChar !== '\n') this.write('\n');
  }

  text(s: string): void {
    if (this.skipSpaces) {
      s = s.replace(/^[ \t]+/, '');
      if (s !== '') this.skipSpaces = false;
    }
    this.write(this.quoteDepth > 0 ? s.replace(/\n/g, `\n${QUOTE_PREFIX}`) : s);
  }

  result(): string {
    return this.chunks.join('');
  }
}

/** Writes `ft` as Meta text with its mention ranges. Never throws; bad entities are ignored. */
export function formatMetaText(ft: FormattedText, opts: MetaFormatOptions): MetaOutgoingText {
  const clean = cleanFormattedText({
    text: typeof ft?.text === 'string' ? ft.text : '',
    entities: Array.isArray(ft?.entities) ? ft.entities.filter((e) => typeof e === 'object' && e !== null) : [],
  });
  const { text } = clean;
  const items = prepare(text, clean.entities, opts);
  const w = new Writer();
  const stack: Array<Item & { outStart: number }> = [];
  let pos = 0;
  const emit = (to: number): void => {
    if (to > pos) w.text(text.slice(pos, to));
    pos = Math.max(pos, to);
  };
  const close = (top: Item & { outStart: number }): void => {
    emit(top.end);
    const { e } = top;
    const marker = MARKERS[e.type];
    if (marker !== undefined) w.write(marker);
    else if (e.type === 'pre') {
      w.write(`\n${FENCE}`);
      if (pos < text.length && text.charCodeAt(pos) !== 0x0a) {
        w.write('\n');
        w.skipSpaces = true;
      }
    } else if (e.type === 'blockquote') {
      w.quoteDepth--;
      if (pos < text.length && text.charCodeAt(pos) !== 0x0a) {
        w.write('\n');
        w.skipSpaces = true;
      }
    } else if (e.type === 'link') {
      const url = safeLinkUrl(e.url) as string;
      if (text.slice(e.offset, top.end).trim() !== url) w.write(` (${url})`);
    } else if (top.mention) {
      w.mentions.push({ offset: top.outStart, length: w.length - top.outStart, userId: top.mention.id, type: top.mention.type });
      w.mentionEnd = w.length;
    }
  };
  for (const item of items) {
    while (stack.length > 0 && (stack[stack.length - 1]?.end ?? 0) <= item.e.offset) close(stack.pop() as Item & { outStart: number });
    emit(item.e.offset);
    const { e } = item;
    const marker = MARKERS[e.type];
    let outStart = w.length;
    if (marker !== undefined) w.write(marker);
    else if (e.type === 'pre') {
      w.lineStart();
      w.write(`${FENCE}${e.language && CODE_LANGUAGES.has(e.language.toLowerCase()) ? e.language.toLowerCase() : ''}\n`);
    } else if (e.type === 'blockquote') {
      w.lineStart();
      w.write(QUOTE_PREFIX);
      w.quoteDepth++;
    } else if (e.type === 'room_mention' && item.mention) {
      outStart = w.length;
      w.write(EVERYONE_TEXT);
      pos = item.end;
    } else if (e.type === 'mention' && item.mention) {
      outStart = w.length;
      if (!text.startsWith('@', e.offset)) w.write('@');
    }
    stack.push({ ...item, outStart });
  }
  while (stack.length > 0) close(stack.pop() as Item & { outStart: number });
  emit(text.length);
  return { text: w.result(), mentions: w.mentions };
}
