import { z } from 'zod';

/**
 * Field builders shared by the section schemas. Each carries its own error text, so a problem
 * reads "expected a number between 1 and 65535" rather than zod's generic wording; the
 * loader appends what was actually found (`, got "abc"`).
 */

/** A whole number in [min, max]; one message for wrong type, fraction and range alike. */
export function intIn(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const error = max === Number.MAX_SAFE_INTEGER
    ? `expected a whole number of at least ${min}`
    : `expected a number between ${min} and ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

export const port = () => intIn(1, 65535);

export const MiB = 1024 * 1024;

export function httpUrl() {
  return z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
}

/** A server name as Matrix defines it: hostname, IPv4 or [IPv6], optional :port. */
export const SERVER_NAME_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::\d{1,5})?$/;
const SERVER_NAME_SRC = SERVER_NAME_RE.source.slice(1, -1);

/** A user id; the localpart is any printable ASCII but ':' (historical ids are lenient). */
export const USER_ID_RE = new RegExp(`^@[!-9;-~]+:${SERVER_NAME_SRC}$`);

/** Characters the spec allows in a new user id localpart. */
export const LOCALPART_RE = /^[a-z0-9._=/+-]+$/;

export function serverName() {
  return z.string().regex(SERVER_NAME_RE, { error: 'expected a server name such as example.org or localhost:8448' });
}

export function localpart() {
  return z.string().regex(LOCALPART_RE, { error: 'expected a user id localpart: lowercase a-z, 0-9 and ._=-/+ only' });
}

/** Any non-empty string. */
export function nonEmpty() {
  return z.string().min(1, { error: 'must not be empty' });
}

/** A template with exactly one `{placeholder}` and only localpart characters around it. */
export function localpartTemplate(placeholder: string) {
  const token = `{${placeholder}}`;
  return z.string().superRefine((value, ctx) => {
    const parts = value.split(token);
    if (parts.length !== 2) {
      ctx.addIssue({ code: 'custom', message: `must contain ${token} exactly once`, input: value });
      return;
    }
    const fixed = parts.join('');
    if (fixed !== '' && !LOCALPART_RE.test(fixed)) {
      ctx.addIssue({ code: 'custom', message: `text around ${token} may only use lowercase a-z, 0-9 and ._=-/+`, input: value });
    }
  });
}

/** '' or an mxc:// URI. */
export function mxcOrEmpty() {
  return z.string().regex(/^$|^mxc:\/\/[^/\s]+\/[^/\s]+$/, { error: 'expected an mxc://server/id URI or an empty string' });
}
