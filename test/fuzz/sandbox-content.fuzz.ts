/**
 * The sandbox connector's content conversion, both directions: wire content the sandbox accepted
 * -> Matrix content (contentToMatrix with the core's textContent), and Matrix content ->
 * contentToFormatted -> matrixToWire -> content the sandbox wire schema accepts.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { isBridgeError, type ConvertContext, type MatrixMessage, type PortalKey } from '../../shared/src/network/index.js';
import { contentToFormatted, formattedToContent } from '../../shared/src/matrix/content.js';
import { isValidUserId, type TextEntity } from '../../shared/src/matrix/format/index.js';
import { contentToMatrix, matrixToWire } from '../../bridges/sandbox/src/connector/msgconv.js';
import type { SandboxPort } from '../../bridges/sandbox/src/connector/port.js';
import { LIMITS, messageContentSchema, type MessageContent } from '../../bridges/sandbox/src/wire.js';
import { hostileHtml, hugeHtml } from './arbitraries-html.js';
import { hostileText, longText, urlArb, userIdArb } from './arbitraries-text.js';
import { expectNone, htmlProblems, textProblem } from './checks.js';
import { CONVERTER_RUNS, fuzzAsync, hugeRuns, timeoutFor } from './fuzz-config.js';

const WRITER_TAGS: ReadonlySet<string> = new Set(['strong', 'em', 'u', 'del', 'code', 'pre', 'a', 'span', 'blockquote', 'br']);
const ENTITY_TYPES: TextEntity['type'][] = ['bold', 'italic', 'underline', 'strikethrough', 'code', 'pre', 'link', 'mention', 'room_mention', 'blockquote', 'spoiler'];

/** A port that serves any media id and takes any upload; nothing else is called by msgconv. */
function fakePort(): SandboxPort {
  const port = new EventEmitter() as SandboxPort;
  port.downloadMedia = async () => ({ stream: Readable.from([Buffer.from('data')]), size: 4, mimetype: 'image/png' });
  port.uploadMedia = async (_body, mimetype) => ({ media_id: 'm1', mimetype, size: 4 });
  return port;
}

/** The core's ConvertContext for one portal: ghost ids for remote ids, real formattedToContent. */
function context(): ConvertContext {
  const ghost = (id: string): string | undefined => (/^[a-z0-9._=-]{1,64}$/.test(id) ? `@sandbox_${id}:example.org` : undefined);
  return {
    portal: { key: { id: 'c1', receiver: '' } as unknown as PortalKey, roomId: '!r:example.org', isDm: false },
    uploadMedia: async () => ({ url: 'mxc://example.org/abc', size: 4, mimetype: 'application/octet-stream' }),
    matrixUserIdFor: (user) => ghost(user) ?? '@sandbox_unknown:example.org',
    textContent: (text, msgtype) => formattedToContent(text, ghost, msgtype),
  } as ConvertContext;
}

/** Formatted text the wire schema accepts: entities in range, but overlapping, cutting pairs, hostile values. */
const wireFormatted = hostileText(60).chain((text) =>
  fc.record({
    text: fc.constant(text),
    entities: text.length === 0 ? fc.constant<TextEntity[]>([]) : fc.array(
      fc.tuple(fc.nat(text.length - 1), fc.nat(text.length), fc.constantFrom(...ENTITY_TYPES), urlArb, fc.oneof(userIdArb, fc.constantFrom('bob', 'alice', 'Bob', 'x y'))).map(([offset, len, type, url, userId]) => {
        const length = Math.max(1, Math.min(len, text.length - offset));
        return { type, offset, length, ...(type === 'link' ? { url: url.slice(0, 4096) } : {}), ...(type === 'mention' ? { userId: userId.slice(0, 200) } : {}) } as TextEntity;
      }),
      { maxLength: 8 },
    ),
  }),
);

const wireContent: fc.Arbitrary<MessageContent> = fc.oneof(
  wireFormatted.map((f) => ({ kind: 'text' as const, ...f })),
  wireFormatted.map((f) => ({ kind: 'notice' as const, ...f })),
  fc.record({ kind: fc.constantFrom('image' as const, 'video' as const, 'audio' as const, 'file' as const), media_id: fc.constant('m1'), mimetype: fc.constantFrom('image/png', 'text/html', 'x'), size: fc.nat(), filename: hostileText(20), caption: wireFormatted, width: fc.integer({ min: 1, max: 10_000 }) }, { requiredKeys: ['kind', 'media_id', 'mimetype', 'size'] }),
  fc.record({ kind: fc.constant('location' as const), lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }), name: hostileText(20) }, { requiredKeys: ['kind', 'lat', 'lon'] }),
  fc.record({ kind: fc.constant('extension' as const), network: fc.constantFrom('whatsapp', 'x_y'), payload: fc.constant({ a: 1 }), fallback: hostileText(40).filter((s) => s.trim() !== '') }),
);

const matrixContent = fc.oneof(
  fc.record({ msgtype: fc.constantFrom('m.text', 'm.notice', 'm.emote'), body: hostileText(60), format: fc.constant('org.matrix.custom.html'), formatted_body: hostileHtml }),
  fc.record({ msgtype: fc.constantFrom('m.text', 'm.notice', 'm.emote'), body: hostileText(80) }),
);

/** Bodies at the size limit: many entities (2,000 bold words), long plain bodies, deep nesting. */
const hugeMatrixContent = fc.oneof(
  fc.record({ msgtype: fc.constantFrom('m.text', 'm.emote'), body: fc.constant('x'), format: fc.constant('org.matrix.custom.html'), formatted_body: fc.oneof(hugeHtml, fc.integer({ min: 900, max: 3000 }).map((n) => '<b>w</b> '.repeat(n))) }),
  fc.record({ msgtype: fc.constantFrom('m.text', 'm.emote'), body: longText(hostileText(20), [65_000, 65_536, 65_537]) }),
);

function matrixMessage(content: Record<string, unknown>): MatrixMessage {
  const remote = (id: string): string | undefined => /^@sandbox_([a-z0-9._=-]+):example\.org$/.exec(id)?.[1];
  return {
    portal: { id: 'c1', receiver: '' } as unknown as PortalKey, roomId: '!r:example.org', eventId: '$e', sender: '@alice:example.org', timestamp: 1,
    msgtype: String(content.msgtype), txnId: 't1', content, text: contentToFormatted(content, remote),
  };
}

describe('fuzz: sandbox content <-> Matrix', function () {
  this.timeout(timeoutFor(CONVERTER_RUNS));

  it('sandbox -> matrix: clean body, allowlisted html, valid mentions', async () => {
    const port = fakePort();
    const ctx = context();
    await fuzzAsync('sandbox -> matrix: clean body, allowlisted html, valid mentions', wireContent, CONVERTER_RUNS, async (wire) => {
      if (!messageContentSchema.safeParse(wire).success) return; // the sandbox client drops what the schema refuses
      const content = await contentToMatrix(port, wire, ctx);
      const mentions = (content['m.mentions'] as { user_ids?: unknown[] } | undefined)?.user_ids ?? [];
      expectNone(
        [
          typeof content.body === 'string' ? textProblem(content.body) : 'no body',
          ...htmlProblems(typeof content.formatted_body === 'string' ? content.formatted_body : '', { tags: WRITER_TAGS, wellFormed: true }),
          ...mentions.map((u) => (isValidUserId(u) ? undefined : `m.mentions user ${JSON.stringify(u)}`)),
          content.formatted_body !== undefined && content.format !== 'org.matrix.custom.html' ? 'formatted_body without format' : undefined,
        ],
        { wire, content },
      );
    });
  });

  it('matrix -> sandbox: content the wire schema accepts, clean text', async () => {
    const port = fakePort();
    await fuzzAsync('matrix -> sandbox: content the wire schema accepts, clean text', matrixContent, CONVERTER_RUNS, async (content) => {
      const wire = await matrixToWire(port, matrixMessage(content));
      const parsed = messageContentSchema.safeParse(wire);
      const text = wire.kind === 'text' || wire.kind === 'notice' ? wire.text : '';
      expectNone([parsed.success ? undefined : `schema: ${parsed.error.issues[0]?.message}`, textProblem(text)], { content, wire });
    });
  });

  it('huge matrix content -> sandbox: content the wire schema accepts', async () => {
    const port = fakePort();
    await fuzzAsync('huge matrix content -> sandbox: content the wire schema accepts', hugeMatrixContent, hugeRuns(CONVERTER_RUNS), async (content) => {
      const msg = matrixMessage(content);
      const context = { body: String(content.body).slice(0, 100), html: String((content as Record<string, unknown>).formatted_body ?? '').slice(0, 100) };
      let wire: MessageContent;
      try {
        wire = await matrixToWire(port, msg);
      } catch (err) {
        // Too long for the sandbox: a clear failure (the sender gets a notice), never a bad frame.
        const tooLong = (msg.text?.text.length ?? 0) + (content.msgtype === 'm.emote' ? 2 : 0) > LIMITS.textLength;
        if (isBridgeError(err) && err.reason === 'm_too_large' && tooLong) return;
        throw err;
      }
      const parsed = messageContentSchema.safeParse(wire);
      expectNone([parsed.success ? undefined : `schema: ${parsed.error.issues[0]?.message} at ${parsed.error.issues[0]?.path.join('.')}`], context);
    });
  });
});
