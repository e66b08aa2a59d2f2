/**
 * Page-config parsing on hand-made fixtures (test/fixtures/meta): a logged-in Messenger inbox, a
 * login page, a checkpoint, plus the emulator's rendering read back, and the pacing helpers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MetaPageError, parsePageConfig, renderPageConfig, renderLoginPage } from '../../bridges/meta/src/page-config.js';
import { LSProgramBuilder, buildLSResponse } from '../../bridges/meta/src/lightspeed/builder.js';
import { parseLSResponse } from '../../bridges/meta/src/lightspeed/response.js';
import { TokenBucket, reconnectDelay } from '../../bridges/meta/src/client/backoff.js';
import { parseSetCookie } from '../../bridges/meta/src/client/http-session.js';
import { parseUploadResponse } from '../../bridges/meta/src/client/media.js';
import { eventsFromTables } from '../../bridges/meta/src/client/events.js';
import { parseJSONExact, messageIdOf, sandboxMessageId, parseThreadKey, groupThreadKey } from '../../bridges/meta/src/emulator/ids.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/meta/${name}`, import.meta.url), 'utf8');
const FB = 'https://www.facebook.com/messages';
const isPageError = (code: string) => (err: unknown) => err instanceof MetaPageError && err.code === code;

describe('meta page config', () => {
  it('reads every field of a logged-in inbox page, and its embedded LightSpeed table', () => {
    const page = parsePageConfig({ platform: 'messenger', html: fixture('inbox-messenger.html'), url: FB });
    assert.equal(page.fbDtsg, 'NAcFixtureDtsgToken:17:1700000000');
    assert.equal(page.lsd, 'FixtureLsdToken');
    assert.equal(page.versionId, '9876543210123456');
    assert.equal(page.accountId, '100012345678901');
    assert.equal(page.appId, '2220391788200892');
    assert.equal(page.dgwAppId, '2220391788200893');
    assert.equal(page.deviceId, '3e9b1c2d-0000-4000-8000-fixturefixture');
    assert.equal(page.userName, 'Fixture Person');
    assert.deepEqual(page.syncParams, { contact: '{"locale":"en_US"}', mailbox: '{"locale":"en_US"}' });
    const thread = page.initialTables!.LSDeleteThenInsertThread![0]!;
    assert.equal(thread.threadKey, '7000000000000001');
    assert.equal(thread.threadName, 'Climbing');
    assert.equal(page.initialTables!.LSVerifyContactRowExists![0]!.name, 'Second Person');
  });

  it('classifies a login page, a checkpoint and a consent screen', () => {
    assert.throws(() => parsePageConfig({ platform: 'messenger', html: fixture('login-messenger.html'), url: FB }), isPageError('login-required'));
    // USER_ID "0" alone marks a page that belongs to nobody, wherever it was served from.
    const anonymous = fixture('inbox-messenger.html').replace(/"USER_ID":"\d+"/, '"USER_ID":"0"');
    assert.throws(() => parsePageConfig({ platform: 'messenger', html: anonymous, url: FB }), isPageError('login-required'));
    assert.throws(() => parsePageConfig({ platform: 'messenger', html: fixture('checkpoint.html'), url: 'https://www.facebook.com/checkpoint/?next=%2Fmessages' }), isPageError('checkpoint'));
    assert.throws(() => parsePageConfig({ platform: 'instagram', html: fixture('checkpoint.html'), url: 'https://www.instagram.com/challenge/?next=/direct/inbox/' }), isPageError('challenge'));
    assert.throws(() => parsePageConfig({ platform: 'messenger', html: '', url: 'https://www.facebook.com/privacy/consent/user_cookie_choice/' }), isPageError('consent'));
    assert.throws(() => parsePageConfig({ platform: 'instagram', html: renderLoginPage('instagram'), url: 'https://www.instagram.com/accounts/login/?next=x' }), isPageError('login-required'));
  });

  it('names the missing fields of a page Meta changed, never their values', () => {
    const html = fixture('inbox-messenger.html').replace('["DGWWebConfig",[],{"appId":"2220391788200893","dgwVersion":5},6001],', '').replace(/__d\("LSVersion"/, '__d("Other"');
    assert.throws(() => parsePageConfig({ platform: 'messenger', html, url: FB }), (err: unknown) =>
      err instanceof MetaPageError && err.code === 'missing-field' && err.missing.join() === 'versionId,DGWWebConfig.appId' && !err.message.includes('NAcFixture'));
    assert.throws(() => parsePageConfig({ platform: 'messenger', html: '<html>nothing</html>', url: FB }), isPageError('malformed'));
    const badTable = fixture('inbox-messenger.html').replace('[5,\\"verifyContactRowExists\\"', '[999,\\"verifyContactRowExists\\"');
    assert.throws(() => parsePageConfig({ platform: 'messenger', html: badTable, url: FB }), isPageError('malformed'));
  });

  it('reads back what renderPageConfig wrote, on both platforms, with markup-breaking names escaped', () => {
    for (const platform of ['messenger', 'instagram'] as const) {
      const program = new LSProgramBuilder().call('LSDeleteThenInsertThread', { threadKey: '9007199254740993', threadName: '</script><b>' }).build();
      const html = renderPageConfig({
        platform, fbDtsg: 'd', lsd: 'l', versionId: '123', accountId: '42', appId: '7', userName: '<Eve & "co">', dgwAppId: '8', deviceId: 'dev', syncParams: { mailbox: '{}' }, initialProgram: program,
      });
      const page = parsePageConfig({ platform, html, url: 'https://example.test/inbox' });
      assert.equal(page.userName, '<Eve & "co">');
      assert.equal(page.initialTables!.LSDeleteThenInsertThread![0]!.threadKey, '9007199254740993');
      assert.equal(page.initialTables!.LSDeleteThenInsertThread![0]!.threadName, '</script><b>');
      assert.equal(page.deviceId, 'dev');
    }
  });
});

describe('meta client helpers', () => {
  it('builds step programs the interpreter reads back row for row (int64 exact)', () => {
    const b = new LSProgramBuilder()
      .call('LSInsertMessage', { threadKey: '9223372036854775807', timestampMs: 5, messageId: 'mid.$x', senderId: '1', text: 'hi', isUnsent: false })
      .call('LSTaskFailed', { taskId: '3', code: 'edit-limit-reached', message: 'no' });
    const res = parseLSResponse(buildLSResponse({ requestId: 9, program: b }));
    assert.equal(res.requestId, 9);
    assert.deepEqual(res.result.tables.LSInsertMessage, [{ threadKey: '9223372036854775807', timestampMs: 5, messageId: 'mid.$x', senderId: '1', text: 'hi', isUnsent: false }]);
    assert.deepEqual(res.result.tables.LSTaskFailed, [{ taskId: '3', code: 'edit-limit-reached', message: 'no' }]);
    assert.deepEqual(res.sp.sort(), ['insertMessage', 'taskFailed']);
  });

  it('orders events so references hold: threads before messages, attachments joined', () => {
    const tables = parseLSResponse(buildLSResponse({ program: new LSProgramBuilder()
      .call('LSUpsertReaction', { threadKey: '1', messageId: 'm', actorId: '2', reaction: 'x' })
      .call('LSInsertBlobAttachment', { threadKey: '1', messageId: 'm', attachmentIndex: 0 })
      .call('LSInsertMessage', { threadKey: '1', timestampMs: 1, messageId: 'm', senderId: '2' })
      .call('LSDeleteThenInsertThread', { threadKey: '1' }) })).result.tables;
    const events = eventsFromTables(tables);
    assert.deepEqual(events.map((e) => e.type), ['thread', 'message', 'reaction']);
    assert.equal((events[1] as Extract<typeof events[number], { type: 'message' }>).attachments.length, 1);
  });

  it('backs off exponentially with jitter within bounds', () => {
    const opts = { minMs: 100, maxMs: 10_000 };
    assert.equal(reconnectDelay(0, opts, () => 0), 50);
    assert.equal(reconnectDelay(3, opts, () => 0.999), 799);
    assert.equal(reconnectDelay(20, opts, () => 0), 5_000);
    assert.ok(reconnectDelay(20, opts, () => 0.999) < 10_000);
  });

  it('paces sends with a token bucket: a burst, then the refill rate, first come first served', async () => {
    let now = 0;
    const slept: number[] = [];
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 4, now: () => now, sleep: async (ms) => { slept.push(ms); now += ms; } });
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((i) => bucket.take().then(() => order.push(i))));
    assert.deepEqual(order, [1, 2, 3, 4]);
    assert.deepEqual(slept, [250, 250]);
    assert.throws(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 }), RangeError);
  });

  it('reads Set-Cookie expiry and the upload response shape', () => {
    assert.deepEqual(parseSetCookie('wd=1x2; Path=/; Max-Age=10', 1000), { name: 'wd', value: '1x2', expiresAt: 11_000 });
    assert.deepEqual(parseSetCookie('c_user=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; path=/', 5), { name: 'c_user', value: 'deleted', expiresAt: 1000 });
    assert.equal(parseSetCookie('garbage', 0), undefined);
    assert.deepEqual(parseUploadResponse('for (;;);{"payload":{"metadata":{"0":{"video_id":"123456"}}}}'), { fbid: '123456', kind: 'video' });
    assert.throws(() => parseUploadResponse('for (;;);{"error":1357004,"errorSummary":"nope"}'), /nope/);
    assert.throws(() => parseUploadResponse('for (;;);{"payload":{}}'), /no attachment id/);
  });

  it('maps emulator ids both ways and keeps big integers exact', () => {
    assert.equal(sandboxMessageId(messageIdOf('g:7/12')), 'g:7/12');
    assert.equal(sandboxMessageId('mid.$not/valid'), undefined);
    assert.deepEqual(parseThreadKey(groupThreadKey('g:7')!), { group: 'g:7' });
    assert.deepEqual(parseThreadKey('15550000001'), { user: '15550000001' });
    assert.deepEqual(parseJSONExact('{"a":9223372036854775807,"b":"x:12345678901234567,","c":-1.5e3}'), { a: '9223372036854775807', b: 'x:12345678901234567,', c: -1500 });
  });
});
