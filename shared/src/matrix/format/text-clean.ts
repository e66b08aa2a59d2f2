/** Character-level hygiene shared by the HTML reader, writer and sanitiser. */

export const DEFAULT_MAX_LENGTH = 65536;
export const DEFAULT_MAX_DEPTH = 64;
export const ELLIPSIS = '…';

export interface ParseLimits {
  /** Characters of input HTML read; the rest is cut and "…" appended. Default 65536. */
  maxLength?: number;
  /** Element nesting depth interpreted; deeper tags are ignored, their text kept. Default 64. */
  maxDepth?: number;
}

export function resolveLimits(opts: ParseLimits | undefined): { maxLength: number; maxDepth: number } {
  const pick = (value: number | undefined, fallback: number): number =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
  return { maxLength: pick(opts?.maxLength, DEFAULT_MAX_LENGTH), maxDepth: pick(opts?.maxDepth, DEFAULT_MAX_DEPTH) };
}

/**
 * The HTML string to read from an untyped caller: a string as is, other values as `String` makes
 * them, and '' for null, undefined and values that cannot be converted (an object without a
 * prototype makes `String` throw).
 */
export function inputString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  try {
    return String(value);
  } catch {
    return '';
  }
}

/** Cuts `input` to at most `maxLength` code units without splitting a surrogate pair. */
export function cutInput(input: string, maxLength: number): { text: string; cut: boolean } {
  if (input.length <= maxLength) return { text: input, cut: false };
  let end = maxLength;
  const last = input.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { text: input.slice(0, end), cut: true };
}

/** C0 controls except \t and \n, DEL and the C1 controls: what cleanText removes. */
export function isUnwantedControl(code: number): boolean {
  return (code < 0x20 && code !== 0x09 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f);
}

/**
 * Removes control characters other than \n and \t (a \r disappears, so CRLF becomes LF)
 * and replaces lone surrogates with U+FFFD, which would otherwise break UTF-8 encoding
 * further down the line. Returns the input itself when nothing changes (the common case).
 */
export function cleanText(s: string): string {
  let out: string[] | undefined;
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    let replacement: string | undefined;
    if (isUnwantedControl(code)) {
      replacement = '';
    } else if (code >= 0xd800 && code <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      replacement = '\uFFFD';
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      replacement = '\uFFFD';
    }
    if (replacement === undefined) continue;
    out ??= [];
    out.push(s.slice(runStart, i), replacement);
    runStart = i + 1;
  }
  if (out === undefined) return s;
  out.push(s.slice(runStart));
  return out.join('');
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes & < > " ' for use in HTML text and (double- or single-quoted) attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}
