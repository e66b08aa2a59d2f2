/**
 * Voice clips from Matrix: the upload form carries `voice_clip`, so Meta shows the clip with its
 * player; other audio goes as a file (the emulator keeps only flagged audio as audio).
 */
import assert from 'node:assert/strict';
import { sendMessageTask } from '../../bridges/meta/src/lightspeed/tasks.js';
import { deriveOtid } from '../../bridges/meta/src/lightspeed/ids.js';
import { MetaEnv, USER } from '../helpers/meta-env.js';

const enc = encodeURIComponent;

describe('MetaClient voice clips against the Meta emulator', function () {
  this.timeout(30_000);
  const env = new MetaEnv('messenger');
  beforeEach(() => env.start());
  afterEach(() => env.stop());

  it('uploads a voice clip flagged as one, and other audio as a file', async () => {
    const { client } = await env.connected();
    const clip = new Uint8Array(2_000).map((_, i) => i % 199);
    const voice = await client.uploadMedia(clip, 'audio/ogg', 'voice.ogg', { voiceClip: true });
    const song = await client.uploadMedia(clip, 'audio/mpeg', 'song.mp3');
    assert.equal(voice.kind, 'audio');
    assert.equal(song.kind, 'file');
    for (const [i, up] of [voice, song].entries()) {
      await client.sendTask(sendMessageTask({ threadId: USER.alice, otid: deriveOtid(`$voice-${i}`, Date.now()), attachmentFbids: [up.fbid] }));
    }
    const sent = (await env.control<Array<{ content: { kind: string; mimetype?: string } }>>('GET', `/chats/${enc('dm:alice:me')}/messages`)).slice(-2);
    assert.deepEqual(sent.map((m) => [m.content.kind, m.content.mimetype]), [['audio', 'audio/ogg'], ['file', 'audio/mpeg']]);
  });
});
