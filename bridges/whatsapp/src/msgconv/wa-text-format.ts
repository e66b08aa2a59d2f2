/**
 * The core's FormattedText -> WhatsApp markup, with the mentioned JIDs. The reader is
 * wa-text.ts; both follow wa-markup.ts.
 *
 * - bold/italic/strikethrough: `*x*` `_x_` `~x~`, split per line, spaces at either end moved
 *   outside the markers (WhatsApp needs a non-blank character inside each marker); a
 *   marker that would touch a letter outside gets a ZWSP between them.
 * - code: `` `x` ``; code holding a backtick or a line break is written as a ``` block.
 * - pre: ```` ```x``` ````, or ```` ```\nx\n``` ```` when x has lines; the language is lost.
 * - blockquote: "> " on each line, on lines of its own; nested quotes are flattened.
 * - underline, spoiler: plain text (WhatsApp has neither). link: "text (url)", or the text
 *   alone when it is the URL (a URL the core would not link is dropped, its text kept).
 *   mention: "@<user part of the JID>". room_mention: "@all".
 * - Control characters other than \n and \t are removed and lone surrogates replaced (cleanText).
 * - Literal text is escape-free; where a literal `* _ ~ \`` would be read as a marker (or
 *   "> " would start a quote), a ZWSP (U+200B) goes on its inner side(s) so it stays text.
 *   Nothing inside code, pre, URLs or mentions is changed except to keep a fence closed.
 * Formatting inside code/pre is dropped, as are markers around a blockquote and a marker
 * nested in the same marker.
 */
import {
  cleanFormattedText, cleanText, normalizeEntities, safeLinkUrl, type FormattedText, type TextEntity,
} from '@tributary/core/matrix/format/index';
import {
  canClose,
  canOpen,
  charAt,
  charBefore,
  EVERYONE_TEXT,
  INLINE_MARKERS,
  isWordChar,
  jidUserPart,
  PRE_FENCE,
  QUOTE_PREFIX,
  urlEndAt,
  ZWSP,
} from './wa-markup.js';

export interface WhatsAppFormatOptions {
  /** The JID to mention for a Matrix user id; undefined writes the mention as plain text. */
  userIdToJid(userId: string): string | undefined;
  /** The whole token written for a mentioned JID; default "@" + the JID's user part. */
  mentionText?(jid: string): string;
}

export interface WhatsAppOutgoingText {
  text: string;
  /** JIDs for `contextInfo.mentionedJid`, each once, in order of appearance. */
  mentions: string[];
  /** A room mention was present: mention everyone. */
  everyone: boolean;
}

const MARKERS: Partial<Record<TextEntity['type'], string>> = { bold: '*', italic: '_', strikethrough: '~' };

/** Output character kinds, to tell real markers from literal text when escaping. */
const LIT = 0;
const OPEN = 1;
const CLOSE = 2;
const VERBATIM = 3;

interface Node {
  e: TextEntity;
  end: number;
  children: Node[];
}

function isInline(type: TextEntity['type']): boolean {
  return MARKERS[type] !== undefined;
}

/** Drops what WhatsApp cannot show and splits/shrinks markers to what it can. */
function prepare(text: string, input: readonly TextEntity[]): TextEntity[] {
  // Of entities sharing a range, quotes go outermost and code, pre and mentions innermost.
  const ranked = input.filter((e) => typeof e === 'object' && e !== null);
  ranked.sort((a, b) => a.offset - b.offset || b.length - a.length || rank(a.type) - rank(b.type));
  const sorted = normalizeEntities(text, ranked);
  const kept: TextEntity[] = [];
  const dropped = new Set<TextEntity>();
  const stack: TextEntity[] = [];
  for (const original of sorted) {
    const e: TextEntity = { ...original };
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top !== undefined && top.offset + top.length <= e.offset) stack.pop();
      else break;
    }
    if (e.type === 'underline' || e.type === 'spoiler') continue;
    if (stack.some((a) => a.type === 'code' || a.type === 'pre' || a.type === 'mention' || a.type === 'room_mention')) continue;
    if (e.type === 'code' && /[`\n]/.test(text.slice(e.offset, e.offset + e.length))) e.type = 'pre';
    if ((isInline(e.type) || e.type === 'blockquote') && stack.some((a) => a.type === e.type)) continue;
    // A link's URL is written out as text: only one the core would link (scheme allowlist, no
    // control characters or line breaks) is kept; otherwise its text stays, unlinked.
    if (e.type === 'link' && safeLinkUrl(e.url) === undefined) continue;
    if (e.type === 'mention' && typeof e.userId !== 'string') continue;
    if (e.type === 'blockquote') for (const a of stack) if (isInline(a.type)) dropped.add(a);
    stack.push(e);
    kept.push(e);
  }
  const inPre = new Uint8Array(text.length + 1);
  for (const e of kept) if (e.type === 'pre') inPre.fill(1, e.offset, e.offset + e.length);
  const out: TextEntity[] = [];
  for (const e of kept) {
    if (dropped.has(e)) continue;
    if (isInline(e.type) || e.type === 'code') {
      let start = e.offset;
      const end = e.offset + e.length;
      for (let i = start; i <= end; i++) {
        if (i === end || (text.charCodeAt(i) === 0x0a && inPre[i] === 0)) {
          const piece = trimRange(text, start, i);
          if (piece !== undefined) out.push({ ...e, offset: piece[0], length: piece[1] - piece[0] });
          start = i + 1;
        }
      }
    } else if (e.type === 'blockquote') {
      let start = e.offset;
      let end = e.offset + e.length;
      while (start < end && text.charCodeAt(start) === 0x0a) start++;
      while (end > start && text.charCodeAt(end - 1) === 0x0a) end--;
      if (end > start) out.push({ ...e, offset: start, length: end - start });
    } else {
      out.push(e);
    }
  }
  return normalizeEntities(text, out);
}

function rank(type: TextEntity['type']): number {
  if (type === 'blockquote') return 0;
  if (type === 'link') return 1;
  if (type === 'code' || type === 'pre' || type === 'mention' || type === 'room_mention') return 3;
  return 2;
}

function trimRange(text: string, start: number, end: number): [number, number] | undefined {
  while (start < end && /\s/u.test(text.charAt(start))) start++;
  while (end > start && /\s/u.test(text.charAt(end - 1))) end--;
  return end > start ? [start, end] : undefined;
}

function buildTree(entities: readonly TextEntity[]): Node[] {
  const roots: Node[] = [];
  const stack: Node[] = [];
  for (const e of entities) {
    const node: Node = { e, end: e.offset + e.length, children: [] };
    while (stack.length > 0 && (stack[stack.length - 1]?.end ?? 0) <= e.offset) stack.pop();
    const parent = stack[stack.length - 1];
    (parent ? parent.children : roots).push(node);
    stack.push(node);
  }
  return roots;
}

class Writer {
  private readonly chunks: string[] = [];
  private readonly kindChunks: number[] = [];
  private readonly chunkKinds: number[] = [];
  private lastChar = '';
  length = 0;
  quoteDepth = 0;
  readonly mentions: string[] = [];
  everyone = false;

  constructor(
    private readonly source: string,
    private readonly opts: WhatsAppFormatOptions,
  ) {}

  emit(s: string, kind: number): void {
    if (s.length === 0) return;
    this.chunks.push(s);
    this.chunkKinds.push(kind);
    this.kindChunks.push(s.length);
    this.length += s.length;
    this.lastChar = s.charAt(s.length - 1);
  }

  /** Literal text: inside a quote every line gets the "> " prefix. */
  literal(s: string): void {
    if (this.quoteDepth === 0) return this.emit(s, LIT);
    const lines = s.split('\n');
    lines.forEach((line, k) => {
      if (k > 0) {
        this.emit('\n', LIT);
        this.emit(QUOTE_PREFIX, VERBATIM);
      }
      this.emit(line, LIT);
    });
  }

  range(from: number, to: number, children: readonly Node[]): void {
    let at = from;
    for (const child of children) {
      this.literal(this.source.slice(at, child.e.offset));
      this.node(child);
      at = child.end;
    }
    this.literal(this.source.slice(at, to));
  }

  node(n: Node): void {
    const { e } = n;
    const content = this.source.slice(e.offset, n.end);
    const marker = MARKERS[e.type];
    if (marker !== undefined) {
      this.emit(marker, OPEN);
      this.range(e.offset, n.end, n.children);
      this.emit(marker, CLOSE);
    } else if (e.type === 'code') {
      this.emit('`', OPEN);
      this.emit(content, VERBATIM);
      this.emit('`', CLOSE);
    } else if (e.type === 'pre') {
      const lines = content.includes('\n') ? '\n' : '';
      let body = content.replace(/``(?=`)/g, `\`\`${ZWSP}`);
      if (body.endsWith('`')) body += ZWSP;
      this.emit(PRE_FENCE + lines, OPEN);
      this.emit(body, VERBATIM);
      this.emit(lines + PRE_FENCE, CLOSE);
    } else if (e.type === 'blockquote') {
      if (this.length > 0 && this.lastChar !== '\n') this.emit('\n', LIT);
      this.emit(QUOTE_PREFIX, VERBATIM);
      this.quoteDepth++;
      this.range(e.offset, n.end, n.children);
      this.quoteDepth--;
      if (n.end < this.source.length && this.source.charAt(n.end) !== '\n') this.emit('\n', LIT);
    } else if (e.type === 'link') {
      this.range(e.offset, n.end, n.children);
      const url = safeLinkUrl(e.url) ?? '';
      const bare = url.replace(/^(https?:\/\/|mailto:)/i, '');
      if (content !== url && content !== bare) this.emit(` (${url})`, VERBATIM);
    } else if (e.type === 'mention') {
      const jid = e.userId === undefined ? undefined : safeCall(() => this.opts.userIdToJid(e.userId ?? ''));
      if (typeof jid !== 'string' || jid.length === 0) return this.range(e.offset, n.end, n.children);
      const custom = this.opts.mentionText ? safeCall(() => this.opts.mentionText?.(jid)) : undefined;
      const token = typeof custom === 'string' && custom.length > 0 ? custom : `@${jidUserPart(jid)}`;
      if (!this.mentions.includes(jid)) this.mentions.push(jid);
      this.emit(cleanText(token).replace(/\n/g, ' '), VERBATIM);
    } else if (e.type === 'room_mention') {
      this.everyone = true;
      this.emit(EVERYONE_TEXT, VERBATIM);
    } else {
      this.range(e.offset, n.end, n.children);
    }
  }

  finish(): { text: string; kinds: Uint8Array } {
    const text = this.chunks.join('');
    const kinds = new Uint8Array(text.length);
    let at = 0;
    this.kindChunks.forEach((len, k) => {
      kinds.fill(this.chunkKinds[k] ?? LIT, at, at + len);
      at += len;
    });
    return { text, kinds };
  }
}

function safeCall<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/**
 * One escaping pass: ZWSPs around literal characters that would read as markup, and
 * between a real marker and a letter outside it. Returns undefined when nothing changed.
 */
function escapeOnce(text: string, kinds: Uint8Array): { text: string; kinds: Uint8Array } | undefined {
  const before = new Uint8Array(text.length + 1);
  const after = new Uint8Array(text.length + 1);
  let changed = false;
  let lineStart = true;
  for (let p = 0; p < text.length; p++) {
    const c = text.charAt(p);
    const kind = kinds[p] ?? LIT;
    const startsLine = lineStart;
    lineStart = c === '\n';
    if (kind === LIT) {
      if (startsLine && text.startsWith(QUOTE_PREFIX, p) && kinds[p + 1] === LIT) {
        before[p] = 1;
        changed = true;
        continue;
      }
      const urlEnd = urlEndAt(text, p);
      if (urlEnd !== -1) {
        kinds.fill(VERBATIM, p, urlEnd);
        p = urlEnd - 1;
        continue;
      }
      if (!INLINE_MARKERS.has(c)) continue;
      const prevKind = p > 0 ? kinds[p - 1] : undefined;
      const nextKind = kinds[p + 1];
      // the inner side: after a would-be opener, before a would-be closer
      const tickBefore = c === '`' && text.charAt(p - 1) === '`';
      const tickAfter = c === '`' && text.charAt(p + 1) === '`';
      if ((canClose(text, p, c) && prevKind !== OPEN) || tickBefore) before[p] = 1;
      if ((canOpen(text, p, c) && nextKind !== CLOSE) || tickAfter) after[p] = 1;
      if (before[p] === 1 || after[p] === 1) changed = true;
    } else if (kind === OPEN && INLINE_MARKERS.has(c) && (p === 0 || kinds[p - 1] !== OPEN)) {
      // the first char of an opening run: a letter right before it would stop it opening
      if (isWordChar(charBefore(text, p))) {
        before[p] = 1;
        changed = true;
      }
    } else if (kind === CLOSE && INLINE_MARKERS.has(c) && (kinds[p + 1] ?? LIT) !== CLOSE) {
      if (isWordChar(charAt(text, p + 1))) {
        after[p] = 1;
        changed = true;
      }
    }
  }
  if (!changed) return undefined;
  const parts: string[] = [];
  const outKinds: number[] = [];
  let last = 0;
  for (let p = 0; p < text.length; p++) {
    if (before[p] !== 1 && after[p] !== 1) continue;
    parts.push(text.slice(last, p));
    for (let q = last; q < p; q++) outKinds.push(kinds[q] ?? LIT);
    if (before[p] === 1 && !(p > 0 && after[p - 1] === 1)) {
      parts.push(ZWSP);
      outKinds.push(VERBATIM);
    }
    parts.push(text.charAt(p));
    outKinds.push(kinds[p] ?? LIT);
    if (after[p] === 1) {
      parts.push(ZWSP);
      outKinds.push(VERBATIM);
    }
    last = p + 1;
  }
  parts.push(text.slice(last));
  for (let q = last; q < text.length; q++) outKinds.push(kinds[q] ?? LIT);
  return { text: parts.join(''), kinds: Uint8Array.from(outKinds) };
}

/**
 * FormattedText to WhatsApp markup plus the JIDs it mentions and whether it mentions
 * everyone. Never throws; entities are normalised first (see wa-markup.ts for the rules).
 */
export function formatWhatsAppText(ft: FormattedText, opts: WhatsAppFormatOptions): WhatsAppOutgoingText {
  // Control characters (a CR, an escape, C1) and lone surrogates go before anything is written.
  const clean = cleanFormattedText({
    text: typeof ft?.text === 'string' ? ft.text : '',
    entities: Array.isArray(ft?.entities) ? ft.entities : [],
  });
  const source = clean.text;
  try {
    const entities = prepare(source, clean.entities);
    const writer = new Writer(source, opts);
    writer.range(0, source.length, buildTree(entities));
    let state = writer.finish();
    for (let pass = 0; pass < 4; pass++) {
      const next = escapeOnce(state.text, state.kinds);
      if (next === undefined) break;
      state = next;
    }
    return { text: state.text, mentions: writer.mentions, everyone: writer.everyone };
  } catch {
    return { text: source, mentions: [], everyone: false };
  }
}
