import assert from 'node:assert/strict';
import { Parser } from 'htmlparser2';
import {
  ALLOWED_ATTRIBUTES,
  ALLOWED_TAGS,
  formattedToHtml,
  htmlToFormatted,
  isValidEntity,
  isWellFormed,
  sanitizeHtml,
  type FormattedText,
  type TextEntity,
} from '../../shared/src/matrix/format/index.js';
import { pick, rng } from '../helpers/seeded-random.js';


function tagsIn(html: string): string[] {
  return markup(html).map((m) => m.name);
}

function markup(html: string): { name: string; attribs: Record<string, string> }[] {
  const seen: { name: string; attribs: Record<string, string> }[] = [];
  new Parser({ onopentag: (name, attribs) => seen.push({ name, attribs }) }).end(html);
  return seen;
}

/** Asserts what every conversion result must satisfy. */
function assertSound(ft: FormattedText, context: string): void {
  assert.equal(typeof ft.text, 'string', context);
  // eslint-disable-next-line no-control-regex -- asserting that control characters are absent
  assert.doesNotMatch(ft.text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, context);
  for (const e of ft.entities) assert.ok(isValidEntity(ft.text, e), `${context}: ${JSON.stringify(e)}`);
  assert.ok(isWellFormed(ft), `${context}: entities overlap`);
  for (let i = 1; i < ft.entities.length; i++) {
    const [a, b] = [ft.entities[i - 1] as TextEntity, ft.entities[i] as TextEntity];
    assert.ok(a.offset < b.offset || (a.offset === b.offset && a.length >= b.length), `${context}: unsorted`);
  }
}

const SOUP_TAGS = [...ALLOWED_TAGS, 'mx-reply', 'script', 'style', 'title', 'head', 'section', 'svg', 'x-y', 'textarea', 'math'];
const SOUP_ATTRS = [
  'href="https://e.org/a?b=1&amp;c"',
  'href="javascript:alert(1)"',
  'href="https://matrix.to/#/%40u%3As.org"',
  'href="matrix:u/v:s.org"',
  'href=https://unquoted.org',
  'data-mx-spoiler',
  'class="language-ts"',
  'start="7"',
  'src="mxc://s/m"',
  'alt="alt text"',
  'onclick="x()"',
  'style="color:red"',
];
const SOUP_TEXT = [
  'word', ' ', '  ', '\n', '\t', '😀', '👍🏽', '@room', '&amp;', '&lt;', '&#0;', '&#xD800;', '&bogus;', '\u0000', '\u0007',
  '\r\n', '\ud800', '<', '>', '"', "'", 'é', '<!-- c -->', '<![CDATA[x]]>', '<?pi?>', '<!doctype html>',
];

function tagSoup(next: () => number): string {
  const parts: string[] = [];
  const tokens = 1 + Math.floor(next() * 120);
  for (let i = 0; i < tokens; i++) {
    const roll = next();
    if (roll < 0.35) {
      const attrs = next() < 0.5 ? '' : ` ${pick(next, SOUP_ATTRS)}${next() < 0.3 ? ` ${pick(next, SOUP_ATTRS)}` : ''}`;
      parts.push(`<${pick(next, SOUP_TAGS)}${attrs}${next() < 0.05 ? '/' : ''}>`);
    } else if (roll < 0.6) {
      parts.push(`</${pick(next, SOUP_TAGS)}>`);
    } else {
      parts.push(pick(next, SOUP_TEXT));
    }
  }
  const html = parts.join('');
  // Sometimes cut anywhere, even inside a tag or a surrogate pair.
  return next() < 0.2 ? html.slice(0, Math.floor(next() * html.length)) : html;
}

describe('format robustness', () => {
  it('survives 10,000-deep nesting without recursion', () => {
    for (const tag of ['b', 'div', 'blockquote', 'ol', 'span data-mx-spoiler']) {
      const name = tag.split(' ')[0] as string;
      const html = `<${tag}>`.repeat(10000) + 'deep' + `</${name}>`.repeat(10000);
      const ft = htmlToFormatted(html, { maxLength: html.length });
      assert.match(ft.text, /deep$/, tag);
      assert.ok(ft.entities.length <= 64, tag);
      assertSound(ft, tag);
      assert.ok(tagsIn(sanitizeHtml(html, { maxLength: html.length })).length <= 64, tag);
    }
  });

  it('survives deep nesting of lists with the default limits', () => {
    const ft = htmlToFormatted('<ul><li>'.repeat(10000) + 'x');
    assert.equal(ft.text, '…', 'cut before any text');
    const html = '<ul><li>'.repeat(10000) + 'x';
    const deep = htmlToFormatted(html, { maxLength: html.length });
    assert.match(deep.text, /^ +• x$/, 'the item at maxDepth holds the text');
    assert.ok(deep.text.length < 200, 'indent is bounded by maxDepth');
    assertSound(deep, 'lists');
  });

  it('cuts 1 MB of input and completes', () => {
    const unit = '<p>para <b>bold</b> <a href="https://e.org">link</a> 😀</p>';
    const html = unit.repeat(Math.ceil(1_000_000 / unit.length));
    const ft = htmlToFormatted(html);
    assert.ok(ft.text.endsWith('…'));
    assert.ok(ft.text.length < 65536);
    assertSound(ft, '1 MB');
    const out = sanitizeHtml(html);
    assert.ok(out.length < 70000 && out.endsWith('…'));
  });

  it('handles many stray closing tags and attributes', () => {
    const html = '<i>'.repeat(9000) + '</b>'.repeat(9000) + '<b ' + 'a=1 '.repeat(5000) + '>x';
    const ft = htmlToFormatted(html, { maxLength: html.length });
    assert.equal(ft.text, 'x');
    assertSound(ft, 'stray');
  });

  it('random tag soup: no throw, sound entities, allowlisted output (seeded)', () => {
    for (let seed = 1; seed <= 1500; seed++) {
      const next = rng(seed);
      const html = tagSoup(next);
      const context = `seed ${seed}: ${JSON.stringify(html)}`;
      const ft = htmlToFormatted(html, { maxDepth: 1 + Math.floor(next() * 20), maxLength: next() < 0.1 ? 40 : 65536 });
      assertSound(ft, context);

      const out = formattedToHtml(ft);
      assert.equal(out.body, ft.text, context);
      for (const name of tagsIn(out.formatted_body ?? '')) {
        assert.ok(['strong', 'em', 'u', 'del', 'code', 'pre', 'a', 'span', 'blockquote', 'br'].includes(name), context);
        assert.ok(ALLOWED_TAGS.has(name), context);
      }
      assertSound(htmlToFormatted(out.formatted_body ?? ''), `${context} (re-read)`);

      const sanitized = sanitizeHtml(html);
      for (const { name, attribs } of markup(sanitized)) {
        assert.ok(ALLOWED_TAGS.has(name), `${context}: <${name}>`);
        for (const [attr, value] of Object.entries(attribs)) {
          assert.ok((ALLOWED_ATTRIBUTES[name] ?? []).includes(attr), `${context}: ${attr} on <${name}>`);
          if (attr === 'href') assert.match(value, /^https?:/, context);
        }
      }
    }
  });

  it('random well-formed formatted text survives the round trip (seeded)', () => {
    const words = ['a', 'bc', 'déf', '😀', '👍🏽', '<x>', '&', '"q"', "it's", '1.', '#'];
    const separators = [' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ', '];
    const inline: TextEntity['type'][] = ['bold', 'italic', 'underline', 'strikethrough', 'spoiler', 'link', 'mention', 'code'];
    for (let seed = 1; seed <= 500; seed++) {
      const next = rng(seed);
      // Words joined by separators; entities start and end on word boundaries.
      const starts: number[] = [];
      const ends: number[] = [];
      let text = '';
      const count = 1 + Math.floor(next() * 12);
      for (let i = 0; i < count; i++) {
        if (i > 0) text += pick(next, separators);
        starts.push(text.length);
        text += pick(next, words);
        ends.push(text.length);
      }
      // Nested entities: a random interval tree over word indexes, built iteratively.
      const entities: TextEntity[] = [];
      // Each range: word indexes, inside code (nothing nests), inside a link (no links nest).
      const ranges: [number, number, boolean, boolean][] = [[0, count - 1, false, false]];
      while (ranges.length > 0 && entities.length < 10) {
        const [from, to, insideCode, insideLink] = ranges.pop() as [number, number, boolean, boolean];
        if (from > to || insideCode || next() < 0.3) continue;
        const a = from + Math.floor(next() * (to - from + 1));
        const b = a + Math.floor(next() * (to - a + 1));
        const type = pick(next, inline);
        if (insideLink && (type === 'link' || type === 'mention')) continue;
        const entity: TextEntity = { type, offset: starts[a] as number, length: (ends[b] as number) - (starts[a] as number) };
        if (type === 'link') entity.url = 'https://e.org/?q=1&r=<2>';
        if (type === 'mention') entity.userId = '@u/s=x:s.org';
        entities.push(entity);
        const link = insideLink || type === 'link' || type === 'mention';
        ranges.push([a, b, type === 'code', link], [from, a - 1, false, insideLink], [b + 1, to, false, insideLink]);
      }
      const ft: FormattedText = { text, entities };
      const { body, formatted_body: html } = formattedToHtml(ft);
      const back = html === undefined ? { text: body, entities: [] } : htmlToFormatted(html);
      const context = `seed ${seed}: ${JSON.stringify(ft)} -> ${html}`;
      assert.equal(back.text, text, context);
      const key = (e: TextEntity): string => `${e.offset}:${e.length}:${e.type}:${e.url ?? ''}:${e.userId ?? ''}`;
      assert.deepEqual(back.entities.map(key).sort(), entities.map(key).sort(), context);
    }
  });
});
