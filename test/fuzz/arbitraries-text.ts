/**
 * Generators for hostile text: any UTF-16 (astral characters, lone surrogate halves), control
 * characters, zero-width and bidi marks, markup characters of every network, and long runs.
 */
import fc from 'fast-check';

/** Characters that have broken text handling somewhere, or that some syntax treats specially. */
export const SPECIAL_CHARS: readonly string[] = [
  '\u0000', '\u0007', '\b', '\t', '\n', '\u000b', '\f', '\r', '\r\n', '\u001b', '\u007f', '\u0085', '\u009b', '\u009f',
  '\u00a0', '\u00ad', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e',
  '\u2066', '\u2067', '\u2068', '\u2069', '\u2028', '\u2029', '\u2060', '\ufeff', '\ufffd', '\ufffe', '\uffff',
  '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d', '\ude00',
  '😀', '👍🏽', '👨‍👩‍👧', '🏳️‍🌈', '\u{10ffff}', '\u{1d54f}', 'é', 'e\u0301', 'ا', 'ש', '中',
  '@', '@room', '@all', '@everyone', '@123', '*', '_', '~', '`', '```', '> ', '>', '<', '&', '"', "'", '\\', '/',
  ' ', '  ', '\t\t', '\n\n', '- ', '1. ', '#', ':', '.', '(', ')',
  'http://', 'https://e.org/a_b*c~d', 'https://matrix.to/#/@u:s.org', 'mailto:a@b.c',
];

const oneCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const asciiChar = fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 });

/** One "unit" of hostile text: mostly plain, often special. */
export const hostileUnit: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: asciiChar, weight: 4 },
  { arbitrary: fc.constantFrom(...SPECIAL_CHARS), weight: 4 },
  { arbitrary: anyCodePoint, weight: 2 },
  { arbitrary: oneCodeUnit, weight: 1 },
  { arbitrary: fc.constantFrom('word', 'bold', 'x', 'hello world', 'snake_case', '2*3*4'), weight: 2 },
);

/** Short hostile text (up to `maxLength` units). */
export function hostileText(maxLength = 40): fc.Arbitrary<string> {
  return fc.string({ unit: hostileUnit, maxLength, size: 'medium' });
}

/** A fragment repeated until the result is about `length` code units long (inputs near and past the caps). */
export function longText(fragment: fc.Arbitrary<string>, lengths: readonly number[] = [65_000, 65_536, 70_000, 200_000]): fc.Arbitrary<string> {
  return fc.tuple(fragment.filter((s) => s.length > 0), fc.constantFrom(...lengths)).map(([f, n]) => f.repeat(Math.ceil(n / f.length)).slice(0, n));
}

/** One time in five, cuts a string anywhere: inside a tag, an entity reference or a surrogate pair. */
export function maybeTruncated(arb: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const cut = fc.oneof({ arbitrary: fc.constant(-1), weight: 4 }, { arbitrary: fc.nat(), weight: 1 });
  return fc.tuple(arb, cut).map(([s, at]) => (at < 0 ? s : s.slice(0, at % (s.length + 1))));
}

/** User ids: valid ones, near misses, and hostile strings. */
export const userIdArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('@alice:example.org', '@u/s=x:s.org', '@sandbox_bob:example.org', '@whatsapp_123:example.org', '@x:[::1]:8448', '@x:1.2.3.4'),
  fc.constantFrom('@nocolon', 'alice:example.org', '@:s', '@a:', '@a b:s', '@a:s\n', '@"><script>:s', '@a:s/../x', ''),
  hostileText(20).map((s) => `@${s}:example.org`),
  hostileText(20),
);

/** Percent-encodes what encodeURIComponent can (it throws on lone surrogates). */
function encodeLoosely(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s;
  }
}

const SCHEMES = [
  'http', 'https', 'HTTPS', 'ftp', 'mailto', 'magnet', 'javascript', 'JaVaScRiPt', 'data', 'vbscript', 'file', 'matrix', 'mxc',
  ' javascript', 'java\tscript', 'java\nscript', '\u0000javascript', 'java&#x09;script', '&#106;avascript', 'javascript&colon;', 'blob', 'about', '',
];

/** URLs as they appear in href/src: allowed schemes, dangerous ones, obfuscated ones, permalinks. */
export const urlArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...SCHEMES), fc.constantFrom(':', '://', ':/', '&#58;', ''), hostileText(24)).map(([s, sep, rest]) => `${s}${sep}${rest}`),
  fc.tuple(fc.constantFrom('https://matrix.to/#/', 'HTTPS://MATRIX.TO/#/', 'matrix:u/', 'matrix://x/u/'), userIdArb, fc.boolean()).map(
    ([prefix, id, encode]) => prefix + (encode ? encodeLoosely(id) : prefix.startsWith('matrix:') ? id.slice(1) : id),
  ),
  fc.constantFrom('https://e.org/?q=1&r=<2>', 'https://e.org/"onmouseover="x', "https://e.org/'x", 'mxc://s/m', 'mxc://s/m?x', '//e.org', '#frag', '   https://e.org  '),
  hostileText(30),
);
