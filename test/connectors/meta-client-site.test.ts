/** A messenger.com session against the emulator: the client opens the site root ("/") and connects. */
import assert from 'node:assert/strict';
import { MetaCookies } from '../../bridges/meta/src/cookies.js';
import { MetaEnv, USER } from '../helpers/meta-env.js';

describe('Meta client: a messenger.com session against the emulator', function () {
  this.timeout(20_000);
  const env = new MetaEnv('messenger');
  beforeEach(() => env.start());
  afterEach(() => env.stop());

  it('a messenger.com session opens the site root and connects', async () => {
    const token = await env.token('me');
    const cookies = MetaCookies.load(JSON.stringify([
      { name: 'xs', value: token, domain: '.messenger.com' }, { name: 'c_user', value: USER.me, domain: '.messenger.com' }, { name: 'datr', value: 'd', domain: '.messenger.com' },
    ]), 'messenger');
    const paths: string[] = [];
    const client = env.client(cookies, { fetch: async (input, init) => { paths.push(new URL(String(input)).pathname); return fetch(input, init); } });
    await client.connect();
    assert.equal(client.state.state, 'connected');
    assert.deepEqual(paths, ['/']);
  });
});
