/**
 * Generators for FormattedText as networks hand it over: any text with entities that may be out of
 * range, overlapping, of unknown types, with hostile URLs and ids; and well-formed text whose
 * entities follow word boundaries, for round trips.
 */
import fc from 'fast-check';
import { ENTITY_TYPES, type FormattedText, type TextEntity } from '../../shared/src/matrix/format/index.js';
import { hostileText, longText, urlArb, userIdArb } from './arbitraries-text.js';

const languageArb = fc.oneof(fc.constantFrom('ts', 'c++', 'c#', 'objective-c', 'a b', '"><x>', 'x'.repeat(40)), hostileText(8));

/** One entity anywhere near `length` (offsets may be negative or past the end). */
function entityNear(length: number): fc.Arbitrary<TextEntity> {
  return fc
    .record(
      {
        type: fc.oneof({ arbitrary: fc.constantFrom(...ENTITY_TYPES), weight: 20 }, { arbitrary: fc.constantFrom('bogus', '', 'BOLD'), weight: 1 }),
        offset: fc.oneof({ arbitrary: fc.integer({ min: 0, max: Math.max(0, length) }), weight: 20 }, { arbitrary: fc.constantFrom(-1, length + 1, 0.5, Number.NaN, 2 ** 53), weight: 1 }),
        length: fc.oneof({ arbitrary: fc.integer({ min: 1, max: Math.max(1, length) }), weight: 20 }, { arbitrary: fc.constantFrom(0, -1, length + 5, Infinity), weight: 1 }),
        url: urlArb,
        userId: userIdArb,
        language: languageArb,
      },
      { requiredKeys: ['type', 'offset', 'length'] },
    )
    .map((e) => e as TextEntity);
}

function withEntities(text: fc.Arbitrary<string>, maxEntities: number): fc.Arbitrary<FormattedText> {
  return text.chain((t) => fc.record({ text: fc.constant(t), entities: fc.array(entityNear(t.length), { maxLength: maxEntities }) }));
}

/** Any text with any entities, as an untrusted network might send. */
export const looseFormatted: fc.Arbitrary<FormattedText> = withEntities(hostileText(60), 12);

/** The same near and past the 64 KiB cap, with up to 400 entities (slow to make: fewer runs). */
export const hugeFormatted: fc.Arbitrary<FormattedText> = withEntities(longText(hostileText(20), [10_000, 65_536, 70_000]), 400);

const WORDS = ['a', 'bc', 'déf', '😀', '👍🏽', '<x>', '&', '"q"', "it's", '1.', '#', 'x_y', '*', '2*3', 'https://e.org/a', '@room', 'ש'];
const SEPARATORS = [' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ', '];
const INLINE: TextEntity['type'][] = ['bold', 'italic', 'underline', 'strikethrough', 'spoiler', 'link', 'mention', 'code'];

/**
 * Well-formed FormattedText: words joined by separators, entities nested on word boundaries, no
 * link inside a link and nothing inside code (what every converter can express).
 */
export const wordFormatted: fc.Arbitrary<FormattedText> = fc
  .tuple(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 12 }), fc.array(fc.constantFrom(...SEPARATORS), { minLength: 12, maxLength: 12 }))
  .chain(([words, seps]) => {
    const starts: number[] = [];
    const ends: number[] = [];
    let text = '';
    words.forEach((w, i) => {
      if (i > 0) text += seps[i];
      starts.push(text.length);
      text += w;
      ends.push(text.length);
    });
    const count = words.length;
    // Random choices for an iterative interval tree over word indexes.
    return fc
      .array(fc.tuple(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true }), fc.constantFrom(...INLINE), fc.boolean()), { maxLength: 10 })
      .map((choices) => {
        const entities: TextEntity[] = [];
        const ranges: [number, number, boolean, boolean][] = [[0, count - 1, false, false]];
        for (const [ra, rb, type, skip] of choices) {
          const range = ranges.pop();
          if (range === undefined) break;
          const [from, to, insideCode, insideLink] = range;
          if (from > to || insideCode || skip) continue;
          const a = from + Math.floor(ra * (to - from + 1));
          const b = a + Math.floor(rb * (to - a + 1));
          if (insideLink && (type === 'link' || type === 'mention')) continue;
          const entity: TextEntity = { type, offset: starts[a] as number, length: (ends[b] as number) - (starts[a] as number) };
          if (type === 'link') entity.url = 'https://e.org/?q=1&r=<2>';
          if (type === 'mention') entity.userId = '@u/s=x:s.org';
          entities.push(entity);
          const link = insideLink || type === 'link' || type === 'mention';
          ranges.push([a, b, type === 'code', link], [from, a - 1, false, insideLink], [b + 1, to, false, insideLink]);
        }
        return { text, entities };
      });
  });
