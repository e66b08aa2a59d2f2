/**
 * Meta text both ways: markers <-> entities, and mention ranges in UTF-16 code units (emoji and
 * other characters outside the BMP count two) <-> mention entities.
 */
import assert from 'node:assert/strict';
import { formatMetaText } from '../../bridges/meta/src/msgconv/meta-format.js';
import { mentionEntities, parseMetaMentions } from '../../bridges/meta/src/msgconv/meta-mentions.js';
import { parseMetaText } from '../../bridges/meta/src/msgconv/meta-text.js';
import { metaFormattedText } from '../../bridges/meta/src/msgconv/to-matrix.js';
import type { FormattedText } from '../../shared/src/matrix/format/index.js';
import { ALICE, BOB } from '../helpers/meta-msgconv-fixtures.js';

const toMeta = (ft: FormattedText, opts: Partial<Parameters<typeof formatMetaText>[1]> = {}) =>
  formatMetaText(ft, { metaUserIdFor: (u) => (/^\d+$/.test(u) ? u : undefined), ...opts });

describe('Meta text -> FormattedText', () => {
  it('reads bold, italic, strikethrough and code markers', () => {
    assert.deepEqual(parseMetaText('hello *bold* _italic_ ~strike~ `code <x>`'), {
      text: 'hello bold italic strike code <x>',
      entities: [
        { type: 'bold', offset: 6, length: 4 },
        { type: 'italic', offset: 11, length: 6 },
        { type: 'strikethrough', offset: 18, length: 6 },
        { type: 'code', offset: 25, length: 8 },
      ],
    });
  });

  it('gives code priority and does not nest inline styles', () => {
    assert.deepEqual(parseMetaText('`*not bold*` and *_bold wins_*'), {
      text: '*not bold* and _bold wins_',
      entities: [{ type: 'code', offset: 0, length: 10 }, { type: 'bold', offset: 15, length: 11 }],
    });
  });

  it('needs word edges and no inner spaces: 2*3*4, snake_case_name and "* x *" stay text', () => {
    for (const text of ['2*3*4', 'snake_case_name', '* x *', 'a_b_', 'one *two\nthree*', '```x ```x ', '``', 'a ```x``` b']) {
      assert.deepEqual(parseMetaText(text), { text, entities: [] }, text);
    }
  });

  it('reads code blocks with a known language, and keeps an unknown one as code text', () => {
    assert.deepEqual(parseMetaText('before\n```python\nprint("*hi*")\n```\nafter'), {
      text: 'before\nprint("*hi*")\nafter',
      entities: [{ type: 'pre', offset: 7, length: 13, language: 'python' }],
    });
    assert.deepEqual(parseMetaText('```notreal\nbody\n```'), { text: 'notreal\nbody', entities: [{ type: 'pre', offset: 0, length: 12 }] });
    assert.deepEqual(parseMetaText('```one line```'), { text: 'one line', entities: [{ type: 'pre', offset: 0, length: 8 }] });
  });

  it('merges neighbouring quote lines into one quote, with formatting inside', () => {
    assert.deepEqual(parseMetaText('> first *b*\n> second\nthird'), {
      text: 'first b\nsecond\nthird',
      entities: [{ type: 'blockquote', offset: 0, length: 14 }, { type: 'bold', offset: 6, length: 1 }],
    });
    assert.deepEqual(parseMetaText('>'), { text: '>', entities: [] });
  });

  it('removes control characters and replaces lone surrogates, moving entities along', () => {
    assert.deepEqual(parseMetaText('a\r\n*b\u0007old* \ud800'), { text: 'a\nbold \ufffd', entities: [{ type: 'bold', offset: 2, length: 4 }] });
    assert.deepEqual(parseMetaText(undefined), { text: '', entities: [] });
    assert.deepEqual(parseMetaText(42 as unknown as string), { text: '', entities: [] });
  });
});

describe('Meta mention ranges -> mention entities (UTF-16)', () => {
  // 😀 is two UTF-16 units; 𝕏 (U+1D54F) too.
  const text = '😀 hi @Alice and *@Bob* 𝕏 @Alice';
  const cols = { mentionOffsets: '6,18,27', mentionLengths: '6,4,6', mentionIds: `${ALICE},${BOB},${ALICE}`, mentionTypes: 'p,p,p' };

  it('keeps mentions on the right characters after emoji, with markers removed around them', () => {
    const ft = metaFormattedText({ text, ...cols });
    assert.equal(ft.text, '😀 hi @Alice and @Bob 𝕏 @Alice');
    const names = ft.entities.filter((e) => e.type === 'mention').map((e) => [ft.text.slice(e.offset, e.offset + e.length), e.userId]);
    assert.deepEqual(names, [['@Alice', ALICE], ['@Bob', BOB], ['@Alice', ALICE]]);
    assert.ok(ft.entities.some((e) => e.type === 'bold' && ft.text.slice(e.offset, e.offset + e.length) === '@Bob'));
  });

  it('skips malformed, out-of-range and overlapping entries, and reads type t as a room mention', () => {
    const mentions = parseMetaMentions({ mentionOffsets: '0,x,2,50,0,4', mentionLengths: '3,1,2,1,9,1', mentionIds: `${ALICE},1,abc,1,2,${THREAD()}`, mentionTypes: 'p,p,p,p,p,t' }, 10);
    assert.deepEqual(mentions, [{ offset: 0, length: 3, userId: ALICE, type: 'p' }, { offset: 4, length: 1, userId: THREAD(), type: 't' }]);
    assert.deepEqual(mentionEntities(mentions).map((e) => e.type), ['mention', 'room_mention']);
    function THREAD() {
      return '1000000000000001';
    }
  });

  it('does not read markers inside a mention', () => {
    const ft = metaFormattedText({ text: '@*x* and', mentionOffsets: '0', mentionLengths: '4', mentionIds: ALICE });
    assert.equal(ft.text, '@*x* and');
    assert.deepEqual(ft.entities, [{ type: 'mention', offset: 0, length: 4, userId: ALICE }]);
  });
});

describe('FormattedText -> Meta text', () => {
  it('writes markers per line with spaces outside, and does not nest inline styles', () => {
    const out = toMeta({ text: 'a bold \nline b', entities: [{ type: 'bold', offset: 2, length: 12 }, { type: 'italic', offset: 8, length: 4 }] });
    assert.equal(out.text, 'a *bold* \n*line b*');
    assert.deepEqual(parseMetaText(out.text), { text: 'a bold \nline b', entities: [{ type: 'bold', offset: 2, length: 4 }, { type: 'bold', offset: 8, length: 6 }] });
  });

  it('writes mention ranges in UTF-16 units of the output, adding "@" where the pill has none', () => {
    const ft: FormattedText = {
      text: '𝕏😀 Alice, *Bob*: hi',
      entities: [{ type: 'mention', offset: 5, length: 5, userId: ALICE }, { type: 'bold', offset: 12, length: 5 }, { type: 'mention', offset: 12, length: 5, userId: BOB }],
    };
    const out = toMeta(ft);
    for (const m of out.mentions) assert.ok(out.text.slice(m.offset, m.offset + m.length).startsWith('@'), JSON.stringify(out));
    assert.deepEqual(out.mentions.map((m) => [out.text.slice(m.offset, m.offset + m.length), m.userId, m.type]), [['@Alice', ALICE, 'p'], ['@*Bob*', BOB, 'p']]);
    assert.equal(out.mentions[0]?.offset, 5);
    // Back through the reader: the same people on the same words.
    const back = metaFormattedText({
      text: out.text, mentionOffsets: out.mentions.map((m) => m.offset).join(','), mentionLengths: out.mentions.map((m) => m.length).join(','),
      mentionIds: out.mentions.map((m) => m.userId).join(','),
    });
    assert.deepEqual(back.entities.filter((e) => e.type === 'mention').map((e) => [back.text.slice(e.offset, e.offset + e.length), e.userId]), [['@Alice', ALICE], ['@*Bob*', BOB]]);
  });

  it('leaves mentions of non-Meta users as text, and writes @room as @everyone only in groups', () => {
    const ft: FormattedText = { text: 'carol @room', entities: [{ type: 'mention', offset: 0, length: 5, userId: '@carol:example.org' }, { type: 'room_mention', offset: 6, length: 5 }] };
    assert.deepEqual(toMeta(ft), { text: 'carol @room', mentions: [] });
    assert.deepEqual(toMeta(ft, { roomMentionThreadId: '77' }), { text: 'carol @everyone', mentions: [{ offset: 6, length: 9, userId: '77', type: 't' }] });
  });

  it('writes links as text and URL, code blocks and quotes on their own lines, and drops what Meta lacks', () => {
    const ft: FormattedText = {
      text: 'see site and https://e.org x\ncode\nline quoted under',
      entities: [
        { type: 'link', offset: 4, length: 4, url: 'https://e.org/a' },
        { type: 'link', offset: 13, length: 13, url: 'https://e.org' },
        { type: 'link', offset: 27, length: 1, url: 'javascript:alert(1)' },
        { type: 'pre', offset: 29, length: 9, language: 'js' },
        { type: 'blockquote', offset: 39, length: 6 },
        { type: 'underline', offset: 46, length: 5 },
      ],
    };
    assert.equal(toMeta(ft).text, 'see site (https://e.org/a) and https://e.org x\n```js\ncode\nline\n```\n> quoted\nunder');
  });

  it('never throws on junk', () => {
    assert.deepEqual(formatMetaText(null as unknown as FormattedText, { metaUserIdFor: () => undefined }), { text: '', mentions: [] });
    const out = formatMetaText({ text: 'abc', entities: [null, { type: 'bold', offset: -1, length: 9 }, 'x'] } as unknown as FormattedText, { metaUserIdFor: () => undefined });
    assert.equal(out.text, 'abc');
  });
});
