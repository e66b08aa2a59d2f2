import assert from 'node:assert/strict';
import { contentToFormatted, formattedToContent, stripReplyFallback } from '../../shared/src/matrix/content.js';

// Ghosts are @sandbox_<remote id>:example.org; the mapping is what the core passes in.
const GHOST = /^@sandbox_([a-z0-9]+):example\.org$/;
const toRemote = (mxid: string): string | undefined => GHOST.exec(mxid)?.[1];
const toMatrix = (remote: string): string | undefined => (remote === 'unknown' ? undefined : `@sandbox_${remote}:example.org`);

describe('Matrix content <-> FormattedText with mentions', () => {
  describe('contentToFormatted', () => {
    it('turns a pill of a ghost into a mention entity with the remote id', () => {
      const ft = contentToFormatted({
        msgtype: 'm.text', body: 'Bob: hi',
        format: 'org.matrix.custom.html', formatted_body: '<a href="https://matrix.to/#/@sandbox_bob:example.org">Bob</a>: hi',
      }, toRemote);
      assert.equal(ft.text, 'Bob: hi');
      assert.deepEqual(ft.entities, [{ type: 'mention', offset: 0, length: 3, userId: 'bob' }]);
    });

    it('understands percent-encoded permalinks', () => {
      const ft = contentToFormatted({
        body: 'x', format: 'org.matrix.custom.html',
        formatted_body: 'hey <a href="https://matrix.to/#/%40sandbox_carol%3Aexample.org">Carol</a>',
      }, toRemote);
      assert.equal(ft.text, 'hey Carol');
      assert.deepEqual(ft.entities, [{ type: 'mention', offset: 4, length: 5, userId: 'carol' }]);
    });

    it('keeps a pill of a user the mapper does not know as plain text', () => {
      const ft = contentToFormatted({
        body: 'Dave: hi', format: 'org.matrix.custom.html',
        formatted_body: '<a href="https://matrix.to/#/@dave:other.org">Dave</a>: <b>hi</b>',
      }, toRemote);
      assert.equal(ft.text, 'Dave: hi');
      assert.deepEqual(ft.entities, [{ type: 'bold', offset: 6, length: 2 }]);
    });

    it('strips the reply fallback from a plain body of a reply', () => {
      const ft = contentToFormatted({
        msgtype: 'm.text', body: '> <@alice:example.org> the original\n> second quoted line\n\nmy answer\n> not a fallback',
        'm.relates_to': { 'm.in_reply_to': { event_id: '$orig' } },
      }, toRemote);
      assert.deepEqual(ft, { text: 'my answer\n> not a fallback', entities: [] });
    });

    it('keeps a quote that starts a plain body of a message that is not a reply', () => {
      const body = '> a quote someone typed\n\nand a comment';
      assert.deepEqual(contentToFormatted({ msgtype: 'm.text', body }, toRemote), { text: body, entities: [] });
      assert.deepEqual(contentToFormatted({ msgtype: 'm.text', body: '> only a quote' }, toRemote), { text: '> only a quote', entities: [] });
    });

    it('drops the <mx-reply> fallback from HTML', () => {
      const ft = contentToFormatted({
        body: '> <@a:b> q\n\nanswer', format: 'org.matrix.custom.html',
        formatted_body: '<mx-reply><blockquote><a href="https://matrix.to/#/@sandbox_bob:example.org">Bob</a> quoted</blockquote></mx-reply>answer',
      }, toRemote);
      assert.deepEqual(ft, { text: 'answer', entities: [] });
    });

    it('reads a plain body without a fallback unchanged, and a missing body as empty', () => {
      assert.deepEqual(contentToFormatted({ body: '>not quoted\nline' }, toRemote), { text: '>not quoted\nline', entities: [] });
      assert.deepEqual(contentToFormatted({ msgtype: 'm.text' }, toRemote), { text: '', entities: [] });
    });
  });

  describe('formattedToContent', () => {
    it('writes a mention of a remote user as a pill of its ghost and fills m.mentions.user_ids', () => {
      const c = formattedToContent({ text: 'hi Bob and Bob', entities: [
        { type: 'mention', offset: 3, length: 3, userId: 'bob' },
        { type: 'mention', offset: 11, length: 3, userId: 'bob' },
      ] }, toMatrix);
      assert.equal(c.msgtype, 'm.text');
      assert.equal(c.body, 'hi Bob and Bob');
      assert.equal(c.format, 'org.matrix.custom.html');
      assert.match(String(c.formatted_body), /<a href="https:\/\/matrix\.to\/#\/%40sandbox_bob%3Aexample\.org">Bob<\/a>/);
      assert.deepEqual(c['m.mentions'], { user_ids: ['@sandbox_bob:example.org'] });
    });

    it('turns a mention of an unknown remote user into plain text with empty m.mentions', () => {
      const c = formattedToContent({ text: 'hi Zed', entities: [{ type: 'mention', offset: 3, length: 3, userId: 'unknown' }] }, toMatrix);
      assert.deepEqual(c, { msgtype: 'm.text', body: 'hi Zed', 'm.mentions': {} });
    });

    it('sets m.mentions.room for a room mention and keeps the msgtype asked for', () => {
      const c = formattedToContent({ text: '@room look', entities: [{ type: 'room_mention', offset: 0, length: 5 }] }, toMatrix, 'm.notice');
      assert.equal(c.msgtype, 'm.notice');
      assert.deepEqual(c['m.mentions'], { room: true });
    });

    it('round-trips a mention through Matrix and back', () => {
      const c = formattedToContent({ text: 'ping carol', entities: [{ type: 'mention', offset: 5, length: 5, userId: 'carol' }] }, toMatrix);
      assert.deepEqual(contentToFormatted(c, toRemote), { text: 'ping carol', entities: [{ type: 'mention', offset: 5, length: 5, userId: 'carol' }] });
    });
  });

  it('stripReplyFallback removes the leading quoted lines and one blank line, nothing else', () => {
    assert.equal(stripReplyFallback('> <@a:b> q\n\n\nkept blank above'), '\nkept blank above');
    assert.equal(stripReplyFallback('no fallback\n> later quote'), 'no fallback\n> later quote');
  });
});
