/**
 * The tags and attributes of Matrix HTML (client-server spec, m.room.message
 * `org.matrix.custom.html`), and the tags whose content is never shown.
 */

export const ALLOWED_TAGS: ReadonlySet<string> = new Set([
  'font', 'del', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'p', 'a', 'ul', 'ol', 'sup', 'sub',
  'li', 'b', 'i', 'u', 'strong', 'em', 's', 'strike', 'code', 'hr', 'br', 'div', 'table', 'thead',
  'tbody', 'tr', 'th', 'td', 'caption', 'pre', 'span', 'img', 'details', 'summary',
]);

/**
 * Elements dropped together with everything inside them: the reply fallback (`mx-reply`,
 * which clients strip since replies carry `m.relates_to`) and content that is not text.
 * Their content is dropped at any depth, also beyond maxDepth.
 */
export const DROPPED_WITH_CONTENT: ReadonlySet<string> = new Set([
  'mx-reply', 'script', 'style', 'head', 'title', 'template', 'textarea', 'xmp', 'noscript', 'iframe', 'object', 'svg', 'math',
]);

export const VOID_TAGS: ReadonlySet<string> = new Set(['br', 'hr', 'img']);

/** Attributes allowed per tag (spec list); values are checked by `checkAttribute`. */
export const ALLOWED_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  font: ['data-mx-bg-color', 'data-mx-color', 'color', 'data-mx-spoiler'],
  span: ['data-mx-bg-color', 'data-mx-color', 'color', 'data-mx-spoiler'],
  a: ['href', 'target'],
  img: ['src', 'width', 'height', 'alt', 'title'],
  ol: ['start'],
  code: ['class'],
};

const MAX_ATTRIBUTE_LENGTH = 1024;

/** A colour: `#rrggbb` (what the spec asks for), or a plain colour name for old `font color`. */
export function isColour(value: string): boolean {
  return /^#[0-9A-Fa-f]{6}$/.test(value) || /^[A-Za-z]{1,20}$/.test(value);
}

/** The `language-xxx` token of a `class` attribute, if any. */
export function languageFromClass(value: string | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  for (const token of value.split(/\s+/)) {
    const match = /^language-([A-Za-z0-9_+#.-]{1,32})$/.exec(token);
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

/** True when a whole-number string within `[min, max]`. */
export function isIntegerIn(value: string, min: number, max: number): boolean {
  if (!/^-?[0-9]{1,9}$/.test(value)) return false;
  const n = Number(value);
  return n >= min && n <= max;
}

/**
 * The value to keep for an allowlisted (tag, attribute) pair, or undefined to drop it.
 * URL attributes (a href, img src) are handled by the sanitiser itself.
 */
export function checkAttribute(tag: string, name: string, value: string): string | undefined {
  if (value.length > MAX_ATTRIBUTE_LENGTH) return undefined;
  switch (name) {
    case 'data-mx-bg-color':
    case 'data-mx-color':
    case 'color':
      return isColour(value) ? value : undefined;
    case 'data-mx-spoiler':
      return value; // an optional reason, shown as text
    case 'target':
      return value === '_blank' ? value : undefined;
    case 'width':
    case 'height':
      return isIntegerIn(value, 1, 100000) ? value : undefined;
    case 'alt':
    case 'title':
      return value;
    case 'start':
      return tag === 'ol' && isIntegerIn(value, -999999999, 999999999) ? value : undefined;
    case 'class': {
      const language = tag === 'code' ? languageFromClass(value) : undefined;
      return language === undefined ? undefined : `language-${language}`;
    }
    default:
      return undefined;
  }
}
