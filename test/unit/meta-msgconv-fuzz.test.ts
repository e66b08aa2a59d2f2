/**
 * A fixed-seed property over the Meta -> Matrix converter: for any message row (hostile text,
 * markers, malformed mention columns) and any attachment rows, conversion never throws, always
 * yields at least one part, and every part is clean Matrix content: HTML within the core's
 * allowlist, no control characters, valid mention user ids, safe link previews. The writer the
 * other way is held to mention ranges that lie on the text it wrote.
 */
import fc from 'fast-check';
import { formatMetaText } from '../../bridges/meta/src/msgconv/meta-format.js';
import type { MetaAttachmentRow } from '../../bridges/meta/src/msgconv/meta-message.js';
import { convertMetaMessage } from '../../bridges/meta/src/msgconv/to-matrix.js';
import { LINK_PREVIEWS_KEY } from '../../bridges/meta/src/msgconv/to-matrix-common.js';
import { isValidUserId, safeLinkUrl } from '../../shared/src/matrix/format/index.js';
import { expectNone, htmlProblems, textProblem } from '../fuzz/checks.js';
import { hostileText, hostileUnit } from '../fuzz/arbitraries-text.js';
import { looseFormatted } from '../fuzz/arbitraries-formatted.js';
import { ALICE, BOB, THREAD, messageRow, recordingContext } from '../helpers/meta-msgconv-fixtures.js';

const SEED = 42;
const RUNS = 1000;

/** Meta markup among hostile text: markers, fences, quotes, mention-like words. */
const metaUnit = fc.oneof(
  { arbitrary: fc.constantFrom('*', '_', '~', '`', '```', '```js\n', '> ', '\n', '\n> ', ' ', '@Alice', '@Bob', 'https://e.org/a_b*c'), weight: 3 },
  { arbitrary: hostileUnit, weight: 3 },
  { arbitrary: fc.constantFrom('bold', 'x', '😀', '𝕏', '1', '(', ')', '.'), weight: 2 },
);
const metaText = fc.string({ unit: metaUnit, maxLength: 60, size: 'medium' });

const numList = fc.array(fc.oneof(fc.nat(80).map(String), fc.constantFrom('', 'x', '-1', '99999999999')), { maxLength: 4 }).map((a) => a.join(','));
const idList = fc.array(fc.oneof(fc.constantFrom(ALICE, BOB, THREAD, 'abc', ''), hostileText(5)), { maxLength: 4 }).map((a) => a.join(','));
const typeList = fc.array(fc.constantFrom('p', 's', 't', 'x', ''), { maxLength: 4 }).map((a) => a.join(','));

const url = fc.oneof(
  fc.constantFrom('https://cdn/x', 'https://www.instagram.com/reel/A1/', '/stories/direct/1_2', 'instagram://media/?shortcode=Q', 'javascript:alert(1)',
    'https://l.facebook.com/l.php?u=https%3A%2F%2Fe.org', 'https://l.facebook.com/l.php?u=javascript%3Ax', '//evil', 'https://e.org/"><script>'),
  hostileText(15),
);
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const attachment: fc.Arbitrary<MetaAttachmentRow> = fc.record({
  threadKey: fc.constant(THREAD),
  messageId: fc.constant('mid.$m1'),
  attachmentType: opt(fc.integer({ min: -1, max: 20 })),
  hasXma: opt(fc.boolean()),
  playableUrl: opt(url),
  playableUrlMimeType: opt(fc.oneof(fc.constantFrom('video/mp4', 'audio/mpeg', 'image/gif'), hostileText(8))),
  previewUrl: opt(url),
  previewUrlMimeType: opt(hostileText(8)),
  filename: opt(hostileText(10)),
  filesize: opt(fc.integer({ min: -5, max: 1e9 })),
  previewWidth: opt(fc.integer({ min: -5, max: 5000 })),
  actionUrl: opt(url),
  titleText: opt(hostileText(20)),
  subtitleText: opt(hostileText(20)),
  attachmentFbid: opt(fc.constantFrom('1', '2', '3')),
}, { requiredKeys: ['threadKey', 'messageId'] }) as fc.Arbitrary<MetaAttachmentRow>;

const row = fc.record({
  text: opt(metaText),
  mentionOffsets: opt(numList),
  mentionLengths: opt(numList),
  mentionIds: opt(idList),
  mentionTypes: opt(typeList),
  stickerId: opt(fc.constantFrom('369239263222822', '12345')),
  isUnsent: opt(fc.boolean()),
  isAdminMessage: opt(fc.boolean()),
  isForwarded: opt(fc.boolean()),
  replySourceId: opt(fc.constantFrom('mid.$r', '')),
});

function contentProblems(content: Record<string, unknown>): Array<string | undefined> {
  const problems: Array<string | undefined> = [];
  if (typeof content.body !== 'string') problems.push('no body');
  else problems.push(textProblem(content.body));
  if (typeof content.formatted_body === 'string') problems.push(...htmlProblems(content.formatted_body, { wellFormed: true }));
  const mentions = content['m.mentions'] as { user_ids?: unknown[] } | undefined;
  for (const u of mentions?.user_ids ?? []) if (!isValidUserId(u)) problems.push(`mention ${JSON.stringify(u)}`);
  const previews = content[LINK_PREVIEWS_KEY];
  if (previews !== undefined) {
    for (const p of previews as Array<Record<string, unknown>>) {
      const u = p['og:url'];
      if (typeof u !== 'string' || safeLinkUrl(u) !== u) problems.push(`preview url ${JSON.stringify(u)}`);
      for (const v of Object.values(p)) if (typeof v === 'string') problems.push(textProblem(v));
    }
  }
  return problems;
}

describe('Meta msgconv property (fixed seed)', function () {
  this.timeout(60_000);

  it('Meta -> Matrix never throws and writes only allowlisted, clean content', async () => {
    await fc.assert(
      fc.asyncProperty(row, fc.array(attachment, { maxLength: 3 }), fc.constantFrom<'messenger' | 'instagram'>('messenger', 'instagram'), async (r, attachments, platform) => {
        const { ctx, deps } = recordingContext({ failing: ['https://cdn/x'], platform });
        const out = await convertMetaMessage({ row: messageRow(r), attachments }, ctx, deps);
        const problems: Array<string | undefined> = out.parts.length === 0 ? ['no parts'] : [];
        const ids = new Set(out.parts.map((p) => p.id));
        if (ids.size !== out.parts.length) problems.push('duplicate part ids');
        for (const p of out.parts) problems.push(...contentProblems(p.content));
        expectNone(problems, { r, attachments, out: out.parts.map((p) => p.content) });
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('FormattedText -> Meta never throws and its mention ranges lie on "@" tokens of the text', () => {
    fc.assert(
      fc.property(looseFormatted, fc.boolean(), (ft, inGroup) => {
        const out = formatMetaText(ft, { metaUserIdFor: (u) => (u === '@alice:example.org' ? ALICE : undefined), ...(inGroup ? { roomMentionThreadId: THREAD } : {}) });
        const problems: Array<string | undefined> = [textProblem(out.text)];
        let end = 0;
        for (const m of out.mentions) {
          if (m.offset < end || m.length <= 0 || m.offset + m.length > out.text.length) problems.push(`range ${JSON.stringify(m)}`);
          else if (out.text.charAt(m.offset) !== '@') problems.push(`mention not on "@": ${JSON.stringify(m)}`);
          end = m.offset + m.length;
        }
        expectNone(problems, { ft, out });
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
