/**
 * The emulator's `meta_attachment` extension content (stickers, GIFs, XMA shares) as LightSpeed
 * attachment rows, read back through the step interpreter and the Meta -> Matrix media kinds.
 */
import assert from 'node:assert/strict';
import type { WireMessage } from '../../bridges/sandbox/src/wire.js';
import { addExtensionAttachment, metaAttachmentOf } from '../../bridges/meta/src/emulator/extension-rows.js';
import type { RowContext } from '../../bridges/meta/src/emulator/rows.js';
import { LSProgramBuilder } from '../../bridges/meta/src/lightspeed/builder.js';
import { runSteps } from '../../bridges/meta/src/lightspeed/steps.js';
import { isXma, xmaKindOf } from '../../bridges/meta/src/msgconv/to-matrix-xma.js';
import { mediaKindOf, mediaSourceOf } from '../../bridges/meta/src/msgconv/to-matrix-media.js';

const ctx = { mediaUrl: (id: string) => `http://emu/fbcdn/${id}` } as unknown as RowContext;

function message(payload: Record<string, unknown>, deleted = false): WireMessage {
  return {
    id: 'm1', chat_id: 'dm:alice:me', seq: 1, sender: 'alice', ts: 1_700_000_000_000, edit_count: 0, deleted, reactions: [],
    content: { kind: 'extension', network: 'messenger', payload: payload as never, fallback: 'Sticker' },
  } as unknown as WireMessage;
}

function rowsOf(msg: WireMessage) {
  const b = new LSProgramBuilder();
  addExtensionAttachment(b, msg, '15550000001', 'mid.$x', ctx);
  return runSteps(b.build()).tables;
}

describe('meta emulator: meta_attachment extension rows', () => {
  it('a sticker becomes a sticker blob attachment shown from its preview', () => {
    const t = rowsOf(message({ sticker_id: '123', meta_attachment: { type: 'sticker', media_id: 'med1', mimetype: 'image/png' } }));
    const att = t.LSInsertBlobAttachment?.[0];
    assert.ok(att);
    assert.equal(att.previewUrl, 'http://emu/fbcdn/med1');
    assert.equal(att.playableUrl, undefined);
    assert.equal(mediaKindOf(att, mediaSourceOf(att)?.mimetype), 'sticker');
  });

  it('a GIF becomes an animated image that plays from its video', () => {
    const t = rowsOf(message({ meta_attachment: { type: 'gif', media_id: 'med2', mimetype: 'video/mp4', width: 120, height: 80 } }));
    const att = t.LSInsertBlobAttachment?.[0];
    assert.ok(att);
    assert.equal(att.playableUrl, 'http://emu/fbcdn/med2');
    assert.equal(att.previewWidth, 120);
    assert.equal(mediaKindOf(att, mediaSourceOf(att)?.mimetype), 'gif');
  });

  it('a share becomes an XMA attachment with its link, card text and preview', () => {
    const t = rowsOf(message({ meta_attachment: { type: 'xma', url: 'https://www.instagram.com/reel/Cdef/', title: 'A reel', subtitle: 'by alice', media_id: 'med3' } }));
    const att = t.LSInsertAttachment?.[0];
    assert.ok(att);
    assert.ok(isXma(att));
    assert.equal(att.actionUrl, 'https://www.instagram.com/reel/Cdef/');
    assert.equal(xmaKindOf(att.actionUrl), 'reel');
    assert.deepEqual([att.titleText, att.subtitleText, att.previewUrl], ['A reel', 'by alice', 'http://emu/fbcdn/med3']);
  });

  it('adds nothing for other extensions, a deleted message, a media spec without media, or a bad type', () => {
    assert.deepEqual(rowsOf(message({ poll: { q: 'x' } })), {});
    assert.deepEqual(rowsOf(message({ meta_attachment: { type: 'sticker', media_id: 'm' } }, true)), {});
    assert.deepEqual(rowsOf(message({ meta_attachment: { type: 'gif' } })), {});
    assert.equal(metaAttachmentOf(message({ meta_attachment: { type: 'poll' } })), undefined);
    assert.equal(metaAttachmentOf(message({ meta_attachment: ['sticker'] })), undefined);
  });
});
