/**
 * For Instagram client tests: starts and stops the emulator around each test and records which
 * GraphQL documents the client called (by friendly name) and how many LightSpeed requests it made,
 * so a test can show an operation took Instagram's own path. Pass `calls.fetch` to the client.
 */
import { DGWSocket } from '../../bridges/meta/src/client/dgw-socket.js';

export interface InstagramCalls {
  /** GraphQL documents called since the test began (tests may reset it). */
  graphql: string[];
  /** LightSpeed requests (one-off streams) since the test began (tests may reset it). */
  lightspeed: number;
  readonly fetch: typeof fetch;
}

/** `env`: a MetaEnv or MetaConnectorEnv (anything started and stopped around each test). */
export function recordInstagramCalls(env: { start(): Promise<unknown>; stop(): Promise<unknown> }): InstagramCalls {
  const originalRequest = DGWSocket.prototype.request;
  const calls: InstagramCalls = {
    graphql: [],
    lightspeed: 0,
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname === '/api/graphql') calls.graphql.push(new URLSearchParams(String(init?.body)).get('fb_api_req_friendly_name') ?? '?');
      return fetch(input, init);
    },
  };
  beforeEach(async () => {
    calls.graphql = [];
    calls.lightspeed = 0;
    DGWSocket.prototype.request = function (this: DGWSocket, ...args: Parameters<DGWSocket['request']>) {
      calls.lightspeed++;
      return originalRequest.apply(this, args);
    };
    await env.start();
  });
  afterEach(async () => {
    DGWSocket.prototype.request = originalRequest;
    await env.stop();
  });
  return calls;
}
