/**
 * Media types from the first bytes, for Meta attachments that come without one (Instagram's slide
 * attachments): the signatures, the stream that keeps every byte, and the converter using both.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mimeFromBytes, sniffStream } from '../../bridges/meta/src/msgconv/mime-sniff.js';
import { ATTACHMENT_TYPE } from '../../bridges/meta/src/msgconv/meta-message.js';
import { convertMetaMedia } from '../../bridges/meta/src/msgconv/to-matrix-media.js';
import { blobRow, recordingContext } from '../helpers/meta-msgconv-fixtures.js';

const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF-rest-of-a-jpeg-file');

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe('Meta media types from their first bytes', () => {
  it('names the formats Meta serves and nothing else', () => {
    const cases: Array<[Buffer, string | undefined]> = [
      [JPEG, 'image/jpeg'],
      [bytes([0x89], 'PNG\r\n\x1a\n'), 'image/png'],
      [bytes('GIF89a'), 'image/gif'],
      [bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '), 'image/webp'],
      [bytes([0, 0, 0, 0x18], 'ftypmp42'), 'video/mp4'],
      [bytes([0, 0, 0, 0x14], 'ftypqt  '), 'video/quicktime'],
      [bytes([0, 0, 0, 0x20], 'ftypM4A '), 'audio/mp4'],
      [bytes('OggS', [0, 2]), 'audio/ogg'],
      [bytes([0x1a, 0x45, 0xdf, 0xa3]), 'video/webm'],
      [bytes('ID3', [4, 0]), 'audio/mpeg'],
      [bytes([0xff, 0xfb, 0x90]), 'audio/mpeg'],
      [bytes('%PDF-1.7'), 'application/pdf'],
      [bytes('hello world'), undefined],
      [bytes([0xff]), undefined],
      [Buffer.alloc(0), undefined],
    ];
    for (const [head, want] of cases) assert.equal(mimeFromBytes(head), want, head.toString('hex'));
  });

  it('keeps every byte of a stream it read the head of, however it is chunked', async () => {
    const whole = Buffer.concat([JPEG, Buffer.alloc(5000, 7)]);
    const oneByte = Readable.from([...whole].map((b) => Buffer.from([b])));
    const sniffed = await sniffStream(oneByte);
    assert.equal(sniffed.mimetype, 'image/jpeg');
    assert.ok((await drain(sniffed.stream)).equals(whole));
    const short = await sniffStream(Readable.from([bytes('GIF8')]));
    assert.equal(short.mimetype, 'image/gif');
    assert.ok((await drain(short.stream)).equals(bytes('GIF8')));
    const empty = await sniffStream(Readable.from([]));
    assert.equal(empty.mimetype, undefined);
    assert.equal((await drain(empty.stream)).length, 0);
  });

  it('passes on a failure after the head', async () => {
    const failing = new Readable({ read() { /* pushed below */ } });
    failing.push(JPEG);
    const sniffed = await sniffStream(failing);
    failing.destroy(new Error('connection reset'));
    await assert.rejects(drain(sniffed.stream), /connection reset/);
  });

  it('an attachment without a type gets the one its bytes name, downloaded once', async () => {
    const { ctx, deps, uploads, downloads } = recordingContext({ platform: 'instagram' });
    deps.download = async (url) => {
      downloads.push(url);
      return Readable.from([JPEG.subarray(0, 3), JPEG.subarray(3)]);
    };
    const part = await convertMetaMedia(blobRow({ attachmentType: ATTACHMENT_TYPE.image, previewUrl: 'https://cdn/ig-photo' }), ctx, deps);
    assert.equal((part.content.info as { mimetype: string }).mimetype, 'image/jpeg');
    assert.equal(part.content.body, 'image.jpg');
    assert.equal(uploads[0]!.bytes, JPEG.toString());
    assert.deepEqual(downloads, ['https://cdn/ig-photo']);
  });
});
