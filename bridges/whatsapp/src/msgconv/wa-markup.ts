/**
 * WhatsApp's text markup rules, shared by the reader (wa-text.ts) and the writer
 * (wa-text-format.ts) so that what one writes the other reads back the same way.
 *
 * - `*bold*`, `_italic_`, `~strike~`, `` `code` `` (inline, one line), ```` ```pre``` ````
 *   (any span, may cover lines), `> ` at a line start (quote); no escaping exists.
 * - An opening marker needs no letter or digit (and not the same marker) before it and a
 *   non-blank character (not the same marker) after it; a closing marker the reverse.
 *   So `2*3*4`, `snake_case_name` and `**x**` are plain text.
 * - "Blank" is whitespace or U+200B ZERO WIDTH SPACE: the writer breaks marker characters
 *   that would otherwise pair up by putting a ZWSP on their inner side (an assumption to
 *   check against real clients; WhatsApp documents no escape).
 * - URLs (`http://`, `https://`) are read as one token, so `_` or `*` inside them is text.
 */

export const ZWSP = '\u200B';
export const INLINE_MARKERS = new Set(['*', '_', '~', '`']);
export const PRE_FENCE = '```';
export const QUOTE_PREFIX = '> ';

const WORD = /^[\p{L}\p{N}]$/u;
const SPACE = /^\s$/u;

/** Letters and digits of any script (surrogate pairs read as one code point). */
export function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && ch.length > 0 && WORD.test(ch);
}

export function isBlankChar(ch: string | undefined): boolean {
  return ch === ZWSP || (ch !== undefined && ch.length > 0 && SPACE.test(ch));
}

/** The code point ending right before `i`, or undefined at the start. */
export function charBefore(text: string, i: number): string | undefined {
  if (i <= 0) return undefined;
  const low = text.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2) {
    const high = text.charCodeAt(i - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.slice(i - 2, i);
  }
  return text.charAt(i - 1);
}

/** The code point starting at `i`, or undefined at the end. */
export function charAt(text: string, i: number): string | undefined {
  if (i >= text.length) return undefined;
  const cp = text.codePointAt(i);
  return cp === undefined ? undefined : String.fromCodePoint(cp);
}

/** Marker `c` at `i` may open: no word char or `c` before, a non-blank non-`c` after. */
export function canOpen(text: string, i: number, c: string): boolean {
  const before = charBefore(text, i);
  const after = charAt(text, i + 1);
  if (after === undefined || after === c || isBlankChar(after)) return false;
  return before === undefined || (before !== c && !isWordChar(before));
}

/** Marker `c` at `i` may close: a non-blank non-`c` before, no word char or `c` after. */
export function canClose(text: string, i: number, c: string): boolean {
  const before = charBefore(text, i);
  const after = charAt(text, i + 1);
  if (before === undefined || before === c || isBlankChar(before)) return false;
  return after === undefined || (after !== c && !isWordChar(after));
}

const URL_TRAILING = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}', "'", '"', '*', '_', '~', '`']);

/**
 * When an `http(s)://` URL starts at `i` (at a word start), the index where it ends: at
 * the next whitespace, less trailing punctuation and marker characters. Otherwise -1.
 */
export function urlEndAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c !== 0x68 && c !== 0x48) return -1; // h / H
  if (isWordChar(charBefore(text, i))) return -1;
  const head = text.slice(i, i + 8).toLowerCase();
  const schemeLength = head.startsWith('https://') ? 8 : head.startsWith('http://') ? 7 : 0;
  if (schemeLength === 0) return -1;
  let end = i + schemeLength;
  while (end < text.length && !isBlankChar(text.charAt(end))) end++;
  while (end > i + schemeLength && URL_TRAILING.has(text.charAt(end - 1))) end--;
  return end > i + schemeLength ? end : -1;
}

/** The user part of a JID: `123:4@s.whatsapp.net` -> `123`, `456@lid` -> `456`. */
export function jidUserPart(jid: string): string {
  const at = jid.indexOf('@');
  const user = at === -1 ? jid : jid.slice(0, at);
  const colon = user.indexOf(':');
  return colon === -1 ? user : user.slice(0, colon);
}

/** `@all` / `@everyone`: WhatsApp's mention-all tokens, read when the message says so. */
export const EVERYONE_TOKENS: readonly string[] = ['@all', '@everyone'];
/** What a room mention is written as towards WhatsApp. */
export const EVERYONE_TEXT = '@all';
/** What a room mention reads as on Matrix (clients and push rules know `@room`). */
export const ROOM_MENTION_TEXT = '@room';
