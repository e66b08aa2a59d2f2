import assert from 'node:assert/strict';
import {
  isValidEntity,
  isWellFormed,
  type FormattedText,
  type TextEntity,
} from '../../shared/src/matrix/format/index.js';
import {
  formatWhatsAppText,
  parseWhatsAppText,
  WA_TEXT_MAX_LENGTH,
  type WhatsAppParseOptions,
} from '../../bridges/whatsapp/src/msgconv/wa-text.js';
import { pick, rng } from '../helpers/seeded-random.js';

const ZWSP = '\u200B';
const PHONE = '123@s.whatsapp.net';
const LID = '456@lid';
const USERS: Record<string, string> = { [PHONE]: '@whatsapp_123:example.org', [LID]: '@whatsapp_lid-456:example.org' };
const JIDS: Record<string, string> = Object.fromEntries(Object.entries(USERS).map(([jid, user]) => [user, jid]));

const opts: WhatsAppParseOptions = { mentions: [PHONE, LID], jidToUserId: (jid) => USERS[jid] };
const fmtOpts = { userIdToJid: (userId: string) => JIDS[userId] };

function parse(text: string, extra: Partial<WhatsAppParseOptions> = {}): FormattedText {
  return parseWhatsAppText(text, { ...opts, ...extra });
}

/** Entities as comparable strings: "type:covered text", in a canonical order. */
function spans(ft: FormattedText): string[] {
  return ft.entities
    .map((e) => `${e.type}:${ft.text.slice(e.offset, e.offset + e.length)}${e.userId ? `=${e.userId}` : ''}`)
    .sort();
}

function format(text: string, entities: TextEntity[]): string {
  return formatWhatsAppText({ text, entities }, fmtOpts).text;
}

describe('WhatsApp text: parse markup', () => {
  it('reads each marker', () => {
    const ft = parse('*bold* _italic_ ~strike~ `code`');
    assert.equal(ft.text, 'bold italic strike code');
    assert.deepEqual(spans(ft), ['bold:bold', 'code:code', 'italic:italic', 'strikethrough:strike']);
  });

  it('reads markers next to punctuation and at the text edges', () => {
    const ft = parse('(*a*), "_b_"! ~c~.');
    assert.equal(ft.text, '(a), "b"! c.');
    assert.deepEqual(spans(ft), ['bold:a', 'italic:b', 'strikethrough:c']);
  });

  it('needs word boundaries', () => {
    for (const text of ['2*3*4', 'snake_case_name', 'a~b~c', '**double**', '__init__', '* not bold *', 'x*y* z']) {
      const ft = parse(text);
      assert.equal(ft.text, text, text);
      assert.deepEqual(ft.entities, [], text);
    }
  });

  it('keeps unclosed and line-crossing markers as text', () => {
    for (const text of ['*open', 'a _b', '~x', '`code', '```pre', '*a\nb*']) {
      const ft = parse(text);
      assert.equal(ft.text, text, text);
      assert.deepEqual(ft.entities, [], text);
    }
  });

  it('nests different markers', () => {
    const ft = parse('*bold _both_ ~all~* _it *b*_');
    assert.equal(ft.text, 'bold both all it b');
    assert.deepEqual(spans(ft), ['bold:b', 'bold:bold both all', 'italic:both', 'italic:it b', 'strikethrough:all']);
    assert.ok(isWellFormed(ft));
  });

  it('never lets two markers partially overlap', () => {
    const ft = parse('*a _b* c_');
    assert.equal(ft.text, 'a _b c_');
    assert.deepEqual(spans(ft), ['bold:a _b']);
  });

  it('reads pre blocks over lines, with no formatting inside', () => {
    const ft = parse('see:\n```\nconst a = *b* _c_;\n> not a quote\n```\nend');
    assert.equal(ft.text, 'see:\nconst a = *b* _c_;\n> not a quote\nend');
    assert.deepEqual(spans(ft), ['pre:const a = *b* _c_;\n> not a quote']);
  });

  it('reads inline pre and inline code with markers inside', () => {
    const ft = parse('run ```rm *.txt``` or `ls _a_`');
    assert.equal(ft.text, 'run rm *.txt or ls _a_');
    assert.deepEqual(spans(ft), ['code:ls _a_', 'pre:rm *.txt']);
  });

  it('reads "> " lines as one blockquote and strips the markers', () => {
    const ft = parse('> first *line*\n> second\nafter\n> again');
    assert.equal(ft.text, 'first line\nsecond\nafter\nagain');
    assert.deepEqual(spans(ft), ['blockquote:again', 'blockquote:first line\nsecond', 'bold:line']);
  });

  it('keeps lists as text', () => {
    const text = '- one\n* two\n1. three\n2. *four*';
    const ft = parse(text);
    assert.equal(ft.text, '- one\n* two\n1. three\n2. four');
    assert.deepEqual(spans(ft), ['bold:four']);
  });

  it('reads mentions by phone number and by LID', () => {
    const ft = parse('hi @123 and @456, not @789 or @1234');
    assert.equal(ft.text, 'hi @123 and @456, not @789 or @1234');
    assert.deepEqual(spans(ft), [`mention:@123=${USERS[PHONE]}`, `mention:@456=${USERS[LID]}`]);
  });

  it('reads a device JID mention by its user part', () => {
    const ft = parseWhatsAppText('@123', { mentions: ['123:7@s.whatsapp.net'], jidToUserId: () => '@u:x' });
    assert.deepEqual(spans(ft), ['mention:@123=@u:x']);
  });

  it('leaves mentions the mapper does not know, and mentions inside code, as text', () => {
    const ft = parseWhatsAppText('@123 `@456`', { mentions: [PHONE, LID], jidToUserId: () => undefined });
    assert.deepEqual(ft.entities.map((e) => e.type), ['code']);
    assert.deepEqual(parse('`@123`').entities.map((e) => e.type), ['code']);
  });

  it('replaces a mention with the display name when given one', () => {
    const ft = parse('*hey @123* and @456', { displayName: (id) => (id === USERS[PHONE] ? 'Alice\nSmith' : undefined) });
    assert.equal(ft.text, 'hey @Alice Smith and @456');
    assert.deepEqual(spans(ft), ['bold:hey @Alice Smith', `mention:@456=${USERS[LID]}`, `mention:@Alice Smith=${USERS[PHONE]}`]);
  });

  it('reads @all as a room mention only when the message mentions everyone', () => {
    assert.deepEqual(parse('@all come').entities, []);
    const ft = parse('@all come', { everyone: true });
    assert.equal(ft.text, '@room come');
    assert.deepEqual(spans(ft), ['room_mention:@room']);
    const prefixed = parse('*come* now', { everyone: true });
    assert.equal(prefixed.text, '@room come now');
    assert.deepEqual(spans(prefixed), ['bold:come', 'room_mention:@room']);
  });

  it('counts offsets in UTF-16 units around emoji', () => {
    const ft = parse('😀 *b😀c* _🎉_ @123');
    assert.equal(ft.text, '😀 b😀c 🎉 @123');
    assert.deepEqual(ft.entities, [
      { type: 'bold', offset: 3, length: 4 },
      { type: 'italic', offset: 8, length: 2 },
      { type: 'mention', offset: 11, length: 4, userId: USERS[PHONE] },
    ]);
  });

  it('treats letters of any script as word characters', () => {
    assert.deepEqual(parse('héllo_wörld_x').entities, []);
    assert.deepEqual(spans(parse('*привет*')), ['bold:привет']);
  });

  it('leaves URLs alone', () => {
    const ft = parse('see https://example.com/_a_/*b* and *https://x.org*');
    assert.equal(ft.text, 'see https://example.com/_a_/*b* and https://x.org');
    assert.deepEqual(spans(ft), ['bold:https://x.org']);
  });

  it('caps the input', () => {
    const ft = parse(`*${'a'.repeat(WA_TEXT_MAX_LENGTH + 10)}*`);
    assert.equal(ft.text.length, WA_TEXT_MAX_LENGTH + 1);
    assert.ok(ft.text.endsWith('…'));
    assert.deepEqual(ft.entities, []);
  });

  it('survives a throwing mapper and non-string input', () => {
    const ft = parseWhatsAppText('@123 *x*', {
      mentions: [PHONE],
      jidToUserId: () => {
        throw new Error('boom');
      },
    });
    assert.equal(ft.text, '@123 x');
    assert.deepEqual(spans(ft), ['bold:x']);
    assert.deepEqual(parseWhatsAppText(undefined as unknown as string, opts), { text: '', entities: [] });
  });
});

describe('WhatsApp text: format markup', () => {
  it('writes each marker', () => {
    const text = 'bold italic strike code under spoil';
    const out = format(text, [
      { type: 'bold', offset: 0, length: 4 },
      { type: 'italic', offset: 5, length: 6 },
      { type: 'strikethrough', offset: 12, length: 6 },
      { type: 'code', offset: 19, length: 4 },
      { type: 'underline', offset: 24, length: 5 },
      { type: 'spoiler', offset: 30, length: 5 },
    ]);
    assert.equal(out, '*bold* _italic_ ~strike~ `code` under spoil');
  });

  it('moves spaces outside the markers and splits markers per line', () => {
    assert.equal(format('a  b  c', [{ type: 'bold', offset: 1, length: 5 }]), 'a  *b*  c');
    assert.equal(format('one\ntwo', [{ type: 'italic', offset: 0, length: 7 }]), '_one_\n_two_');
    assert.equal(format('x   y', [{ type: 'bold', offset: 1, length: 3 }]), 'x   y');
  });

  it('separates a marker from a letter outside it with a ZWSP', () => {
    assert.equal(format('foobar', [{ type: 'bold', offset: 3, length: 3 }]), `foo${ZWSP}*bar*`);
    assert.equal(format('foobar', [{ type: 'italic', offset: 0, length: 3 }]), `_foo_${ZWSP}bar`);
  });

  it('writes pre inline, or as a block when it has lines, and drops formatting inside', () => {
    assert.equal(format('x', [{ type: 'pre', offset: 0, length: 1, language: 'js' }]), '```x```');
    const text = 'a *b*\nc';
    assert.equal(
      format(text, [
        { type: 'pre', offset: 0, length: 7 },
        { type: 'bold', offset: 3, length: 1 },
      ]),
      '```\na *b*\nc\n```',
    );
  });

  it('writes code holding a backtick as a pre block and keeps fences closed', () => {
    assert.equal(format('a`b', [{ type: 'code', offset: 0, length: 3 }]), '```a`b```');
    const out = format('x```y', [{ type: 'pre', offset: 0, length: 5 }]);
    assert.equal(out, `\`\`\`x\`\`${ZWSP}\`y\`\`\``);
    assert.deepEqual(spans(parse(out)), [`pre:x\`\`${ZWSP}\`y`]);
  });

  it('writes blockquotes on lines of their own', () => {
    const text = 'before quoted\ntext after';
    const out = format(text, [{ type: 'blockquote', offset: 7, length: 11 }]);
    assert.equal(out, 'before \n> quoted\n> text\n after');
  });

  it('writes links as "text (url)" unless the text is the url', () => {
    const text = 'see docs or https://x.org or x.org';
    const out = format(text, [
      { type: 'link', offset: 4, length: 4, url: 'https://docs.example/a_b_' },
      { type: 'link', offset: 12, length: 13, url: 'https://x.org' },
      { type: 'link', offset: 29, length: 5, url: 'https://x.org' },
    ]);
    assert.equal(out, 'see docs (https://docs.example/a_b_) or https://x.org or x.org');
  });

  it('writes mentions by phone and LID and collects their JIDs once', () => {
    const text = 'Alice, Bob and Alice; Carol';
    const result = formatWhatsAppText(
      {
        text,
        entities: [
          { type: 'mention', offset: 0, length: 5, userId: USERS[PHONE] },
          { type: 'mention', offset: 7, length: 3, userId: USERS[LID] },
          { type: 'mention', offset: 15, length: 5, userId: USERS[PHONE] },
          { type: 'mention', offset: 22, length: 5, userId: '@nobody:example.org' },
        ],
      },
      fmtOpts,
    );
    assert.deepEqual(result, { text: '@123, @456 and @123; Carol', mentions: [PHONE, LID], everyone: false });
  });

  it('uses mentionText when given', () => {
    const result = formatWhatsAppText(
      { text: 'Alice', entities: [{ type: 'mention', offset: 0, length: 5, userId: USERS[PHONE] }] },
      { ...fmtOpts, mentionText: (jid) => `@${jid.length}` },
    );
    assert.equal(result.text, `@${PHONE.length}`);
  });

  it('writes a room mention as @all and sets everyone', () => {
    const result = formatWhatsAppText({ text: '@room hi', entities: [{ type: 'room_mention', offset: 0, length: 5 }] }, fmtOpts);
    assert.deepEqual(result, { text: '@all hi', mentions: [], everyone: true });
  });

  it('breaks literal marker characters that WhatsApp would read as markup', () => {
    for (const text of ['a *b* c', '_x_', '~y~ z', 'run `ls`', '```x```', '> not a quote', '(*)']) {
      const out = format(text, []);
      const back = parse(out);
      assert.deepEqual(back.entities, [], `${text} -> ${JSON.stringify(out)}`);
      assert.equal(back.text.replaceAll(ZWSP, ''), text);
    }
    // text that cannot be read as markup is left exactly as it was
    for (const text of ['2*3*4', 'snake_case_name', '- list\n* item', 'a ~ b', 'https://x.org/_a_/b']) {
      assert.equal(format(text, []), text);
    }
  });

  it('never throws on bad input', () => {
    const bad = { text: 'abc', entities: [{ type: 'bold', offset: -1, length: 99 }, null, { type: 'nope' }] };
    assert.deepEqual(formatWhatsAppText(bad as unknown as FormattedText, fmtOpts), { text: 'abc', mentions: [], everyone: false });
  });
});

describe('WhatsApp text: round trips', () => {
  const cases: FormattedText[] = [
    { text: 'hello world', entities: [{ type: 'bold', offset: 6, length: 5 }] },
    {
      text: 'bold and italic inside',
      entities: [
        { type: 'bold', offset: 0, length: 22 },
        { type: 'italic', offset: 9, length: 6 },
      ],
    },
    {
      text: 'all three',
      entities: [
        { type: 'strikethrough', offset: 0, length: 9 },
        { type: 'italic', offset: 0, length: 9 },
        { type: 'bold', offset: 0, length: 3 },
      ],
    },
    { text: 'use x_y_z now', entities: [{ type: 'code', offset: 4, length: 5 }] },
    { text: 'code:\nfn *a*()\n  body', entities: [{ type: 'pre', offset: 6, length: 15 }] },
    {
      text: 'quoted line\nsecond line\nreply',
      entities: [
        { type: 'blockquote', offset: 0, length: 23 },
        { type: 'bold', offset: 0, length: 6 },
      ],
    },
    { text: '- one\n- two\n1. three', entities: [{ type: 'italic', offset: 8, length: 3 }] },
    {
      text: 'hi @123 and @456',
      entities: [
        { type: 'mention', offset: 3, length: 4, userId: USERS[PHONE] },
        { type: 'mention', offset: 12, length: 4, userId: USERS[LID] },
      ],
    },
    { text: '😀 emoji 🎉 text', entities: [{ type: 'bold', offset: 0, length: 8 }, { type: 'italic', offset: 9, length: 2 }] },
    { text: '(parens) "quotes"!', entities: [{ type: 'bold', offset: 1, length: 6 }, { type: 'italic', offset: 10, length: 6 }] },
  ];

  for (const ft of cases) {
    it(`keeps ${JSON.stringify(ft.text)}`, () => {
      const out = formatWhatsAppText(ft, fmtOpts);
      const back = parseWhatsAppText(out.text, { mentions: out.mentions, jidToUserId: (jid) => USERS[jid] });
      assert.equal(back.text, ft.text, out.text);
      assert.deepEqual(back.entities.map(key).sort(), ft.entities.map(key).sort(), out.text);
    });
  }

  it('keeps a room mention', () => {
    const out = formatWhatsAppText({ text: '@room lunch', entities: [{ type: 'room_mention', offset: 0, length: 5 }] }, fmtOpts);
    const back = parse(out.text, { everyone: out.everyone });
    assert.deepEqual(back, { text: '@room lunch', entities: [{ type: 'room_mention', offset: 0, length: 5 }] });
  });
});

function key(e: TextEntity): string {
  return `${e.offset}+${e.length}:${e.type}${e.userId ?? ''}`;
}


const ALPHABET = ['a', 'b', 'Z', '1', ' ', ' ', '\n', '*', '_', '~', '`', '```', '> ', '- ', '@', '@123', '@456', '@all', '😀', 'é', '.', '(', ')', ZWSP, 'https://x.org/', '\uD800'];
const TYPES: TextEntity['type'][] = ['bold', 'italic', 'underline', 'strikethrough', 'code', 'pre', 'link', 'mention', 'room_mention', 'blockquote', 'spoiler'];

function assertEntitiesSound(ft: FormattedText, label: string): void {
  for (const e of ft.entities) assert.ok(isValidEntity(ft.text, e), `${label}: ${JSON.stringify(e)}`);
  assert.ok(isWellFormed(ft), label);
}

describe('WhatsApp text: robustness', () => {
  it('parses and formats 5,000 random inputs without throwing, entities in bounds and nested', () => {
    for (let seed = 1; seed <= 5000; seed++) {
      const next = rng(seed);
      const parts: string[] = [];
      const n = Math.floor(next() * 30);
      for (let k = 0; k < n; k++) parts.push(pick(next, ALPHABET));
      const input = parts.join('');
      const parsed = parseWhatsAppText(input, { ...opts, everyone: next() < 0.2, displayName: () => (next() < 0.5 ? 'N' : undefined) });
      assertEntitiesSound(parsed, `parse seed ${seed}`);

      const entities: TextEntity[] = [];
      const m = Math.floor(next() * 5);
      for (let k = 0; k < m && input.length > 0; k++) {
        const offset = Math.floor(next() * input.length);
        const length = 1 + Math.floor(next() * (input.length - offset));
        entities.push({ type: pick(next, TYPES), offset, length, url: 'https://x.org/_a', userId: pick(next, [USERS[PHONE] ?? '', '@x:y']) });
      }
      const out = formatWhatsAppText({ text: input, entities }, fmtOpts);
      assert.equal(typeof out.text, 'string');
      for (const jid of out.mentions) assert.ok(jid === PHONE, `format seed ${seed}`);
      assertEntitiesSound(parseWhatsAppText(out.text, { ...opts, mentions: out.mentions, everyone: out.everyone }), `reparse seed ${seed}`);
    }
  });

  it('formats then parses random well-formed word formatting back to the same entities', () => {
    const words = ['alpha', 'beta', 'gamma', '😀', 'x', 'ünï', '42'];
    const inline: TextEntity['type'][] = ['bold', 'italic', 'strikethrough', 'code'];
    for (let seed = 1; seed <= 500; seed++) {
      const next = rng(seed * 7919);
      const chosen: string[] = [];
      const entities: TextEntity[] = [];
      let at = 0;
      const count = 1 + Math.floor(next() * 6);
      for (let k = 0; k < count; k++) {
        if (k > 0) at += 1; // the space
        const word = pick(next, words);
        chosen.push(word);
        if (next() < 0.5) entities.push({ type: pick(next, inline), offset: at, length: word.length });
        at += word.length;
      }
      const text = chosen.join(' ');
      // an outer bold around everything, when no word is bold itself (the same marker never nests)
      if (next() < 0.5 && !entities.some((e) => e.type === 'bold')) entities.push({ type: 'bold', offset: 0, length: text.length });
      const ft = { text, entities };
      const out = formatWhatsAppText(ft, fmtOpts);
      const back = parse(out.text);
      assert.equal(back.text, text, `seed ${seed}: ${out.text}`);
      assert.deepEqual(back.entities.map(key).sort(), ft.entities.map(key).sort(), `seed ${seed}: ${out.text}`);
    }
  });
});
