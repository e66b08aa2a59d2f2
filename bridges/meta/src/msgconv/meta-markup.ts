/**
 * The markers of Meta's text formatting, shared by the reader (meta-text.ts) and the writer
 * (meta-format.ts). Facts, as Meta's web clients render them: `*bold*`, `_italic_`, `~strike~`,
 * `` `code` ``, ```` ```lang ... ``` ```` blocks, and "> " quote lines. Inline markers stay on one
 * line, do not nest in each other (the first kind in the order below wins), and count only at
 * word edges: the opening marker after a space or some punctuation, the closing one before a
 * space or punctuation, with no space just inside either marker (code excepted).
 */
export type InlineKind = 'code' | 'bold' | 'italic' | 'strikethrough';

export interface InlineRule {
  kind: InlineKind;
  marker: string;
  /** Characters (besides whitespace and the text start) that may stand before an opening marker. */
  before: string;
  /** Characters (besides whitespace and the text end) that may follow a closing marker. */
  after: string;
  /** Code may start or end with a space and may be followed by a word character. */
  loose: boolean;
}

/** In priority order. */
export const INLINE_RULES: readonly InlineRule[] = [
  { kind: 'code', marker: '`', before: '*_~\'"(', after: '*_~,.;:!?\'")', loose: true },
  { kind: 'bold', marker: '*', before: '_~\'"(', after: '_~,.;:!?\'")', loose: false },
  { kind: 'italic', marker: '_', before: '*~\'"(', after: '*~,.;:!?\'")', loose: false },
  { kind: 'strikethrough', marker: '~', before: '*_\'"(', after: '*_,.;:!?\'")', loose: false },
];

export const FENCE = '```';
export const QUOTE_PREFIX = '> ';

/**
 * Code block languages Meta highlights (a subset of its list, facts). A fence followed by another
 * word keeps that word as the first line of the code.
 */
export const CODE_LANGUAGES: ReadonlySet<string> = new Set([
  'bash', 'c', 'c++', 'clojure', 'cpp', 'cs', 'csharp', 'css', 'dart', 'diff', 'dockerfile', 'erlang', 'go', 'graphql',
  'groovy', 'html', 'http', 'java', 'javascript', 'js', 'json', 'jsx', 'julia', 'kotlin', 'kt', 'lua', 'markdown', 'objc',
  'ocaml', 'perl', 'php', 'powershell', 'py', 'python', 'r', 'rb', 'ruby', 'rs', 'rust', 'scala', 'scss', 'sh', 'shell',
  'sql', 'swift', 'ts', 'typescript', 'xml', 'yaml', 'yml', 'zsh',
]);

export function isLineBreak(code: number): boolean {
  return code === 0x0a || code === 0x2028;
}

const SPACE = /\s/;
export function isSpace(ch: string): boolean {
  return ch.length > 0 && SPACE.test(ch);
}

export function isAsciiWord(ch: string): boolean {
  return /^[A-Za-z0-9_]$/.test(ch);
}

/** Whether a marker at `i` may open: at the text start, or after a space or an allowed character. */
export function canOpenAt(text: string, i: number, rule: InlineRule): boolean {
  if (i === 0) return true;
  const prev = text.charAt(i - 1);
  return isSpace(prev) || rule.before.includes(prev);
}

/** Whether a marker at `i` may close: at the text end, or before a space or an allowed character. */
export function canCloseAt(text: string, i: number, rule: InlineRule): boolean {
  if (i + 1 >= text.length) return true;
  const next = text.charAt(i + 1);
  return isSpace(next) || rule.after.includes(next) || (rule.loose && isAsciiWord(next));
}
