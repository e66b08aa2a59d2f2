/**
 * Regressions for what the converter fuzzing (test/fuzz, docs/fuzzing.md) found in the core's
 * Matrix HTML converters and content mapping, one test per fix.
 */
import assert from 'node:assert/strict';
import {
  cleanFormattedText,
  formattedToHtml,
  htmlToFormatted,
  safeLinkUrl,
  sanitizeHtml,
  type FormattedText,
} from '../../shared/src/matrix/format/index.js';
import { contentToFormatted } from '../../shared/src/matrix/content.js';

// eslint-disable-next-line no-control-regex -- asserting that control characters are absent
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('format fixes found by fuzzing', () => {
  describe('safeLinkUrl refuses C1 controls and lone surrogates', () => {
    it('refuses a URL holding a C1 control or a surrogate half, keeps a proper astral character', () => {
      assert.equal(safeLinkUrl('http://x/\u009f'), undefined);
      assert.equal(safeLinkUrl('https://e.org/\u0085a'), undefined);
      assert.equal(safeLinkUrl('https://e.org/\ud800'), undefined);
      assert.equal(safeLinkUrl('https://e.org/\udfffx'), undefined);
      assert.equal(safeLinkUrl('https://e.org/😀'), 'https://e.org/😀');
    });

    it('an empty anchor with such an href no longer puts the control character in the text', () => {
      // Before: the URL became the link text unchecked, "http:\u009f".
      const ft = htmlToFormatted('<a href="http:\u009f"></a> after');
      assert.doesNotMatch(ft.text, CONTROL);
      assert.deepEqual(ft, { text: ' after', entities: [] });
    });

    it('formattedToHtml drops a link whose URL holds a lone surrogate (the event could not be encoded)', () => {
      const out = formattedToHtml({ text: 'see', entities: [{ type: 'link', offset: 0, length: 3, url: 'http://e.org/\udfff' }] });
      assert.deepEqual(out, { body: 'see' });
    });
  });

  describe('spaces before a final <br> are not left as trailing whitespace', () => {
    it('drops them when nothing follows the break', () => {
      // Before: " " and "! ", which read back differently once written as HTML again.
      assert.deepEqual(htmlToFormatted('<br> <br>'), { text: '', entities: [] });
      assert.deepEqual(htmlToFormatted('<code>! </br>'), { text: '!', entities: [{ type: 'code', offset: 0, length: 1 }] });
      assert.equal(htmlToFormatted('a <br>').text, 'a');
    });

    it('keeps them when text follows, as before', () => {
      assert.equal(htmlToFormatted('a <br>b').text, 'a \nb');
      assert.equal(htmlToFormatted('a  <br><br>b').text, 'a  \n\nb');
      assert.equal(htmlToFormatted('<br> <br>x').text, ' \nx');
      const ft: FormattedText = { text: 'a \nb', entities: [{ type: 'bold', offset: 0, length: 1 }] };
      assert.deepEqual(htmlToFormatted(formattedToHtml(ft).formatted_body ?? ''), ft);
    });
  });

  describe('a plain body is cleaned like HTML', () => {
    it('removes control characters and replaces lone surrogates in a body without formatted_body', () => {
      // Before: "a\u0000b\rc\u001b" reached the network unchanged.
      const ft = contentToFormatted({ msgtype: 'm.text', body: 'a\u0000b\r\nc\u001b[31m\ud800' }, () => undefined);
      assert.deepEqual(ft, { text: 'ab\nc[31m\ufffd', entities: [] });
    });

    it('cleans a reply body after stripping its fallback', () => {
      const content = { msgtype: 'm.text', body: '> <@a:s> quoted\n\nreal\u0007', 'm.relates_to': { 'm.in_reply_to': { event_id: '$x' } } };
      assert.equal(contentToFormatted(content, () => undefined).text, 'real');
    });
  });

  it('htmlToFormatted and sanitizeHtml take an object without a prototype (String() throws on it)', () => {
    const odd = Object.create(null) as string;
    assert.deepEqual(htmlToFormatted(odd), { text: '', entities: [] });
    assert.equal(sanitizeHtml(odd), '');
    assert.equal(htmlToFormatted(42 as unknown as string).text, '42');
  });

  describe('cleanFormattedText', () => {
    it('moves entities past removed characters and keeps the same object when clean', () => {
      const ft: FormattedText = {
        text: '\u0001ab\u0002cd\u0003',
        entities: [
          { type: 'bold', offset: 1, length: 5 },
          { type: 'italic', offset: 4, length: 2 },
          { type: 'code', offset: 0, length: 1 },
        ],
      };
      assert.deepEqual(cleanFormattedText(ft), {
        text: 'abcd',
        entities: [
          { type: 'bold', offset: 0, length: 4 },
          { type: 'italic', offset: 2, length: 2 },
        ],
      });
      const clean: FormattedText = { text: 'abc', entities: [{ type: 'bold', offset: 0, length: 3 }] };
      assert.equal(cleanFormattedText(clean), clean);
    });

    it('replaces lone surrogates one for one, so offsets stay', () => {
      const out = cleanFormattedText({ text: 'a\ud800b', entities: [{ type: 'bold', offset: 2, length: 1 }] });
      assert.deepEqual(out, { text: 'a\ufffdb', entities: [{ type: 'bold', offset: 2, length: 1 }] });
    });
  });
});
