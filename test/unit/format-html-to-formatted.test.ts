import assert from 'node:assert/strict';
import { htmlToFormatted, type TextEntity } from '../../shared/src/matrix/format/index.js';

/** The substring each entity covers, with its type, for readable assertions. */
function spans(html: string): [string, string][] {
  const ft = htmlToFormatted(html);
  return ft.entities.map((e) => [e.type, ft.text.slice(e.offset, e.offset + e.length)]);
}

describe('htmlToFormatted', () => {
  describe('inline tags', () => {
    const cases: [string, TextEntity['type']][] = [
      ['b', 'bold'],
      ['strong', 'bold'],
      ['i', 'italic'],
      ['em', 'italic'],
      ['u', 'underline'],
      ['del', 'strikethrough'],
      ['s', 'strikethrough'],
      ['strike', 'strikethrough'],
      ['code', 'code'],
    ];
    for (const [tag, type] of cases) {
      it(`<${tag}> becomes ${type}`, () => {
        assert.deepEqual(htmlToFormatted(`a <${tag}>x y</${tag}> b`), {
          text: 'a x y b',
          entities: [{ type, offset: 2, length: 3 }],
        });
      });
    }

    it('span data-mx-spoiler becomes spoiler, a plain span nothing', () => {
      assert.deepEqual(spans('<span data-mx-spoiler="reason">secret</span> <span>plain</span>'), [['spoiler', 'secret']]);
      assert.deepEqual(spans('<span data-mx-spoiler>s</span>'), [['spoiler', 's']]);
      assert.deepEqual(spans('<font data-mx-spoiler>f</font>'), [['spoiler', 'f']]);
    });

    it('font, sup, sub keep their text without entities', () => {
      assert.deepEqual(htmlToFormatted('<font color="#ff0000">red</font> x<sup>2</sup> H<sub>2</sub>O'), {
        text: 'red x2 H2O',
        entities: [],
      });
    });

    it('img becomes its alt text, or nothing', () => {
      assert.deepEqual(htmlToFormatted('a <img src="mxc://s/m" alt=":cat:"> b <img src="mxc://s/n"> c').text, 'a :cat: b c');
    });

    it('nested entities are listed outer first and nest properly', () => {
      const ft = htmlToFormatted('<b>bold <i>both <u>all</u></i></b>');
      assert.equal(ft.text, 'bold both all');
      assert.deepEqual(ft.entities, [
        { type: 'bold', offset: 0, length: 13 },
        { type: 'italic', offset: 5, length: 8 },
        { type: 'underline', offset: 10, length: 3 },
      ]);
    });

    it('same-range entities keep the outer one first', () => {
      assert.deepEqual(spans('<b><i>x</i></b>'), [
        ['bold', 'x'],
        ['italic', 'x'],
      ]);
    });

    it('empty elements produce no entity', () => {
      assert.deepEqual(htmlToFormatted('a<b></b><i> </i>b'), { text: 'a b', entities: [] });
    });
  });

  describe('blocks and whitespace', () => {
    it('paragraphs are separated by one empty line, with no blank runs at either end', () => {
      assert.equal(htmlToFormatted('<p>one</p>\n<p>two</p>\n\n<p></p><p>three</p>\n').text, 'one\n\ntwo\n\nthree');
    });

    it('div, blockquote, pre and headings start lines; headings are bold', () => {
      const ft = htmlToFormatted('<div>a</div><h2>Title</h2>text<div><div>b</div></div>');
      assert.equal(ft.text, 'a\nTitle\ntext\nb');
      assert.deepEqual(ft.entities, [{ type: 'bold', offset: 2, length: 5 }]);
    });

    it('br is a line break, and repeated br keeps empty lines', () => {
      assert.equal(htmlToFormatted('<br>a<br>b<br><br>c<br>').text, 'a\nb\n\nc');
    });

    it('br after a block adds an empty line, as browsers render it', () => {
      assert.equal(htmlToFormatted('<blockquote>q</blockquote><br>b').text, 'q\n\nb');
      assert.equal(htmlToFormatted('a<br><blockquote>q</blockquote>').text, 'a\nq');
    });

    it('source newlines collapse to one space, typed spaces and tabs are kept', () => {
      assert.equal(htmlToFormatted('a\n  b  c\td').text, 'a b  c\td');
      assert.equal(htmlToFormatted('<p>\n  x\n</p>').text, 'x');
    });

    it('hr is a line of its own', () => {
      assert.equal(htmlToFormatted('a<hr>b').text, 'a\n---\nb');
    });

    it('blockquote becomes a blockquote entity over its content only', () => {
      const ft = htmlToFormatted('before<blockquote><p>quoted <b>x</b></p></blockquote><p>after</p>');
      assert.equal(ft.text, 'before\nquoted x\n\nafter');
      assert.deepEqual(ft.entities, [
        { type: 'blockquote', offset: 7, length: 8 },
        { type: 'bold', offset: 14, length: 1 },
      ]);
    });

    it('tables become rows of cells separated by " | ", th in bold', () => {
      const ft = htmlToFormatted(
        '<table><caption>Cap</caption><thead><tr><th>h1</th><th>h2</th></tr></thead>' +
          '<tbody><tr><td>a</td>\n<td>b</td></tr></tbody></table>',
      );
      assert.equal(ft.text, 'Cap\nh1 | h2\na | b');
      assert.deepEqual(
        ft.entities.map((e) => e.type),
        ['bold', 'bold'],
      );
    });

    it('details and summary are blocks', () => {
      assert.equal(htmlToFormatted('<details><summary>More</summary>hidden</details>').text, 'More\nhidden');
    });
  });

  describe('lists', () => {
    it('ul items are bulleted lines', () => {
      assert.equal(htmlToFormatted('intro<ul>\n<li>one</li>\n<li>two</li>\n</ul>outro').text, 'intro\n• one\n• two\noutro');
    });

    it('ol items are numbered, honouring start', () => {
      assert.equal(htmlToFormatted('<ol><li>a</li><li>b</li></ol>').text, '1. a\n2. b');
      assert.equal(htmlToFormatted('<ol start="9"><li>a</li><li>b</li></ol>').text, '9. a\n10. b');
      assert.equal(htmlToFormatted('<ol start="x"><li>a</li></ol>').text, '1. a');
    });

    it('nested lists are indented two spaces per level', () => {
      const html = '<ul><li>top<ol><li>first<ul><li>deep</li></ul></li><li>second</li></ol></li><li>last</li></ul>';
      assert.equal(htmlToFormatted(html).text, '• top\n  1. first\n    • deep\n  2. second\n• last');
    });

    it('formatting inside an item does not cover the marker', () => {
      const ft = htmlToFormatted('<ul><li><b>bold</b> item</li></ul>');
      assert.equal(ft.text, '• bold item');
      assert.deepEqual(ft.entities, [{ type: 'bold', offset: 2, length: 4 }]);
    });

    it('unclosed li elements close each other', () => {
      assert.equal(htmlToFormatted('<ul><li>a<li>b</ul>').text, '• a\n• b');
    });
  });

  describe('code', () => {
    it('pre > code becomes pre with the language, text literal', () => {
      const ft = htmlToFormatted('<pre><code class="language-typescript">let a  = 1;\n\tif (a &lt; 2) {}\n</code></pre>');
      assert.equal(ft.text, 'let a  = 1;\n\tif (a < 2) {}');
      assert.deepEqual(ft.entities, [{ type: 'pre', offset: 0, length: ft.text.length, language: 'typescript' }]);
    });

    it('pre without code has no language; the newline after <pre> is not content', () => {
      assert.deepEqual(htmlToFormatted('x<pre>\nline1\nline2</pre>y'), {
        text: 'x\nline1\nline2\ny',
        entities: [{ type: 'pre', offset: 2, length: 11 }],
      });
    });

    it('nothing is formatted inside code or pre', () => {
      assert.deepEqual(spans('<code><b>x</b> <a href="https://e.org">l</a></code>'), [['code', 'x l']]);
      assert.deepEqual(spans('<pre><code><i>y</i></code></pre>'), [['pre', 'y']]);
    });

    it('a bad language class is ignored', () => {
      assert.deepEqual(htmlToFormatted('<pre><code class="language-<x>">c</code></pre>').entities, [
        { type: 'pre', offset: 0, length: 1 },
      ]);
    });
  });

  describe('links and mentions', () => {
    it('a href with an allowed scheme becomes a link over the anchor text', () => {
      for (const url of ['https://e.org/p?q=1&r=2', 'http://e.org', 'ftp://e.org/f', 'mailto:a@e.org', 'magnet:?xt=urn:x']) {
        const ft = htmlToFormatted(`see <a href="${url.replace(/&/g, '&amp;')}">here</a>`);
        assert.deepEqual(ft, { text: 'see here', entities: [{ type: 'link', offset: 4, length: 4, url }] });
      }
    });

    it('disallowed or relative links keep their text and lose the link', () => {
      for (const href of ['javascript:alert(1)', 'JavaScript:alert(1)', ' java\tscript:x', 'data:text/html,x', 'vbscript:x', '/relative', '']) {
        assert.deepEqual(htmlToFormatted(`<a href="${href}">t</a>`), { text: 't', entities: [] }, href);
      }
      assert.deepEqual(htmlToFormatted('<a>t</a>'), { text: 't', entities: [] });
    });

    it('an anchor without text shows its URL', () => {
      assert.deepEqual(htmlToFormatted('<a href="https://e.org"></a>'), {
        text: 'https://e.org',
        entities: [{ type: 'link', offset: 0, length: 13, url: 'https://e.org' }],
      });
    });

    it('matrix.to user links become mentions, encoded or not', () => {
      for (const href of [
        'https://matrix.to/#/@alice:example.org',
        'https://matrix.to/#/%40alice%3Aexample.org',
        'https://matrix.to/#/%40alice%3Aexample.org?via=example.org',
      ]) {
        assert.deepEqual(
          htmlToFormatted(`hi <a href="${href}">Alice</a>`),
          { text: 'hi Alice', entities: [{ type: 'mention', offset: 3, length: 5, userId: '@alice:example.org' }] },
          href,
        );
      }
    });

    it('encoded special characters in the user id are decoded', () => {
      const ft = htmlToFormatted('<a href="https://matrix.to/#/%40w_%2F%3D.x%3As.org%3A8448">W</a>');
      assert.equal(ft.entities[0]?.userId, '@w_/=.x:s.org:8448');
    });

    it('matrix: URIs become mentions', () => {
      assert.deepEqual(htmlToFormatted('<a href="matrix:u/bob:ex.org?action=chat">Bob</a>').entities, [
        { type: 'mention', offset: 0, length: 3, userId: '@bob:ex.org' },
      ]);
    });

    it('invalid user ids are not mentions; room permalinks stay links', () => {
      assert.deepEqual(htmlToFormatted('<a href="https://matrix.to/#/@bad">x</a>').entities, [
        { type: 'link', offset: 0, length: 1, url: 'https://matrix.to/#/@bad' },
      ]);
      assert.deepEqual(htmlToFormatted('<a href="https://matrix.to/#/%E0%A4%A">x</a>').entities[0]?.type, 'link');
      assert.deepEqual(htmlToFormatted('<a href="matrix:u/nocolon">x</a>').entities, []);
      assert.equal(htmlToFormatted('<a href="https://matrix.to/#/!r:s.org/$e">x</a>').entities[0]?.type, 'link');
    });

    it('links do not nest', () => {
      assert.deepEqual(spans('<a href="https://a.org">a <a href="https://b.org">b</a></a>'), [['link', 'a b']]);
    });

    it('@room in text is a room mention, not inside words, user ids or code', () => {
      assert.deepEqual(spans('@room hey @room: <b>@room</b>'), [
        ['room_mention', '@room'],
        ['room_mention', '@room'],
        ['bold', '@room'],
        ['room_mention', '@room'],
      ]);
      assert.deepEqual(spans('x@room @roomba @room:example.org <code>@room</code>'), [['code', '@room']]);
      assert.deepEqual(spans('<b>@ro</b>om'), [['bold', '@ro']]);
    });
  });

  describe('dropped content', () => {
    it('the mx-reply fallback is removed with its content', () => {
      const html =
        '<mx-reply><blockquote><a href="https://matrix.to/#/!r:s/$e">In reply to</a> ' +
        '<a href="https://matrix.to/#/@a:s">@a:s</a><br>original</blockquote></mx-reply>the reply';
      assert.deepEqual(htmlToFormatted(html), { text: 'the reply', entities: [] });
    });

    it('script, style, head and title content is dropped', () => {
      assert.equal(
        htmlToFormatted('<head><title>T</title></head><style>p{}</style>a<script>alert("<b>x</b>")</script>b').text,
        'ab',
      );
    });

    it('unknown tags are dropped, their text kept', () => {
      assert.deepEqual(htmlToFormatted('<section><custom x="1">kept</custom></section> <blink>too</blink>'), {
        text: 'kept too',
        entities: [],
      });
    });
  });

  describe('text', () => {
    it('decodes character references', () => {
      assert.equal(htmlToFormatted('&amp; &lt;b&gt; &quot;q&quot; &#39; &#x1F600; &eacute; &copy').text, '& <b> "q" \' 😀 é ©');
    });

    it('counts offsets in UTF-16 code units', () => {
      const ft = htmlToFormatted('😀😀 <b>👍🏽ok</b> <i>é</i>');
      assert.equal(ft.text, '😀😀 👍🏽ok é');
      assert.deepEqual(ft.entities, [
        { type: 'bold', offset: 5, length: 6 },
        { type: 'italic', offset: 12, length: 1 },
      ]);
      assert.equal(ft.text.slice(5, 11), '👍🏽ok');
    });

    it('removes control characters other than \\n and \\t', () => {
      const ft = htmlToFormatted('a\u0000b\u0007c\u001bd\u007fe\u0085f<pre>x\r\ny\tz\u0001</pre>');
      assert.equal(ft.text, 'abcdef\nx\ny\tz');
      // eslint-disable-next-line no-control-regex -- asserting that control characters are absent
      assert.doesNotMatch(ft.text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    });

    it('replaces lone surrogates', () => {
      assert.equal(htmlToFormatted('a\ud800b\udc00c').text, 'a\ufffdb\ufffdc');
    });

    it('cuts input beyond maxLength and ends the text with an ellipsis', () => {
      const ft = htmlToFormatted('<b>0123456789</b>', { maxLength: 8 });
      assert.deepEqual(ft, { text: '01234…', entities: [{ type: 'bold', offset: 0, length: 5 }] });
    });

    it('ignores tags beyond maxDepth but keeps their text', () => {
      const ft = htmlToFormatted('<i><b>x<u>y</u></b></i>', { maxDepth: 2 });
      assert.equal(ft.text, 'xy');
      assert.deepEqual(
        ft.entities.map((e) => e.type),
        ['italic', 'bold'],
      );
    });
  });

  describe('malformed HTML', () => {
    it('closes unclosed tags at the end', () => {
      assert.deepEqual(spans('<b>bold <i>both'), [
        ['bold', 'bold both'],
        ['italic', 'both'],
      ]);
    });

    it('ignores stray closing tags', () => {
      assert.deepEqual(htmlToFormatted('a</b></i></p>b</li>'), { text: 'a\n\nb', entities: [] });
    });

    it('resolves misnested tags into proper nesting', () => {
      const ft = htmlToFormatted('<b>1<i>2</b>3</i>');
      assert.equal(ft.text, '123');
      assert.deepEqual(ft.entities, [
        { type: 'bold', offset: 0, length: 2 },
        { type: 'italic', offset: 1, length: 1 },
      ]);
    });

    it('reads unquoted and valueless attributes', () => {
      assert.deepEqual(htmlToFormatted('<a href=https://e.org/x>l</a><span data-mx-spoiler>s</span>').entities, [
        { type: 'link', offset: 0, length: 1, url: 'https://e.org/x' },
        { type: 'spoiler', offset: 1, length: 1 },
      ]);
    });

    it('handles a tag cut by the end of input', () => {
      assert.deepEqual(htmlToFormatted('<b>x</b>y<a href="https://e'), { text: 'xy', entities: [{ type: 'bold', offset: 0, length: 1 }] });
      assert.equal(htmlToFormatted('a <').text, 'a <');
    });

    it('never throws on non-string input from JavaScript callers', () => {
      assert.deepEqual(htmlToFormatted(undefined as unknown as string), { text: '', entities: [] });
    });
  });
});
