/**
 * Remote ids -> Matrix localparts, after the spec's suggested mapping from other character
 * sets (client-server API appendix, "Mapping from other character sets"): UTF-8 bytes; a-z,
 * 0-9 and `.` `-` `/` stay; `_` becomes `__`; an uppercase letter X becomes `_x`; every other
 * byte (including `=` and `+`) becomes `=` and two lowercase hex digits. The mapping is
 * injective, so ids that differ only in case get different ghosts, and it can be reversed.
 */

const PLAIN = /^[a-z0-9./-]$/;

export function encodeLocalpart(id: string): string {
  let out = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (ch === '_') out += '__';
    else if (byte >= 0x41 && byte <= 0x5a) out += `_${ch.toLowerCase()}`;
    else if (byte < 0x80 && PLAIN.test(ch)) out += ch;
    else out += `=${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * The inverse of encodeLocalpart, or undefined when the text is not exactly what
 * encodeLocalpart would produce for some id (stray escapes, uppercase, bad UTF-8). Requiring
 * the canonical form keeps one remote id to one Matrix user.
 */
export function decodeLocalpart(localpart: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < localpart.length; i++) {
    const ch = localpart[i] ?? '';
    if (ch === '_') {
      const next = localpart[i + 1] ?? '';
      if (next === '_') bytes.push(0x5f);
      else if (/^[a-z]$/.test(next)) bytes.push(next.toUpperCase().charCodeAt(0));
      else return undefined;
      i++;
    } else if (ch === '=') {
      const hex = localpart.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (PLAIN.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      return undefined;
    }
  }
  let id: string;
  try {
    id = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
  return encodeLocalpart(id) === localpart ? id : undefined;
}
