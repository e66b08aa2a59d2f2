/**
 * URL checks for links in Matrix HTML: the scheme allowlist, user mentions written as
 * matrix.to permalinks or `matrix:` URIs, and mxc:// media URIs.
 */

/** Schemes the Matrix spec allows in `<a href>` (client-server API, "m.room.message msgtypes"). */
export const ALLOWED_LINK_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'ftp', 'mailto', 'magnet']);

const MAX_URL_LENGTH = 8192;
const MAX_USER_ID_LENGTH = 255;

/**
 * True when `s` holds a control character (C0, DEL, C1) or a surrogate half without its partner:
 * invalid anywhere in a URL, and the URL ends up as text too (link text, network markup), where
 * cleanText would have removed them.
 */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/**
 * The URL, trimmed, when it is absolute with an allowed scheme; otherwise undefined.
 * Browsers ignore leading spaces and controls and strip tabs and newlines inside a URL
 * ("java\tscript:"), so a URL containing any control character (or a lone surrogate) is
 * refused outright.
 */
export function safeLinkUrl(raw: string | undefined): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const url = raw.trim();
  if (url.length === 0 || url.length > MAX_URL_LENGTH || hasControl(url)) return undefined;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1];
  if (scheme === undefined || !ALLOWED_LINK_SCHEMES.has(scheme.toLowerCase())) return undefined;
  return url;
}

/**
 * Matrix user id grammar (spec appendix "Identifier grammar"): `@localpart:server_name`,
 * localpart from the historical set (printable ASCII except ':'), server_name a DNS name,
 * IPv4 or bracketed IPv6 literal with an optional port; 255 bytes at most in all.
 */
const USER_ID_RE = /^@[\x21-\x39\x3B-\x7E]+:(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,255})(?::[0-9]{1,5})?$/;

export function isValidUserId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_USER_ID_LENGTH && USER_ID_RE.test(value);
}

function decode(component: string): string | undefined {
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined;
  }
}

const MATRIX_TO_PREFIX = 'https://matrix.to/#/';

/**
 * The user id a link points to, when it is a user permalink: `https://matrix.to/#/@u:s`
 * (percent-encoded or not, query such as `?via=` ignored) or a `matrix:u/u:s` URI.
 */
export function mentionUserId(raw: string | undefined): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const url = raw.trim();
  if (url.length > MAX_URL_LENGTH) return undefined;
  let candidate: string | undefined;
  if (url.slice(0, MATRIX_TO_PREFIX.length).toLowerCase() === MATRIX_TO_PREFIX) {
    const rest = url.slice(MATRIX_TO_PREFIX.length).split('?', 1)[0] ?? '';
    candidate = decode(rest);
  } else {
    // matrix:u/alice:example.org?action=chat, also with an (unused) authority part.
    const match = /^matrix:(?:\/\/[^/]*\/)?u\/([^/?#]+)/i.exec(url);
    const part = match?.[1] === undefined ? undefined : decode(match[1]);
    candidate = part === undefined ? undefined : `@${part}`;
  }
  return isValidUserId(candidate) ? candidate : undefined;
}

/** The matrix.to permalink for a user, percent-encoded as the spec recommends. */
export function mentionUrl(userId: string): string {
  return MATRIX_TO_PREFIX + encodeURIComponent(userId);
}

/** `mxc://server/mediaId` with the characters the spec allows in each part. */
export function isMxcUri(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length <= MAX_URL_LENGTH && /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/.test(value)
  );
}
