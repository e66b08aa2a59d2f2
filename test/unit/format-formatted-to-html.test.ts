import assert from 'node:assert/strict';
import {
  escapeHtml,
  formattedToHtml,
  formattedToPlain,
  htmlToFormatted,
  isWellFormed,
  normalizeEntities,
  plain,
  type FormattedText,
  type TextEntity,
} from '../../shared/src/matrix/format/index.js';

const e = (type: TextEntity['type'], offset: number, length: number, extra: Partial<TextEntity> = {}): TextEntity => ({
  type,
  offset,
  length,
  ...extra,
});

describe('formattedToHtml', () => {
  it('plain text has no formatted_body, even with newlines', () => {
    assert.deepEqual(formattedToHtml(plain('a <b>\nc')), { body: 'a <b>\nc' });
  });

  it('escapes & < > " \' in text', () => {
    const out = formattedToHtml({ text: `<script>"x" & 'y'</script>`, entities: [e('bold', 0, 8)] });
    assert.equal(out.formatted_body, '<strong>&lt;script&gt;</strong>&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
    assert.equal(out.body, `<script>"x" & 'y'</script>`);
  });

  it('renders each entity type', () => {
    const cases: [TextEntity, string][] = [
      [e('bold', 0, 1), '<strong>x</strong>'],
      [e('italic', 0, 1), '<em>x</em>'],
      [e('underline', 0, 1), '<u>x</u>'],
      [e('strikethrough', 0, 1), '<del>x</del>'],
      [e('code', 0, 1), '<code>x</code>'],
      [e('spoiler', 0, 1), '<span data-mx-spoiler>x</span>'],
      [e('blockquote', 0, 1), '<blockquote>x</blockquote>'],
      [e('pre', 0, 1), '<pre><code>x</code></pre>'],
      [e('pre', 0, 1, { language: 'rust' }), '<pre><code class="language-rust">x</code></pre>'],
      [e('link', 0, 1, { url: 'https://e.org/?a=1&b="2"' }), '<a href="https://e.org/?a=1&amp;b=&quot;2&quot;">x</a>'],
      [e('mention', 0, 1, { userId: '@al/ice:ex.org' }), '<a href="https://matrix.to/#/%40al%2Fice%3Aex.org">x</a>'],
    ];
    for (const [entity, html] of cases) {
      assert.equal(formattedToHtml({ text: 'x', entities: [entity] }).formatted_body, html, entity.type);
    }
  });

  it('newlines become <br> except inside pre', () => {
    const out = formattedToHtml({ text: 'a\nb\ncode\n  x\nc', entities: [e('bold', 0, 1), e('pre', 4, 8)] });
    assert.equal(out.formatted_body, '<strong>a</strong><br>b<br><pre><code>code\n  x</code></pre>c');
  });

  it('reproduces nesting from containment, whatever the input order', () => {
    const out = formattedToHtml({ text: 'abcdef', entities: [e('italic', 2, 2), e('underline', 3, 1), e('bold', 0, 6)] });
    assert.equal(out.formatted_body, '<strong>ab<em>c<u>d</u></em>ef</strong>');
  });

  it('drops partially overlapping, out-of-range and malformed entities without throwing', () => {
    const entities = [
      e('bold', 0, 3),
      e('italic', 2, 3), // overlaps bold partially
      e('underline', 5, 10), // past the end
      e('code', -1, 2),
      e('strikethrough', 1, 0),
      e('spoiler', 0.5, 1),
      { type: 'blink', offset: 0, length: 1 } as unknown as TextEntity,
      null as unknown as TextEntity,
    ];
    const out = formattedToHtml({ text: 'abcdef', entities });
    assert.equal(out.formatted_body, '<strong>abc</strong>def');
  });

  it('drops entities that would cut a surrogate pair', () => {
    assert.deepEqual(formattedToHtml({ text: '😀', entities: [e('bold', 0, 1)] }), { body: '😀' });
    assert.equal(formattedToHtml({ text: '😀', entities: [e('bold', 0, 2)] }).formatted_body, '<strong>😀</strong>');
  });

  it('renders disallowed links and invalid mentions as plain text', () => {
    for (const entity of [
      e('link', 0, 1, { url: 'javascript:alert(1)' }),
      e('link', 0, 1, { url: 'data:text/html,x' }),
      e('link', 0, 1),
      e('mention', 0, 1, { userId: 'not-an-id' }),
    ]) {
      assert.deepEqual(formattedToHtml({ text: 'x', entities: [entity] }), { body: 'x' });
    }
  });

  it('does not nest links', () => {
    const out = formattedToHtml({
      text: 'ab',
      entities: [e('link', 0, 2, { url: 'https://a.org' }), e('mention', 1, 1, { userId: '@u:s.org' }), e('bold', 1, 1)],
    });
    assert.equal(out.formatted_body, '<a href="https://a.org">a<strong>b</strong></a>');
  });

  it('room mentions are plain @room in HTML too', () => {
    assert.deepEqual(formattedToHtml({ text: '@room hi', entities: [e('room_mention', 0, 5)] }), { body: '@room hi' });
  });

  it('ignores entities inside code and pre, which are literal', () => {
    const out = formattedToHtml({ text: 'a*b', entities: [e('code', 0, 3), e('bold', 1, 1)] });
    assert.equal(out.formatted_body, '<code>a*b</code>');
  });

  it('removes control characters from body and HTML', () => {
    const out = formattedToHtml({ text: 'a\u0000b\u0008c', entities: [e('bold', 0, 5)] });
    assert.equal(out.body, 'abc');
    assert.equal(out.formatted_body, '<strong>abc</strong>');
  });

  it('formattedToPlain returns the text for the body', () => {
    assert.equal(formattedToPlain({ text: 'Alice, hi', entities: [e('mention', 0, 5, { userId: '@a:b.c' })] }), 'Alice, hi');
  });

  it('escapeHtml escapes the five HTML characters', () => {
    assert.equal(escapeHtml(`&<>"'x`), '&amp;&lt;&gt;&quot;&#39;x');
  });

  it('normalizeEntities sorts outer first and isWellFormed detects overlaps', () => {
    assert.deepEqual(normalizeEntities('abcd', [e('italic', 1, 1), e('bold', 0, 4)]), [e('bold', 0, 4), e('italic', 1, 1)]);
    assert.equal(isWellFormed({ text: 'abcd', entities: [e('bold', 0, 2), e('italic', 1, 2)] }), false);
    assert.equal(isWellFormed({ text: 'abcd', entities: [e('bold', 0, 2), e('italic', 0, 2)] }), true);
  });
});

describe('round trip: formatted -> html -> formatted', () => {
  const cases: [string, FormattedText][] = [
    ['inline styles', { text: 'bold italic under struck', entities: [e('bold', 0, 4), e('italic', 5, 6), e('underline', 12, 5), e('strikethrough', 18, 6)] }],
    ['nesting', { text: 'one two three', entities: [e('bold', 0, 13), e('italic', 4, 9), e('underline', 8, 5)] }],
    ['same range nesting', { text: 'x y', entities: [e('bold', 0, 3), e('italic', 0, 3)] }],
    ['link and mention', { text: 'see docs, Alice', entities: [e('link', 4, 4, { url: 'https://e.org/a?b=1&c=2' }), e('mention', 10, 5, { userId: '@alice:example.org' })] }],
    ['spoiler and code', { text: 'a secret and some `code`', entities: [e('spoiler', 2, 6), e('code', 18, 6)] }],
    ['newlines and spaces', { text: 'line one\n\n  indented\ttab\nlast  two', entities: [e('bold', 0, 4)] }],
    ['pre with language', { text: 'intro\nfn main() {\n    x < y && z\n}\nafter', entities: [e('pre', 6, 28, { language: 'rust' })] }],
    ['pre with blank lines around', { text: 'a\n\ncode\n\nb', entities: [e('pre', 3, 4)] }],
    ['blockquote', { text: 'he said\nquoted text\nreply', entities: [e('blockquote', 8, 11), e('italic', 15, 4)] }],
    ['two blockquotes', { text: 'q1\nq2', entities: [e('blockquote', 0, 2), e('blockquote', 3, 2)] }],
    ['emoji offsets', { text: '😀 👍🏽 ok 😀', entities: [e('bold', 3, 4), e('italic', 8, 2), e('spoiler', 11, 2)] }],
    ['html characters', { text: '<b> & "quotes" \'s', entities: [e('code', 0, 3)] }],
    ['room mention', { text: 'hi @room!', entities: [e('bold', 0, 2), e('room_mention', 3, 5)] }],
  ];
  for (const [name, ft] of cases) {
    it(name, () => {
      const html = formattedToHtml(ft);
      assert.equal(html.body, ft.text);
      assert.ok(html.formatted_body !== undefined);
      const back = htmlToFormatted(html.formatted_body);
      assert.equal(back.text, ft.text);
      assert.deepEqual(back.entities, normalizeEntities(ft.text, ft.entities));
    });
  }
});
