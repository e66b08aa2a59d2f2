/**
 * Generators for Matrix `formatted_body` as an attacker writes it: nested trees of allowlisted and
 * other tags with good and hostile attributes, tag soup with broken markup, hostile text and
 * character references, very deep nesting and inputs past the length cap.
 */
import fc from 'fast-check';
import { ALLOWED_TAGS } from '../../shared/src/matrix/format/index.js';
import { hostileText, longText, maybeTruncated, urlArb } from './arbitraries-text.js';

const OTHER_TAGS = [
  'mx-reply', 'script', 'style', 'title', 'head', 'body', 'html', 'section', 'svg', 'math', 'iframe', 'object', 'textarea',
  'xmp', 'noscript', 'template', 'plaintext', 'listing', 'x-y', 'a:b', 'input', 'form', 'select', 'option', 'frameset',
  'image', 'marquee', 'base', 'meta', 'link', 'button', 'video', 'foreignobject',
];

export const tagName: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...ALLOWED_TAGS), weight: 6 },
  { arbitrary: fc.constantFrom(...OTHER_TAGS), weight: 3 },
  { arbitrary: fc.constantFrom(...ALLOWED_TAGS, ...OTHER_TAGS).map((t) => t.toUpperCase()), weight: 1 },
  { arbitrary: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9:-]{0,8}$/), weight: 1 },
);

const ATTR_NAMES = [
  'href', 'src', 'alt', 'title', 'width', 'height', 'start', 'class', 'target', 'color', 'data-mx-color', 'data-mx-bg-color',
  'data-mx-spoiler', 'onclick', 'onerror', 'style', 'id', 'name', 'srcdoc', 'formaction', 'xlink:href', 'HREF', 'data-mx-maths',
];

const attrValue: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: urlArb, weight: 10 },
  { arbitrary: fc.constantFrom('#ff0000', '#FFF', 'red', 'javascript', '_blank', '_top', '0', '1', '-5', '99999999999', '1e3', ' 7 ', 'language-ts', 'language-<x>', 'language-a b', 'x language-py'), weight: 10 },
  { arbitrary: hostileText(16), weight: 10 },
  // Just past the attribute (1,024) and URL (8,192) length caps.
  { arbitrary: fc.constantFrom('x'.repeat(1025), `https://e.org/${'a'.repeat(8200)}`), weight: 1 },
);

const attribute: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...ATTR_NAMES), attrValue, fc.constantFrom('"', "'", '', 'none', 'broken'))
  .map(([name, value, quote]) => {
    if (quote === 'none') return name;
    if (quote === 'broken') return `${name}="${value}`;
    if (quote === '') return `${name}=${value.replace(/[\s>]/g, '')}`;
    return `${name}=${quote}${value.replaceAll(quote, quote === '"' ? '&quot;' : '&#39;')}${quote}`;
  });

/** Text nodes: hostile text plus character references, good and bad. */
const textNode: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: hostileText(24), weight: 6 },
  {
    arbitrary: fc.constantFrom(
      '&amp;', '&lt;', '&gt;', '&quot;', '&#39;', '&nbsp;', '&#0;', '&#x0;', '&#1;', '&#x1b;', '&#127;', '&#x85;', '&#xD800;', '&#xDFFF;',
      '&#x10FFFF;', '&#x110000;', '&#99999999999;', '&bogus;', '&amp', '&lt', '&#', '&#x', '&#x2028;', '&#8238;', '&NotNestedGreaterGreater;',
    ),
    weight: 2,
  },
  { arbitrary: fc.constantFrom('<!-- c -->', '<!--', '-->', '<![CDATA[x]]>', '<?pi x?>', '<!doctype html>', '</>', '<>', '< b>', '<b', '</b', '<a href=', '<<b>>'), weight: 1 },
);

interface HtmlTree {
  node: string;
}

/** A tree of elements serialised with well-formed, missing, mismatched or self-closing ends. */
const htmlTree = fc.letrec<HtmlTree>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: textNode, weight: 1 },
    {
      arbitrary: fc
        .tuple(tagName, fc.array(attribute, { maxLength: 3 }), fc.array(tie('node'), { maxLength: 5, size: 'medium' }), fc.constantFrom('close', 'close', 'close', 'none', 'other', 'self'))
        .map(([tag, attrs, children, end]) => {
          const open = `<${tag}${attrs.map((a) => ` ${a}`).join('')}${end === 'self' ? '/' : ''}>`;
          const close = end === 'close' ? `</${tag}>` : end === 'other' ? '</b>' : '';
          return open + children.join('') + close;
        }),
      weight: 2,
    },
  ),
})).node;

/** Tokens in any order: opening and closing tags that need not match, text, broken markup. */
const tagSoup: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.tuple(tagName, fc.array(attribute, { maxLength: 2 })).map(([t, a]) => `<${t}${a.map((x) => ` ${x}`).join('')}>`),
      tagName.map((t) => `</${t}>`),
      textNode,
    ),
    { maxLength: 60, size: 'medium' },
  )
  .map((parts) => parts.join(''));

/** One tag nested thousands of times, around a tree or text, closed or not. */
const deepNesting: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('b', 'div', 'blockquote', 'ol', 'ul><li', 'li', 'span data-mx-spoiler', 'pre', 'code', 'a href="https://e.org"', 'table><tr><td', 'x-y', 'mx-reply'),
    fc.integer({ min: 60, max: 20_000 }), textNode, fc.boolean())
  .map(([tag, depth, inner, closed]) => {
    const names = tag.split('><').map((t) => t.split(' ')[0] as string);
    const closing = closed ? names.reverse().map((n) => `</${n}>`).join('') : '';
    return `<${tag}>`.repeat(depth) + inner + closing.repeat(depth);
  });

/** Formatted bodies of ordinary size: trees, soup, broken and cut markup. */
export const hostileHtml: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: maybeTruncated(htmlTree), weight: 10 },
  { arbitrary: maybeTruncated(tagSoup), weight: 6 },
  { arbitrary: fc.array(htmlTree, { maxLength: 6 }).map((a) => a.join('')), weight: 3 },
);

/** Very deep nesting, and inputs near and past the 64 KiB cap (slow to make: fewer runs). */
export const hugeHtml: fc.Arbitrary<string> = fc.oneof(deepNesting, longText(fc.oneof(htmlTree, tagSoup)));
