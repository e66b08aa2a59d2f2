/**
 * Meta text -> the core's FormattedText: markers (meta-markup.ts) become entities and leave the
 * text, mention ranges (UTF-16, from the row's mention columns) become mention entities on the
 * same characters. Never throws; linear in the text length apart from the final entity sort.
 *
 * Positions are worked out on the original text: a `drop` mask marks what leaves (markers,
 * control characters), a `covered` mask what an inline rule may no longer touch, and a
 * `locked` mask the characters of mentions and code, where no marker counts. Offsets are mapped
 * to the output once at the end.
 */
import { normalizeEntities, type FormattedText, type TextEntity } from '@tributary/core/matrix/format/index';
import { CODE_LANGUAGES, FENCE, INLINE_RULES, canCloseAt, canOpenAt, isLineBreak, isSpace, type InlineRule } from './meta-markup.js';

/** Longer text is cut (Meta itself sends at most 20,000 characters). */
export const MAX_META_TEXT = 65_536;

interface Range {
  type: TextEntity['type'];
  start: number;
  end: number;
  language?: string;
  userId?: string;
}

function isControl(code: number): boolean {
  return (code < 0x20 && code !== 0x09 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f);
}

/** The input as a string of at most MAX_META_TEXT units, lone surrogates replaced in place. */
function prepareText(input: unknown): string {
  let text = typeof input === 'string' ? input : '';
  if (text.length > MAX_META_TEXT) {
    let end = MAX_META_TEXT;
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--;
    text = text.slice(0, end);
  }
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

class Reader {
  readonly drop: Uint8Array;
  readonly covered: Uint8Array;
  readonly locked: Uint8Array;
  readonly ranges: Range[] = [];
  /** lineEndFrom[i]: the first line break at or after i (or the text length). */
  readonly lineEndFrom: Int32Array;

  constructor(readonly text: string) {
    this.drop = new Uint8Array(text.length);
    this.covered = new Uint8Array(text.length);
    this.locked = new Uint8Array(text.length);
    this.lineEndFrom = new Int32Array(text.length + 1).fill(text.length);
    for (let i = text.length - 1; i >= 0; i--) this.lineEndFrom[i] = isLineBreak(text.charCodeAt(i)) ? i : (this.lineEndFrom[i + 1] ?? text.length);
  }

  lockedAt(i: number): boolean {
    return this.locked[i] === 1;
  }

  /** ``` blocks: the fences, the newline after the opening one and the one before the closing one go. */
  codeBlocks(): void {
    const { text } = this;
    let from = 0;
    while (from < text.length) {
      const open = text.indexOf(FENCE, from);
      if (open < 0) return;
      let fenceEnd = open + FENCE.length;
      while (text.charAt(fenceEnd) === '`') fenceEnd++;
      const block = this.blockAt(open, fenceEnd);
      if (!block) {
        from = fenceEnd;
        continue;
      }
      this.drop.fill(1, open, block.contentStart);
      this.drop.fill(1, block.contentEnd, block.closeEnd);
      this.covered.fill(1, open, block.closeEnd);
      this.locked.fill(1, open, block.closeEnd);
      this.ranges.push({ type: 'pre', start: block.contentStart, end: block.contentEnd, ...(block.language ? { language: block.language } : {}) });
      from = block.closeEnd;
    }
  }

  private blockAt(open: number, fenceEnd: number): { contentStart: number; contentEnd: number; closeEnd: number; language?: string } | undefined {
    const { text } = this;
    const lineEnd = this.lineEndFrom[fenceEnd] ?? text.length;
    const close = text.indexOf(FENCE, fenceEnd);
    if (close < 0 || this.locked[open] === 1) return undefined;
    // The closing fence ends its line (spaces allowed after it).
    let closeEnd = close + FENCE.length;
    while (closeEnd < text.length && text.charAt(closeEnd) !== '\n' && isSpace(text.charAt(closeEnd))) closeEnd++;
    if (closeEnd < text.length && !isLineBreak(text.charCodeAt(closeEnd))) return undefined;
    if (close < lineEnd) {
      // One line: ```code```
      return close > fenceEnd ? { contentStart: fenceEnd, contentEnd: close, closeEnd: close + FENCE.length } : undefined;
    }
    const info = text.slice(fenceEnd, lineEnd).trim().toLowerCase();
    const language = CODE_LANGUAGES.has(info) ? info : undefined;
    const contentStart = info === '' || language ? lineEnd + 1 : fenceEnd;
    let contentEnd = close;
    if (contentEnd > contentStart && isLineBreak(text.charCodeAt(contentEnd - 1))) contentEnd--;
    if (contentEnd <= contentStart) return undefined;
    return { contentStart, contentEnd, closeEnd: close + FENCE.length, ...(language ? { language } : {}) };
  }

  /** Lines starting with ">": the marker and one space go; neighbouring quote lines make one quote. */
  quotes(): void {
    const { text } = this;
    if (text.trim() === '>') return;
    let quote: Range | undefined;
    for (let lineStart = 0; lineStart < text.length; ) {
      const lineEnd = this.lineEndFrom[lineStart] ?? text.length;
      if (text.charAt(lineStart) === '>' && !this.lockedAt(lineStart)) {
        let contentStart = lineStart + 1;
        if (text.charAt(contentStart) === ' ') contentStart++;
        this.drop.fill(1, lineStart, contentStart);
        this.locked.fill(1, lineStart, contentStart);
        if (quote && quote.end + 1 === lineStart) quote.end = lineEnd;
        else {
          quote = { type: 'blockquote', start: contentStart, end: lineEnd };
          this.ranges.push(quote);
        }
      }
      lineStart = lineEnd + 1;
    }
  }

  /** One inline kind over the whole text, with O(1) checks per candidate (see the file comment). */
  inline(rule: InlineRule): void {
    const { text } = this;
    const n = text.length;
    const coveredBefore = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) coveredBefore[i + 1] = (coveredBefore[i] ?? 0) + (this.covered[i] ?? 0);
    // nextCloser[i]: the first position >= i holding a marker that may close, or -1.
    const nextCloser = new Int32Array(n + 1).fill(-1);
    for (let i = n - 1; i >= 0; i--) {
      // Content never ends in a space (code may) nor in the marker itself (no "``" runs as code).
      const last = text.charAt(i - 1);
      const closes = text.charAt(i) === rule.marker && !this.lockedAt(i) && canCloseAt(text, i, rule) && last !== rule.marker && (rule.loose || !isSpace(last));
      nextCloser[i] = closes ? i : (nextCloser[i + 1] ?? -1);
    }
    for (let open = 0; open < n; open++) {
      if (text.charAt(open) !== rule.marker || this.lockedAt(open) || this.covered[open] === 1 || !canOpenAt(text, open, rule)) continue;
      const first = text.charAt(open + 1);
      if (first === rule.marker || (!rule.loose && isSpace(first))) continue;
      const close = open + 2 <= n ? (nextCloser[open + 2] ?? -1) : -1;
      if (close < 0 || close > (this.lineEndFrom[open] ?? n)) continue;
      if ((coveredBefore[close + 1] ?? 0) - (coveredBefore[open] ?? 0) > 0) continue;
      this.drop[open] = 1;
      this.drop[close] = 1;
      this.covered.fill(1, open, close + 1);
      if (rule.kind === 'code') this.locked.fill(1, open, close + 1);
      this.ranges.push({ type: rule.kind, start: open + 1, end: close });
      open = close;
    }
  }

  /** The output text and the ranges mapped onto it. */
  finish(extra: readonly Range[]): FormattedText {
    const { text } = this;
    const before = new Int32Array(text.length + 1);
    const out: string[] = [];
    let runStart = 0;
    for (let i = 0; i < text.length; i++) {
      const gone = this.drop[i] === 1 || isControl(text.charCodeAt(i));
      before[i + 1] = (before[i] ?? 0) + (gone ? 1 : 0);
      if (gone) {
        if (i > runStart) out.push(text.slice(runStart, i));
        runStart = i + 1;
      }
    }
    if (runStart < text.length) out.push(text.slice(runStart));
    const at = (p: number): number => p - (before[p] ?? 0);
    const entities: TextEntity[] = [];
    for (const r of [...this.ranges, ...extra]) {
      const offset = at(r.start);
      const length = at(r.end) - offset;
      if (length <= 0) continue;
      const e: TextEntity = { type: r.type, offset, length };
      if (r.language) e.language = r.language;
      if (r.userId) e.userId = r.userId;
      entities.push(e);
    }
    const result = out.join('');
    return { text: result, entities: normalizeEntities(result, entities) };
  }
}

/**
 * Reads Meta text. `mentions` are entities on `input` as Meta sent it (UTF-16 ranges of the
 * original text): their characters are never read as markup, and they move with the text.
 */
export function parseMetaText(input: unknown, mentions: readonly TextEntity[] = []): FormattedText {
  const text = prepareText(input);
  const reader = new Reader(text);
  const extra: Range[] = [];
  for (const m of Array.isArray(mentions) ? mentions : []) {
    if (typeof m !== 'object' || m === null || !Number.isSafeInteger(m.offset) || !Number.isSafeInteger(m.length)) continue;
    const start = Math.max(0, m.offset);
    const end = Math.min(text.length, m.offset + m.length);
    if (end <= start) continue;
    reader.locked.fill(1, start, end);
    extra.push({ type: m.type, start, end, ...(m.userId ? { userId: m.userId } : {}) });
  }
  reader.codeBlocks();
  reader.quotes();
  for (const rule of INLINE_RULES) reader.inline(rule);
  return reader.finish(extra);
}
