/**
 * Reading cookies out of what a person pastes: a Cookie header (`a=1; b=2`, optionally with the
 * `Cookie:` prefix), a browser export in JSON (an array of `{name, value, domain?, expirationDate?
 * | expires?}` as Cookie-Editor, EditThisCookie, Playwright or Puppeteer write it, Playwright's
 * `{cookies: [...]}`, or a plain `{name: value}` object), or a "Copy as cURL" command (bash
 * quoting: '...', "...", $'...', backslash line continuations).
 *
 * Errors name the part that is wrong (format, cookie name, position), never a value: the input is
 * a live session.
 */
import { MetaError } from './errors.js';

export type CookieErrorCode = 'unparseable' | 'invalid-cookie' | 'missing-cookies' | 'expired-cookies';

export class MetaCookieError extends MetaError<CookieErrorCode> {
  readonly area = 'cookies' as const;
  /** Required cookies that were not given (names only). */
  readonly missing: readonly string[];
  /** Required cookies whose expiry has passed (names only). */
  readonly expired: readonly string[];

  constructor(code: CookieErrorCode, message: string, lists: { missing?: string[]; expired?: string[] } = {}) {
    super(code, message);
    this.missing = lists.missing ?? [];
    this.expired = lists.expired ?? [];
  }
}

export type CookieInputFormat = 'header' | 'json' | 'curl';

export interface ParsedCookie {
  name: string;
  value: string;
  /** Unix milliseconds; absent for session cookies and formats without expiry. */
  expiresAt?: number;
  domain?: string;
}

const unparseable = (msg: string) => new MetaCookieError('unparseable', msg);

/** Cookie names are RFC 6265 tokens. */
const NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Values go into a header we send: no ';' and no control characters. */
export function isUnsafeCookieValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x3b) return true;
  }
  return false;
}

function checked(cookie: ParsedCookie, where: string): ParsedCookie {
  if (!NAME_RE.test(cookie.name)) throw unparseable(`${where}: a cookie name is not a valid cookie token`);
  if (isUnsafeCookieValue(cookie.value)) {
    throw new MetaCookieError('invalid-cookie', `cookie "${cookie.name}" has a value with control characters or ';'`);
  }
  return cookie;
}

/** `a=1; b=2` (an optional `Cookie:` prefix is dropped). */
export function parseCookieHeader(header: string): ParsedCookie[] {
  const body = header.trim().replace(/^cookie\s*:\s*/i, '');
  const out: ParsedCookie[] = [];
  body.split(';').forEach((part, i) => {
    const trimmed = part.trim();
    if (trimmed === '') return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw unparseable(`part ${i + 1} of the cookie header is not name=value`);
    const value = trimmed.slice(eq + 1).trim();
    out.push(checked({ name: trimmed.slice(0, eq).trim(), value: value.replace(/^"(.*)"$/, '$1') }, 'cookie header'));
  });
  return out;
}

function expiryOf(entry: Record<string, unknown>): number | undefined {
  if (entry.session === true) return undefined;
  const raw = entry.expirationDate ?? entry.expires ?? entry.expiry;
  if (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) return Math.round(raw * 1000);
  if (typeof raw === 'string' && raw.trim() !== '' && raw !== 'Session') {
    const ms = Date.parse(raw);
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

/** A browser export, already parsed from JSON. */
export function parseCookieJSON(data: unknown): ParsedCookie[] {
  const list = data && typeof data === 'object' && !Array.isArray(data) && Array.isArray((data as { cookies?: unknown }).cookies)
    ? (data as { cookies: unknown[] }).cookies
    : data;
  if (Array.isArray(list)) {
    return list.map((entry, i) => {
      if (!entry || typeof entry !== 'object') throw unparseable(`cookie entry ${i + 1} is not an object`);
      const e = entry as Record<string, unknown>;
      if (typeof e.name !== 'string' || typeof e.value !== 'string') throw unparseable(`cookie entry ${i + 1} has no string name and value`);
      const cookie: ParsedCookie = { name: e.name, value: e.value };
      const expiresAt = expiryOf(e);
      if (expiresAt !== undefined) cookie.expiresAt = expiresAt;
      if (typeof e.domain === 'string') cookie.domain = e.domain;
      return checked(cookie, `cookie entry ${i + 1}`);
    });
  }
  if (list && typeof list === 'object') {
    return Object.entries(list as Record<string, unknown>).map(([name, value]) => {
      if (typeof value !== 'string') throw unparseable(`cookie "${NAME_RE.test(name) ? name : '?'}" does not have a string value`);
      return checked({ name, value }, 'cookie object');
    });
  }
  throw unparseable('JSON cookies must be an array of {name, value} or an object of name: value');
}

/** Splits a bash command line into words, honouring the quoting browsers emit. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  const s = command;
  let i = 0;
  const add = (c: string) => {
    word = (word ?? '') + c;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\' && (s[i + 1] === '\n' || (s[i + 1] === '\r' && s[i + 2] === '\n'))) {
      i += s[i + 1] === '\r' ? 3 : 2; // line continuation
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw unparseable('the cURL command has an unclosed single quote');
      add(s.slice(i + 1, end));
      i = end + 1;
    } else if (c === '$' && s[i + 1] === "'") {
      i += 2;
      add('');
      while (i < s.length && s[i] !== "'") {
        if (s[i] === '\\' && i + 1 < s.length) {
          const n = s[i + 1]!;
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
          if (n === 'x' || n === 'u') {
            const len = n === 'x' ? 2 : 4;
            const hex = s.slice(i + 2, i + 2 + len);
            if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw unparseable('the cURL command has a bad escape sequence');
            add(String.fromCharCode(parseInt(hex, 16)));
            i += 2 + len;
          } else {
            add(map[n] ?? n);
            i += 2;
          }
        } else {
          add(s[i]!);
          i++;
        }
      }
      if (i >= s.length) throw unparseable("the cURL command has an unclosed $'...' quote");
      i++;
    } else if (c === '"') {
      i++;
      add('');
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1]!)) i++;
        add(s[i]!);
        i++;
      }
      if (i >= s.length) throw unparseable('the cURL command has an unclosed double quote');
      i++;
    } else if (c === '\\' && i + 1 < s.length) {
      add(s[i + 1]!);
      i += 2;
    } else {
      add(c);
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The cookies of a "Copy as cURL" command: `-H 'cookie: ...'` and `-b '...'` options. */
export function parseCurlCommand(command: string): ParsedCookie[] {
  if (/\^"/.test(command)) throw unparseable('this looks like "Copy as cURL (cmd)"; copy as cURL (bash) instead');
  const words = shellWords(command);
  const cookies: ParsedCookie[] = [];
  let found = false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    let header: string | undefined;
    let jar: string | undefined;
    if (w === '-H' || w === '--header') header = words[++i];
    else if (w.startsWith('--header=')) header = w.slice('--header='.length);
    else if (w === '-b' || w === '--cookie') jar = words[++i];
    else if (w.startsWith('--cookie=')) jar = w.slice('--cookie='.length);
    if (header !== undefined && /^cookie\s*:/i.test(header)) {
      cookies.push(...parseCookieHeader(header));
      found = true;
    } else if (jar !== undefined) {
      if (!jar.includes('=')) throw unparseable('the cURL command reads cookies from a file; paste the command with the cookies in it');
      cookies.push(...parseCookieHeader(jar));
      found = true;
    }
  }
  if (!found) throw unparseable('the cURL command has no cookie header (-H "cookie: ..." or -b)');
  return cookies;
}

/** The host a "Copy as cURL" command was copied from (its first http(s) URL), lower case. */
export function curlHost(command: string): string | undefined {
  for (const word of shellWords(command).slice(1)) {
    if (!/^https?:\/\//i.test(word)) continue;
    try {
      return new URL(word).hostname.toLowerCase();
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Detects the format and returns every cookie found, in input order; for a cURL command also the
 * host it was copied from (the site the cookies belong to).
 */
export function parseCookieInput(input: unknown): { format: CookieInputFormat; cookies: ParsedCookie[]; host?: string } {
  if (typeof input !== 'string') return { format: 'json', cookies: parseCookieJSON(input) };
  const trimmed = input.trim();
  if (trimmed === '') throw unparseable('no cookies were given');
  if (/^curl(\.exe)?\s/i.test(trimmed)) {
    const cookies = parseCurlCommand(trimmed);
    const host = curlHost(trimmed);
    return { format: 'curl', cookies, ...(host ? { host } : {}) };
  }
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch {
      throw unparseable('the cookies look like JSON but do not parse as JSON');
    }
    return { format: 'json', cookies: parseCookieJSON(data) };
  }
  return { format: 'header', cookies: parseCookieHeader(trimmed) };
}
