/**
 * Regressions for what the converter fuzzing (test/fuzz, docs/fuzzing.md) found in the network
 * converters: WhatsApp markup written from Matrix, and the sandbox connector's content mapping.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { formatWhatsAppText, parseWhatsAppText } from '../../bridges/whatsapp/src/msgconv/wa-text.js';
import { contentToMatrix, matrixToWire, toWireText } from '../../bridges/sandbox/src/connector/msgconv.js';
import type { SandboxPort } from '../../bridges/sandbox/src/connector/port.js';
import { LIMITS, messageContentSchema } from '../../bridges/sandbox/src/wire.js';
import { formattedToContent } from '../../shared/src/matrix/content.js';
import type { TextEntity } from '../../shared/src/matrix/format/index.js';
import { isBridgeError, type ConvertContext, type MatrixMessage, type PortalKey } from '../../shared/src/network/index.js';

// eslint-disable-next-line no-control-regex -- asserting that control characters are absent
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const noJid = { userIdToJid: () => undefined };

describe('network converter fixes found by fuzzing', () => {
  describe('WhatsApp markup from Matrix', () => {
    it('removes control characters and keeps the formatting on the right characters', () => {
      // Before: "\r", ESC and C1 went to WhatsApp as they were.
      const out = formatWhatsAppText({ text: 'a\r\n\u001bb\u0085old', entities: [{ type: 'bold', offset: 4, length: 5 }] }, noJid);
      assert.equal(out.text, 'a\n*bold*');
      assert.deepEqual(parseWhatsAppText(out.text, { jidToUserId: () => undefined }), { text: 'a\nbold', entities: [{ type: 'bold', offset: 2, length: 4 }] });
    });

    it('writes a link URL only when the core would link it', () => {
      // Before: " (http:\u0000)" and " (javascript:x)" were appended to the text.
      const bad = formatWhatsAppText({ text: 'click', entities: [{ type: 'link', offset: 0, length: 5, url: 'http:\u0000' }] }, noJid);
      assert.equal(bad.text, 'click');
      const script = formatWhatsAppText({ text: 'click', entities: [{ type: 'link', offset: 0, length: 5, url: 'javascript:alert(1)' }] }, noJid);
      assert.equal(script.text, 'click');
      const good = formatWhatsAppText({ text: 'click', entities: [{ type: 'link', offset: 0, length: 5, url: '  https://e.org/x  ' }] }, noJid);
      assert.equal(good.text, 'click (https://e.org/x)');
    });

    it('cleans a mention token made from a hostile JID', () => {
      const out = formatWhatsAppText({ text: 'hi @u', entities: [{ type: 'mention', offset: 3, length: 2, userId: '@u:s' }] }, { userIdToJid: () => '\u0000\n@evil' });
      assert.doesNotMatch(out.text, CONTROL);
      assert.doesNotMatch(out.text, /\n/);
    });
  });

  describe('sandbox content', () => {
    const port = new EventEmitter() as SandboxPort;
    port.downloadMedia = async () => ({ stream: Readable.from([Buffer.from('x')]), size: 1, mimetype: 'image/png' });
    port.uploadMedia = async (_body, mimetype) => ({ media_id: 'm1', mimetype, size: 1 });
    const ctx = {
      portal: { key: { id: 'c', receiver: '' } as unknown as PortalKey, roomId: '!r:s', isDm: false },
      uploadMedia: async () => ({ url: 'mxc://s/m', size: 1, mimetype: 'application/octet-stream' }),
      matrixUserIdFor: () => '@x:s',
      textContent: (text, msgtype) => formattedToContent(text, () => undefined, msgtype),
    } as ConvertContext;

    it('cleans a location name and a file name on the way to Matrix', async () => {
      // Before: "\u0000 (1, 2)" as the body of an m.location.
      const loc = await contentToMatrix(port, { kind: 'location', lat: 1, lon: 2, name: 'Ho\u0000me\u009b' }, ctx);
      assert.equal(loc.body, 'Home (1, 2)');
      const file = await contentToMatrix(port, { kind: 'file', media_id: 'm', mimetype: 'text/plain', size: 1, filename: 'a\u0007.txt' }, ctx);
      assert.equal(file.filename, 'a.txt');
      assert.equal(file.body, 'a.txt');
      const unnamed = await contentToMatrix(port, { kind: 'image', media_id: 'm', mimetype: 'image/png', size: 1, filename: '\u0000' }, ctx);
      assert.equal(unnamed.filename, 'image');
    });

    function message(text: string, entities: TextEntity[], msgtype = 'm.text'): MatrixMessage {
      return {
        portal: { id: 'c', receiver: '' } as unknown as PortalKey, roomId: '!r:s', eventId: '$e', sender: '@a:s', timestamp: 1,
        msgtype, txnId: 't', content: {}, text: { text, entities },
      };
    }

    it('keeps at most the wire limit of entities, so the sandbox accepts the message', async () => {
      // Before: 2,000 bold words from Matrix HTML made a frame the sandbox refused.
      const words = Array.from({ length: 2000 }, () => 'w').join(' ');
      const entities = Array.from({ length: 2000 }, (_, i) => ({ type: 'bold' as const, offset: i * 2, length: 1 }));
      const wire = await matrixToWire(port, message(words, entities));
      assert.ok(messageContentSchema.safeParse(wire).success);
      assert.equal(wire.kind === 'text' ? wire.entities.length : -1, LIMITS.entities);
    });

    it('drops formatting whose URL or id the wire cannot carry, keeping the text', () => {
      const out = toWireText({ text: 'ab', entities: [{ type: 'link', offset: 0, length: 1, url: `https://e.org/${'x'.repeat(5000)}` }, { type: 'bold', offset: 1, length: 1 }] });
      assert.deepEqual(out, { text: 'ab', entities: [{ type: 'bold', offset: 1, length: 1 }] });
    });

    it('refuses text longer than the sandbox takes with m_too_large, an emote counting its "* "', async () => {
      const text = 'x'.repeat(LIMITS.textLength - 1);
      assert.equal((await matrixToWire(port, message(text, []))).kind, 'text');
      await assert.rejects(matrixToWire(port, message(text, [], 'm.emote')), (err: unknown) => isBridgeError(err) && err.reason === 'm_too_large');
    });
  });
});
