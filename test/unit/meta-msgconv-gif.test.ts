/**
 * GIFs from Matrix: GIF bytes (an m.image of image/gif, or an m.video flagged as a GIF whose file is
 * a GIF) are uploaded as Meta's GIF kind (the upload answers gif_id) and sent by fbid as media; a
 * flagged m.video that is an MP4 stays a video (nothing is transcoded); GIFs have the image limit.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { parseUploadResponse } from '../../bridges/meta/src/client/media.js';
import { sendMessageTask, SEND_TYPE } from '../../bridges/meta/src/lightspeed/tasks.js';
import { META_MEDIA_LIMITS, uploadKindOf, type MetaUploadFile } from '../../bridges/meta/src/msgconv/from-matrix-media.js';
import { matrixMessageToMeta } from '../../bridges/meta/src/msgconv/from-matrix.js';
import { GIF_KEY } from '../../bridges/meta/src/msgconv/to-matrix-common.js';
import { isBridgeError, portalKey, type MatrixMedia, type MatrixMessage } from '../../shared/src/network/index.js';
import { THREAD } from '../helpers/meta-msgconv-fixtures.js';

const dm = { threadId: THREAD, isGroup: false };
const base = { portal: portalKey(THREAD), roomId: '!r:example.org', eventId: '$ev1', sender: '@me:example.org', timestamp: 1_700_000_000_000 };
const media = (over: Partial<MatrixMedia> & { bytes?: number } = {}): MatrixMedia =>
  ({ kind: 'image', mimetype: 'image/gif', filename: 'dance.gif', open: async () => Readable.from([Buffer.alloc(over.bytes ?? 12, 7)]), ...over });
const message = (over: Partial<MatrixMessage>): MatrixMessage => ({ ...base, msgtype: 'm.image', txnId: 'txn-gif', content: {}, ...over });

function recordingUploader() {
  const files: Array<Omit<MetaUploadFile, 'stream'>> = [];
  return {
    files,
    upload: async (file: MetaUploadFile): Promise<string> => {
      for await (const _ of file.stream) { /* drain */ }
      const { stream: _s, ...rest } = file;
      files.push(rest);
      return '7771';
    },
  };
}

describe('GIFs from Matrix to Meta', () => {
  it('an m.image GIF is uploaded as Meta\'s GIF kind and sent as media by its fbid', async () => {
    const up = recordingUploader();
    const input = await matrixMessageToMeta(message({ media: media(), text: { text: 'dance.gif', entities: [] } }), dm, up);
    assert.deepEqual(up.files.map((f) => [f.kind, f.mimetype, f.filename]), [['gif', 'image/gif', 'dance.gif']]);
    const task = sendMessageTask(input);
    assert.equal(task.payload.send_type, SEND_TYPE.media);
    assert.deepEqual(task.payload.attachment_fbids, [7771n]);
    assert.equal(task.payload.text, undefined, 'the file name is not a caption');
  });

  it('an m.video flagged as a GIF goes as a GIF when its file is one, as a video when it is an MP4', async () => {
    const up = recordingUploader();
    await matrixMessageToMeta(message({ msgtype: 'm.video', media: media({ kind: 'video', filename: '' }), content: { [GIF_KEY]: true } }), dm, up);
    await matrixMessageToMeta(message({ msgtype: 'm.video', media: media({ kind: 'video', mimetype: 'video/mp4', filename: 'loop.mp4' }), content: { [GIF_KEY]: true } }), dm, up);
    assert.deepEqual(up.files.map((f) => [f.kind, f.mimetype, f.filename]), [['gif', 'image/gif', 'animation.gif'], ['video', 'video/mp4', 'loop.mp4']]);
    assert.equal(uploadKindOf({ kind: 'sticker', mimetype: 'image/gif; charset=binary' }), 'gif');
    assert.equal(uploadKindOf({ kind: 'image', mimetype: 'image/png' }), 'image');
  });

  it('a GIF over the image limit is refused before anything is uploaded', async () => {
    const up = recordingUploader();
    await assert.rejects(
      matrixMessageToMeta(message({ media: media({ size: META_MEDIA_LIMITS.image + 1 }) }), dm, up),
      (err: unknown) => isBridgeError(err) && err.reason === 'm_too_large',
    );
    assert.equal(up.files.length, 0);
  });

  it('the upload answer names a GIF with gif_id', () => {
    assert.deepEqual(parseUploadResponse('for (;;);{"payload":{"metadata":{"0":{"gif_id":"123456","filetype":"image/gif"}}}}'), { fbid: '123456', kind: 'gif' });
  });
});
