/**
 * What a contact sends on the emulator's Instagram flavour reaches the real MetaClient as slide
 * deltas with the attachment rows the shared converter reads: video (with its duration), voice,
 * a file (the emulator's stand-in), a sticker (with its id), a GIF (an mp4 that loops) and a shared
 * post (an XMA card with link, text and preview); media bytes download unchanged. Group admin
 * changes (promotion and demotion) come through as participant flags, and a new group arrives
 * with its members.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { MetaEvent } from '../../bridges/meta/src/client/events.js';
import { MetaEnv, USER, GROUP_1, until } from '../helpers/meta-env.js';

const ALICE_DM = 'dm:alice:me';
const enc = encodeURIComponent;
type Msg = Extract<MetaEvent, { type: 'message' }>;

describe('Instagram flavour: content kinds and group changes over slide deltas', function () {
  this.timeout(30_000);
  const env = new MetaEnv('instagram');
  beforeEach(() => env.start());
  afterEach(() => env.stop());

  const upload = async (bytes: Buffer, mimetype: string) => {
    const res = await fetch(`${env.server.url}/media`, { method: 'POST', headers: { Authorization: `Bearer ${await env.token('alice')}`, 'Content-Type': mimetype }, body: bytes });
    assert.equal(res.status, 201);
    return ((await res.json()) as { media_id: string }).media_id;
  };
  const fromAlice = (events: MetaEvent[], n: number) => until(`${n} messages from alice`, () => {
    const got = events.filter((e): e is Msg => e.type === 'message' && e.message.senderId === USER.alice);
    return got.length >= n && got;
  });

  it('video, voice, file, sticker, GIF and a shared post become the right attachment rows', async () => {
    const { client, events } = await env.connected();
    const video = randomBytes(3000);
    const voice = randomBytes(1500);
    const pdf = randomBytes(900);
    const png = randomBytes(400);
    const gif = randomBytes(700);
    const send = (body: Record<string, unknown>) => env.control('POST', `/chats/${enc(ALICE_DM)}/messages`, { as: 'alice', ...body });
    await send({ media: { kind: 'video', base64: video.toString('base64'), mimetype: 'video/mp4', filename: 'clip.mp4', duration_ms: 3000 } });
    await send({ media: { kind: 'audio', base64: voice.toString('base64'), mimetype: 'audio/ogg', duration_ms: 2000 } });
    await send({ media: { kind: 'file', base64: pdf.toString('base64'), mimetype: 'application/pdf', filename: 'report.pdf' } });
    await send({ extension: { network: 'instagram', fallback: 'Sticker', payload: { sticker_id: '1234567890', meta_attachment: { type: 'sticker', media_id: await upload(png, 'image/png'), mimetype: 'image/png' } } } });
    await send({ extension: { network: 'instagram', fallback: 'GIF', payload: { meta_attachment: { type: 'gif', media_id: await upload(gif, 'video/mp4'), width: 120, height: 80 } } } });
    const post = 'https://www.instagram.com/p/Cabc123/';
    await send({ extension: { network: 'instagram', fallback: post, payload: { meta_attachment: { type: 'xma', url: post, title: 'A post', subtitle: 'by alice', media_id: await upload(png, 'image/png') } } } });
    const [v, a, f, s, g, x] = await fromAlice(events, 6);
    const att = (m: Msg) => {
      assert.equal(m.attachments.length, 1);
      return m.attachments[0]!;
    };
    const bytesOf = async (url: string | undefined) => Buffer.from((await client.downloadMedia(url!)).bytes);

    const va = att(v!);
    assert.deepEqual([va.attachmentType, 'playableDurationMs' in va && va.playableDurationMs], [4, 3000]);
    assert.ok((await bytesOf('playableUrl' in va ? va.playableUrl : undefined)).equals(video));
    const aa = att(a!);
    assert.equal(aa.attachmentType, 5);
    assert.ok((await bytesOf('playableUrl' in aa ? aa.playableUrl : undefined)).equals(voice));
    const fa = att(f!);
    assert.deepEqual([fa.attachmentType, fa.filename, fa.attachmentMimeType], [6, 'report.pdf', 'application/pdf']);
    assert.ok((await bytesOf('playableUrl' in fa ? fa.playableUrl : undefined)).equals(pdf));
    assert.equal(s!.message.stickerId, '1234567890');
    const sa = att(s!);
    assert.equal(sa.attachmentType, 1);
    assert.ok((await bytesOf(sa.previewUrl)).equals(png));
    const ga = att(g!);
    assert.deepEqual([ga.attachmentType, 'playableUrlMimeType' in ga && ga.playableUrlMimeType, ga.previewWidth], [3, 'video/mp4', 120]);
    assert.ok((await bytesOf('playableUrl' in ga ? ga.playableUrl : undefined)).equals(gif));
    const xa = att(x!);
    assert.ok('hasXma' in xa && xa.hasXma === true);
    assert.deepEqual(['actionUrl' in xa && xa.actionUrl, 'titleText' in xa && xa.titleText, 'subtitleText' in xa && xa.subtitleText], [post, 'A post', 'by alice']);
    assert.ok((await bytesOf(xa.previewUrl)).equals(png));
    for (const m of [s!, g!, x!]) assert.equal(m.message.text, undefined, 'no fallback text next to the attachment');
  });

  it('a promotion and a demotion change the admin flag; a new group arrives with its members', async () => {
    const { events } = await env.connected();
    const flag = (from: number) => events.slice(from).filter((e) => e.type === 'thread' && e.change === 'participant-added' && e.participant.threadKey === GROUP_1 && e.participant.contactId === USER.bob)
      .map((e) => e.type === 'thread' && e.change === 'participant-added' && e.participant.isAdmin);
    let from = events.length;
    await env.control('POST', `/chats/${enc('g:1')}/roles`, { user: 'bob', role: 'admin' });
    await until('bob promoted', () => flag(from).includes(true));
    from = events.length;
    await env.control('POST', `/chats/${enc('g:1')}/roles`, { user: 'bob', role: 'member' });
    await until('bob demoted', () => flag(from).includes(false));

    const group = await env.control<{ id: string }>('POST', '/groups', { creator: 'alice', name: 'New crew', members: ['me', 'bob'] });
    const key = (10n ** 15n + BigInt(group.id.slice(2))).toString();
    const upsert = await until('new group', () => events.find((e) => e.type === 'thread' && e.change === 'upsert' && e.thread.threadKey === key));
    assert.ok(upsert.type === 'thread' && upsert.change === 'upsert' && upsert.thread.threadName === 'New crew' && upsert.thread.threadType === 2);
    await until('its members', () => new Set(events.filter((e) => e.type === 'thread' && e.change === 'participant-added' && e.participant.threadKey === key)
      .map((e) => e.type === 'thread' && e.change === 'participant-added' && e.participant.contactId)).size === 3);
  });
});
