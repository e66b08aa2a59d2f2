/**
 * WhatsApp text markup -> the core's FormattedText (markers removed, entities added), with
 * mentions from `contextInfo.mentionedJid`. The writer is in wa-text-format.ts; the rules
 * both follow are in wa-markup.ts.
 *
 * One left-to-right pass, linear in the input: ```` ``` ```` blocks, inline code and URLs
 * are atomic tokens (nothing inside them is formatting); `*`, `_`, `~` use a delimiter
 * stack of at most three openers (the same marker never nests), closing one drops the
 * unclosed openers above it, and a line break drops them all (these markers stay on one
 * line). A pre block's content loses one leading and one trailing line break, so
 * "```\ncode\n```" is the pre "code". Consecutive "> " lines are one blockquote.
 */
import { normalizeEntities, type FormattedText, type TextEntity } from '@tributary/core/matrix/format/index';
import { cutInput, DEFAULT_MAX_LENGTH, ELLIPSIS } from '@tributary/core/matrix/format/text-clean';
import {
  canClose,
  canOpen,
  charBefore,
  EVERYONE_TOKENS,
  isWordChar,
  jidUserPart,
  PRE_FENCE,
  QUOTE_PREFIX,
  ROOM_MENTION_TEXT,
  urlEndAt,
} from './wa-markup.js';

export { formatWhatsAppText, type WhatsAppFormatOptions, type WhatsAppOutgoingText } from './wa-text-format.js';

export interface WhatsAppParseOptions {
  /** JIDs from `contextInfo.mentionedJid` (phone-number or LID JIDs). */
  mentions?: readonly string[];
  /** The Matrix user id of a mentioned JID; undefined leaves the token as plain text. */
  jidToUserId(jid: string): string | undefined;
  /** A display name for a mentioned user: the token becomes "@Name". */
  displayName?(userId: string): string | undefined;
  /** The message mentions everyone (WhatsApp's mention-all): `@all` becomes a room mention. */
  everyone?: boolean;
}

/** Input beyond this many UTF-16 units is cut and "…" appended. */
export const WA_TEXT_MAX_LENGTH = DEFAULT_MAX_LENGTH;

type InlineType = 'bold' | 'italic' | 'strikethrough';
const INLINE_TYPES: Readonly<Record<string, InlineType>> = { '*': 'bold', _: 'italic', '~': 'strikethrough' };

interface Edit {
  start: number;
  end: number;
  replacement: string;
}

interface RawEntity {
  type: TextEntity['type'];
  start: number;
  end: number;
  userId?: string;
}

class Scan {
  readonly edits: Edit[] = [];
  readonly entities: RawEntity[] = [];
  private stack: { c: string; at: number }[] = [];
  private quoteStart: number | undefined;
  private noMorePre = false;
  private codeDeadUntil = -1;
  private lineEnd = -1;
  private readonly mentionJids = new Map<string, string>();

  constructor(
    private readonly text: string,
    private readonly opts: WhatsAppParseOptions,
  ) {
    for (const jid of Array.isArray(opts.mentions) ? opts.mentions : []) {
      if (typeof jid !== 'string') continue;
      const user = jidUserPart(jid);
      if (/^\d+$/.test(user) && !this.mentionJids.has(user)) this.mentionJids.set(user, jid);
    }
  }

  run(): void {
    const { text } = this;
    let i = 0;
    let lineStart = true;
    while (i < text.length) {
      if (lineStart) {
        lineStart = false;
        i = this.lineStartAt(i);
        if (i >= text.length) break;
      }
      const c = text.charAt(i);
      if (c === '\n') {
        this.stack = [];
        lineStart = true;
        i++;
      } else if (c === '`') {
        i = this.backtick(i);
      } else if (c === '*' || c === '_' || c === '~') {
        this.marker(i, c);
        i++;
      } else if (c === '@') {
        i = this.at(i);
      } else {
        const urlEnd = urlEndAt(text, i);
        i = urlEnd === -1 ? i + 1 : urlEnd;
      }
    }
    this.closeQuote(text.length);
  }

  private lineStartAt(i: number): number {
    if (this.text.startsWith(QUOTE_PREFIX, i)) {
      this.edits.push({ start: i, end: i + QUOTE_PREFIX.length, replacement: '' });
      this.quoteStart ??= i + QUOTE_PREFIX.length;
      return i + QUOTE_PREFIX.length;
    }
    this.closeQuote(i - 1);
    return i;
  }

  private closeQuote(end: number): void {
    if (this.quoteStart === undefined) return;
    this.entities.push({ type: 'blockquote', start: this.quoteStart, end });
    this.quoteStart = undefined;
  }

  private remove(start: number, end: number): void {
    if (end > start) this.edits.push({ start, end, replacement: '' });
  }

  private backtick(i: number): number {
    const { text } = this;
    if (text.startsWith(PRE_FENCE, i)) {
      if (!this.noMorePre) {
        const end = this.pre(i);
        if (end !== -1) return end;
        this.noMorePre = true;
      }
      return i + PRE_FENCE.length;
    }
    if (i <= this.codeDeadUntil || !canOpen(text, i, '`')) return i + 1;
    if (this.lineEnd < i) {
      const nl = text.indexOf('\n', i);
      this.lineEnd = nl === -1 ? text.length : nl;
    }
    let j = text.indexOf('`', i + 2);
    while (j !== -1 && j < this.lineEnd) {
      if (canClose(text, j, '`')) {
        this.remove(i, i + 1);
        this.remove(j, j + 1);
        this.entities.push({ type: 'code', start: i + 1, end: j });
        return j + 1;
      }
      j = text.indexOf('`', j + 1);
    }
    this.codeDeadUntil = this.lineEnd;
    return i + 1;
  }

  /** A ``` block opening at `i`: the index after its closing fence, or -1 when unclosed. */
  private pre(i: number): number {
    const { text } = this;
    const open = i + PRE_FENCE.length;
    let close = text.indexOf(PRE_FENCE, open);
    while (close !== -1) {
      const lead = text.charAt(open) === '\n' ? 1 : 0;
      const trail = close - 1 > open && text.charAt(close - 1) === '\n' ? 1 : 0;
      if (close - trail > open + lead) {
        this.remove(i, open + lead);
        this.remove(close - trail, close + PRE_FENCE.length);
        this.entities.push({ type: 'pre', start: open + lead, end: close - trail });
        return close + PRE_FENCE.length;
      }
      close = text.indexOf(PRE_FENCE, close + 1);
    }
    return -1;
  }

  private marker(i: number, c: string): void {
    const { text } = this;
    const type = INLINE_TYPES[c];
    if (type === undefined) return;
    const k = this.stack.findIndex((open) => open.c === c);
    if (k !== -1 && canClose(text, i, c)) {
      const open = this.stack[k];
      this.stack.length = k;
      if (open === undefined) return;
      this.remove(open.at, open.at + 1);
      this.remove(i, i + 1);
      this.entities.push({ type, start: open.at + 1, end: i });
      return;
    }
    if (k === -1 && canOpen(text, i, c)) this.stack.push({ c, at: i });
  }

  /** `@<digits>` of a mentioned JID, or `@all` when the message mentions everyone. */
  private at(i: number): number {
    const { text } = this;
    if (isWordChar(charBefore(text, i))) return i + 1;
    let end = i + 1;
    while (end < text.length && end - i <= 32 && isDigit(text.charCodeAt(end))) end++;
    if (end > i + 1) {
      if (isWordChar(text.charAt(end))) return end;
      this.mention(i, end);
      return end;
    }
    if (this.opts.everyone === true) {
      for (const token of EVERYONE_TOKENS) {
        if (text.slice(i, i + token.length).toLowerCase() !== token) continue;
        if (isWordChar(text.charAt(i + token.length))) continue;
        this.edits.push({ start: i, end: i + token.length, replacement: ROOM_MENTION_TEXT });
        this.entities.push({ type: 'room_mention', start: i, end: i + token.length });
        return i + token.length;
      }
    }
    return i + 1;
  }

  private mention(start: number, end: number): void {
    const jid = this.mentionJids.get(this.text.slice(start + 1, end));
    if (jid === undefined) return;
    const userId = safeCall(() => this.opts.jidToUserId(jid));
    if (typeof userId !== 'string' || userId.length === 0) return;
    const name = this.opts.displayName ? cleanName(safeCall(() => this.opts.displayName?.(userId))) : undefined;
    if (name !== undefined) this.edits.push({ start, end, replacement: `@${name}` });
    this.entities.push({ type: 'mention', start, end, userId });
  }
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function safeCall<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** One line of visible text, or undefined when nothing usable is left. */
function cleanName(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\s\u0000-\u001f\u007f-\u009f\u200b]+/gu, ' ').trim().slice(0, 100);
  return cleaned.length > 0 ? cleaned : undefined;
}

/** Applies the (sorted, disjoint) edits and maps entity positions into the result. */
function applyEdits(text: string, edits: Edit[], raw: RawEntity[]): FormattedText {
  edits.sort((a, b) => a.start - b.start);
  const parts: string[] = [];
  // Edit k's end maps to `mappedEnd[k]`; a position p maps by the last edit ending at or before p.
  const ends: number[] = [];
  const shifts: number[] = [];
  let last = 0;
  let shift = 0;
  for (const e of edits) {
    parts.push(text.slice(last, e.start), e.replacement);
    shift += e.replacement.length - (e.end - e.start);
    ends.push(e.end);
    shifts.push(shift);
    last = e.end;
  }
  parts.push(text.slice(last));
  const map = (p: number): number => {
    let lo = 0;
    let hi = ends.length; // first edit ending after p
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ends[mid] ?? 0) <= p) lo = mid + 1;
      else hi = mid;
    }
    return p + (lo === 0 ? 0 : (shifts[lo - 1] ?? 0));
  };
  const entities: TextEntity[] = [];
  for (const r of raw) {
    const offset = map(r.start);
    const length = map(r.end) - offset;
    if (length <= 0) continue;
    const entity: TextEntity = { type: r.type, offset, length };
    if (r.userId !== undefined) entity.userId = r.userId;
    entities.push(entity);
  }
  const out = parts.join('');
  return { text: out, entities: normalizeEntities(out, entities) };
}

/**
 * WhatsApp markup to FormattedText. Never throws; input beyond 65,536 UTF-16 units is cut
 * (with "…"). Lists stay as typed. A mentioned `@<digits>` becomes a `mention` entity
 * (text "@Name" when `displayName` knows the user); with `everyone`, `@all`/`@everyone`
 * becomes "@room" with a `room_mention` entity, and when no such token is in the text,
 * "@room " is put in front so the room mention is visible.
 */
export function parseWhatsAppText(text: string, opts: WhatsAppParseOptions): FormattedText {
  try {
    if (typeof text !== 'string') text = '';
    const { text: input, cut } = cutInput(text, WA_TEXT_MAX_LENGTH);
    const scan = new Scan(input, opts);
    scan.run();
    let result = applyEdits(input, scan.edits, scan.entities);
    if (cut) result = { text: result.text + ELLIPSIS, entities: result.entities };
    if (opts.everyone === true && !result.entities.some((e) => e.type === 'room_mention')) {
      const prefix = `${ROOM_MENTION_TEXT} `;
      result = {
        text: prefix + result.text,
        entities: [
          { type: 'room_mention', offset: 0, length: ROOM_MENTION_TEXT.length },
          ...result.entities.map((e) => ({ ...e, offset: e.offset + prefix.length })),
        ],
      };
    }
    return result;
  } catch {
    return { text: typeof text === 'string' ? text.slice(0, WA_TEXT_MAX_LENGTH) : '', entities: [] };
  }
}
