import assert from 'node:assert/strict';
import { Parser } from 'htmlparser2';
import { ALLOWED_ATTRIBUTES, ALLOWED_TAGS, htmlToFormatted, sanitizeHtml } from '../../shared/src/matrix/format/index.js';

/** Every tag (with its attributes) a standards-style parser sees in `html`. */
function markup(html: string): { name: string; attribs: Record<string, string> }[] {
  const seen: { name: string; attribs: Record<string, string> }[] = [];
  new Parser({ onopentag: (name, attribs) => seen.push({ name, attribs }) }).end(html);
  return seen;
}

function assertOnlyAllowlisted(html: string): void {
  for (const { name, attribs } of markup(html)) {
    assert.ok(ALLOWED_TAGS.has(name), `tag <${name}> in ${html}`);
    for (const [attr, value] of Object.entries(attribs)) {
      assert.ok((ALLOWED_ATTRIBUTES[name] ?? []).includes(attr), `attribute ${attr} on <${name}> in ${html}`);
      if (attr === 'href') assert.match(value, /^(https?|ftp|mailto|magnet):/i);
      if (attr === 'src') assert.match(value, /^mxc:\/\//);
      if (attr === 'class') assert.match(value, /^language-[A-Za-z0-9_+#.-]+$/);
    }
  }
}

describe('sanitizeHtml', () => {
  it('keeps allowlisted tags and attributes', () => {
    const html =
      '<p>a <b>b</b> <a href="https://e.org" target="_blank">l</a> <font data-mx-color="#00ff00">c</font></p>' +
      '<ol start="3"><li>x</li></ol><pre><code class="language-js">1 &lt; 2</code></pre>' +
      '<img src="mxc://s.org/abc" width="32" height="32" alt="e" title="t"><span data-mx-spoiler="r">s</span>';
    assert.equal(sanitizeHtml(html), html);
  });

  it('drops unknown tags and attributes but keeps their text', () => {
    assert.equal(
      sanitizeHtml('<div onclick="x()" style="color:red" class="c"><blink>t</blink><b id="i">b</b></div>'),
      '<div>t<b>b</b></div>',
    );
  });

  it('drops reply fallback, script and style with their content', () => {
    assert.equal(sanitizeHtml('<mx-reply><blockquote>old</blockquote></mx-reply><script>x</script><style>y</style>new'), 'new');
  });

  it('drops links with disallowed schemes, keeping the text', () => {
    assert.equal(sanitizeHtml('<a href="javascript:alert(1)">x</a><a href="data:text/html,y">y</a>'), 'xy');
  });

  it('rewrites matrix: user URIs to matrix.to permalinks', () => {
    assert.equal(sanitizeHtml('<a href="matrix:u/a:b.org">A</a>'), '<a href="https://matrix.to/#/%40a%3Ab.org">A</a>');
  });

  it('keeps img only with an mxc:// source, else its alt text', () => {
    assert.equal(sanitizeHtml('<img src="https://e.org/track.png" alt="pic"><img src="mxc://s/m" onerror="x">'), 'pic<img src="mxc://s/m">');
  });

  it('checks attribute values', () => {
    assert.equal(
      sanitizeHtml('<font color="red;background:url(x)">a</font><ol start="1e9"><li>b</li></ol><code class="x language-py">c</code>'),
      '<font>a</font><ol><li>b</li></ol><code class="language-py">c</code>',
    );
  });

  it('escapes text and attribute values', () => {
    assert.equal(sanitizeHtml('&lt;script&gt; <img src="mxc://s/m" alt="&quot;><script>">'), '&lt;script&gt; <img src="mxc://s/m" alt="&quot;&gt;&lt;script&gt;">');
  });

  it('closes every tag it writes, also for malformed input', () => {
    assert.equal(sanitizeHtml('<b>1<i>2</b>3</i></u><p>x'), '<b>1<i>2</i></b>3<p>x</p>');
  });

  it('drops tags beyond maxDepth and cuts beyond maxLength', () => {
    assert.equal(sanitizeHtml('<b><i><u>x</u></i></b>', { maxDepth: 2 }), '<b><i>x</i></b>');
    assert.equal(sanitizeHtml('<b>0123456789</b>', { maxLength: 8 }), '<b>01234</b>…');
  });

  it('output re-parsed holds only allowlisted tags and attributes', () => {
    const nasty =
      '<svg onload=alert(1)><a xlink:href="javascript:x">s</a></svg><iframe src="https://e.org"></iframe>' +
      '<a href=" javascript:alert(1)">a</a><a href="https://ok.org" onclick="x">b</a><IMG SRC="mxc://s/m" ONERROR=x>' +
      '<table background="x"><tr><td style="x">c</td></tr></table><span data-mx-bg-color="#123456" data-x="y">d</span>' +
      '<object data="x">o</object><form action="x"><input value="v"></form><math><mi>m</mi></math><<b>>';
    const out = sanitizeHtml(nasty);
    assertOnlyAllowlisted(out);
    assert.doesNotMatch(out, /javascript|onload|onerror|onclick|style=/i);
  });

  it('reads the same as the input it came from', () => {
    const html = '<mx-reply>r</mx-reply><h1>T</h1><p>a <b>b</b></p><ul><li>x<li>y</ul><blink>z</blink>';
    assert.deepEqual(htmlToFormatted(sanitizeHtml(html)), htmlToFormatted(html));
  });
});
