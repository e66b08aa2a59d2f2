/**
 * Portal keys of Meta threads. A group is one portal for everyone (receiver empty); a one-to-one
 * thread is keyed by the login that sees it. Meta's thread key of a one-to-one chat is the other
 * person's id (fact), so a DM started from either side lands in the same portal.
 */
import { createHash } from 'node:crypto';
import { portalKey, type PortalKey, type UserLoginId } from '@tributary/core/network/index';

/** Meta's thread types (facts): 1 one-to-one; 2 group; others (communities, channels) count as groups. */
export const THREAD_TYPE_ONE_TO_ONE = 1;

export function makeMetaPortalKey(threadKey: string, isGroup: boolean, login: UserLoginId): PortalKey {
  return portalKey(threadKey, isGroup ? '' : login);
}

const DECIMAL = /^\d{1,19}$/;

export function isMetaThreadKey(id: string): boolean {
  return DECIMAL.test(id);
}

/**
 * A picture's identity: a hash of its URL without the query. Meta re-signs CDN URLs (the query
 * changes), so the same picture is not uploaded again, and a new picture (a new path) always is.
 */
export function pictureId(url: string): string {
  let path = url;
  try {
    const u = new URL(url);
    path = `${u.host}${u.pathname}`;
  } catch {
    // not a URL: hash it as it is
  }
  return createHash('sha256').update(path).digest('hex').slice(0, 32);
}
