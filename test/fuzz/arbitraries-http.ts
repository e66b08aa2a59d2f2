/**
 * Generators for malformed HTTP requests: methods, paths, auth headers, and bodies that are not
 * JSON, not UTF-8, of the wrong shape, deeply nested, oversized, chunked badly or cut short.
 */
import fc from 'fast-check';
import type { RawRequest } from '../helpers/raw-http.js';
import { hostileText } from './arbitraries-text.js';

export const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const ODD_METHODS = ['FOO', 'put', 'CONNECT', 'TRACE', 'PROPFIND', 'GET /x', '', 'PUT\u0000', 'M-SEARCH', 'PRI'];

export const methodArb = fc.oneof({ arbitrary: fc.constantFrom(...METHODS), weight: 8 }, { arbitrary: fc.constantFrom(...ODD_METHODS), weight: 1 });

/** Path segments: ordinary ids, percent-encoding good and bad, dot segments, unicode, very long. */
export const segmentArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9._~-]{1,24}$/), weight: 6 },
  { arbitrary: fc.constantFrom('', '.', '..', '%', '%2', '%zz', '%2F', '%00', '%E0%A4%A', '%C0%80', '%F0%9F%98%80', '%25', '%20', '@u:s', '!r:s', '#a:s', '$e', '?x=1', '#frag', ';p', '\u00e9', '\u{1F600}', ' ', '\t'), weight: 3 },
  { arbitrary: hostileText(12), weight: 1 },
  { arbitrary: fc.constantFrom('x'.repeat(300), 'y'.repeat(5000), 'z'.repeat(20_000)), weight: 1 },
);

/** Bytes that are not UTF-8: stray continuation bytes, overlong forms, cut sequences, surrogates. */
export const invalidUtf8: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom('{"events":[{"content":{"body":"', '{"', '', '{"events":[', '{"events":[],"x":"'), fc.constantFrom([0xff], [0xc0, 0x80], [0xe0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xfe, 0xff], [0xef, 0xbb, 0xbf]), fc.constantFrom('"}}]}', '":1}', ']}', '"}', ''))
  .map(([head, bad, tail]) => Buffer.concat([Buffer.from(head), Buffer.from(bad), Buffer.from(tail)]));

/** Arbitrary JSON-ish text: valid JSON of any shape, near-JSON, and junk. */
export const jsonishText: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.constantFrom('', ' ', 'null', '[]', '{}', '1', '"s"', 'true', '{', '}', '{"events":', '{"events":[]', '{"events":[]}x', '{"events":[],}', "{'events':[]}", '{"events":[]}{"events":[]}', '\ufeff{"events":[]}', '{"events":[1e400]}', '{"events":NaN}', '{"__proto__":{"events":[]}}', '{"events":[],"events":{}}', '{"a":"\\ud800"}', '{"a":"\\u0000"}'),
  hostileText(30),
);

export function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** Authorization headers: right, wrong, in the wrong form, or none. */
export function authArb(token: string): fc.Arbitrary<Array<[string, string]>> {
  return fc.oneof(
    { arbitrary: fc.constant<Array<[string, string]>>([['Authorization', `Bearer ${token}`]]), weight: 10 },
    { arbitrary: fc.constant<Array<[string, string]>>([]), weight: 1 },
    {
      arbitrary: fc.constantFrom(`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `bearer ${token}`, `Basic ${token}`, `Bearer`, `Bearer  ${token}`, `Bearer ${token} extra`, `${token}`, 'Bearer \u00ff').map((v) => [['Authorization', v]] as Array<[string, string]>),
      weight: 2,
    },
    { arbitrary: fc.constant<Array<[string, string]>>([['Authorization', `Bearer ${token}`], ['Authorization', 'Bearer other']]), weight: 1 },
  );
}

export interface BodyChoice {
  body: Buffer;
  chunked?: 'good' | 'bad';
  /** Content-Length to declare when it should not be the body's length. */
  declaredLength?: number | string;
  halfClose?: boolean;
}

/**
 * How the body is framed on the wire: Content-Length (right, too small, too big with a hang-up,
 * not a number), chunked (good or broken), or none at all.
 */
export function framed(body: fc.Arbitrary<Buffer>): fc.Arbitrary<BodyChoice> {
  return fc.tuple(body, fc.constantFrom('length', 'length', 'length', 'length', 'chunked', 'bad-chunks', 'short', 'long', 'nan', 'none')).map(([b, how]) => {
    switch (how) {
      case 'chunked':
        return { body: b, chunked: 'good' as const };
      case 'bad-chunks':
        return { body: b, chunked: 'bad' as const };
      case 'short':
        return { body: b, declaredLength: Math.max(0, b.length - 3) };
      case 'long':
        return { body: b, declaredLength: b.length + 10, halfClose: true };
      case 'nan':
        return { body: b, declaredLength: '12abc' };
      case 'none':
        return { body: Buffer.alloc(0), declaredLength: undefined };
      default:
        return { body: b };
    }
  });
}

/** Turns the pieces into a request: Host and Connection: close always, Content-Length as chosen. */
export function buildRequest(method: string, target: string, headers: Array<[string, string]>, body: BodyChoice, extra: Array<[string, string]> = []): RawRequest {
  // The sentinel header ['Host', ''] from extraHeaders means: send no Host at all.
  const noHost = extra.some(([k, v]) => k === 'Host' && v === '');
  const all: Array<[string, string]> = [...(noHost ? [] : [['Host', 'localhost'] as [string, string]]), ['Connection', 'close'], ...headers, ...extra.filter(([k, v]) => !(k === 'Host' && v === ''))];
  if (!body.chunked && (body.body.length > 0 || body.declaredLength !== undefined)) {
    all.push(['Content-Length', String(body.declaredLength ?? body.body.length)]);
  }
  return { method, target, headers: all, body: body.body, ...(body.chunked ? { chunked: body.chunked } : {}), ...(body.halfClose ? { halfClose: true } : {}) };
}

/** Extra headers that have upset servers: huge, duplicated framing, odd content types, Expect. */
export const extraHeaders: fc.Arbitrary<Array<[string, string]>> = fc.oneof(
  { arbitrary: fc.constant<Array<[string, string]>>([]), weight: 8 },
  {
    arbitrary: fc.constantFrom<Array<[string, string]>>(
      [['Content-Type', 'text/plain']],
      [['Content-Type', 'application/json; charset=latin1']],
      [['Expect', '100-continue']],
      [['X-Big', 'x'.repeat(20_000)]],
      [['Content-Length', '5'], ['Content-Length', '6']],
      [['Transfer-Encoding', 'gzip']],
      [['Host', 'other']],
      [['Host', '']],
    ),
    weight: 1,
  },
);
