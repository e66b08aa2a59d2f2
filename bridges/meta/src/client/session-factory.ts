/**
 * The HTTP side of a MetaClient from its options: the site's endpoints (a messenger.com session
 * opens messenger.com: its page, origin and gateway, not facebook.com), the browser user agent,
 * and the proxy every request and the websocket go through when one is set.
 */
import type { Logger } from '@tributary/core/logging';
import { DEFAULT_USER_AGENT, MetaHttpSession, defaultEndpoints } from './http-session.js';
import { createMetaProxy } from './proxy.js';
import type { MetaClientOptions } from './types.js';

export function createHttpSession(opts: MetaClientOptions, log: Logger): MetaHttpSession {
  return new MetaHttpSession({
    platform: opts.platform,
    cookies: opts.cookies,
    endpoints: { ...defaultEndpoints(opts.platform, opts.cookies.site), ...opts.endpoints },
    userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
    log,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.proxy ? { proxy: createMetaProxy(opts.proxy) } : {}),
  });
}
