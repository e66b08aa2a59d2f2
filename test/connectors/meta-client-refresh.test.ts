/**
 * Session refresh, client tier against the emulator: the page config (fb_dtsg and the other page
 * tokens) is reloaded every `refreshIntervalMs`, and once when the gateway refuses the websocket
 * upgrade with 401 or 403; in both cases the tokens of the reloaded page are the ones used
 * afterwards (the emulator rotates fb_dtsg, so an upload with a stale one is refused).
 */
import assert from 'node:assert/strict';
import { generateTestPng } from '../../bridges/sandbox/src/server/index.js';
import { MetaClientError } from '../../bridges/meta/src/client/errors.js';
import { MetaEnv, USER, until } from '../helpers/meta-env.js';

describe('Meta client: session refresh', function () {
  this.timeout(30_000);
  const env = new MetaEnv('messenger');
  let pageLoads = 0;
  let posted: string[] = [];
  /** Counts inbox page loads and records the fb_dtsg each upload carries. */
  const spy: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if ((init?.method ?? 'GET') === 'GET' && url.pathname === '/messages') pageLoads++;
    if (url.pathname === '/ajax/mercury/upload.php' && init?.body instanceof FormData) posted.push(String(init.body.get('fb_dtsg')));
    return fetch(input, init);
  };
  const upload = (client: Awaited<ReturnType<MetaEnv['connected']>>['client']) => client.uploadMedia(generateTestPng(3, 3), 'image/png', 'p.png');
  /** Every state the client passes through from now on (a reconnect can be quicker than polling). */
  const stateLog = (client: Awaited<ReturnType<MetaEnv['connected']>>['client']) => {
    const states: string[] = [];
    client.on('state', (st) => states.push(st.state));
    return states;
  };
  const stale = (err: unknown) => err instanceof MetaClientError && err.status === 403;

  beforeEach(async () => {
    pageLoads = 0;
    posted = [];
    await env.start();
  });
  afterEach(() => env.stop());

  it('reloads the page config every refresh interval and uses the new token afterwards', async () => {
    const { client } = await env.connected({ refreshIntervalMs: 400, fetch: spy });
    assert.equal(pageLoads, 1);
    const first = client.pageConfig!.fbDtsg;
    env.emulator.rotateTokens(USER.me);
    await assert.rejects(upload(client), stale, 'the old token is stale until the page is reloaded');
    await until('the periodic reload', () => pageLoads >= 2);
    const second = client.pageConfig!.fbDtsg;
    assert.notEqual(second, first);
    await upload(client);
    assert.equal(posted.at(-1), second, 'the upload carries the reloaded token');
    await until('another reload one interval later', () => pageLoads >= 3);
    assert.equal(client.state.state, 'connected', 'the socket stays up through reloads');
  });

  for (const status of [401, 403]) {
    it(`a gateway refusing the socket with ${status} makes the client reload the page once and go on with it`, async () => {
      const { client } = await env.connected({ fetch: spy });
      assert.equal(pageLoads, 1);
      env.emulator.rotateTokens(USER.me);
      env.emulator.refuseGatewayOnce(USER.me, status);
      const states = stateLog(client);
      env.emulator.dropConnections(USER.me);
      await until('reconnected', () => states.includes('reconnecting') && states.lastIndexOf('connected') > states.indexOf('reconnecting'));
      assert.equal(pageLoads, 2, 'one reload');
      await upload(client);
      assert.equal(posted.at(-1), client.pageConfig!.fbDtsg, 'the reloaded token is used');

      // On the first connect too.
      const before = pageLoads;
      env.emulator.refuseGatewayOnce(USER.me, status);
      const other = env.client(await env.cookies(), { fetch: spy });
      await other.connect();
      assert.equal(pageLoads - before, 2, 'the page, then the reload after the refusal');
    });
  }

  it('another refusal (HTTP 500) is retried without reloading the page', async () => {
    const { client } = await env.connected({ fetch: spy });
    env.emulator.refuseGatewayOnce(USER.me, 500);
    const states = stateLog(client);
    env.emulator.dropConnections(USER.me);
    await until('reconnected', () => states.includes('reconnecting') && states.lastIndexOf('connected') > states.indexOf('reconnecting'));
    assert.equal(pageLoads, 1);
  });
});
