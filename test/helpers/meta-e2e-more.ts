/**
 * More of the Messenger / Instagram e2e suite (helpers/meta-e2e.ts runs these inside its describe,
 * on its stack and login): formatting and mentions both ways, Meta's edit limits, one reaction per
 * person both ways, and every media kind (video, voice, file, sticker, GIF, shared post / reel /
 * story) from Meta, and video, voice, file, GIF, sticker and plain audio to Meta with the same bytes.
 * Stickers, GIFs and shares are sent as the emulator's `meta_attachment` extension content
 * (bridges/meta/src/emulator/extension-rows.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type * as sdk from 'matrix-js-sdk';
import { generateTestPng } from '../../bridges/sandbox/src/server/index.js';
import { type BridgeEnv, eventually } from './bridge-env.js';
import type { TestClient } from './matrix-client.js';
import type { RegisteredUser } from './synapse.js';
import { downloadMxc, downloadNetworkMedia, entitiesOf, sendAs, textOf, waitForNetworkMessage, type NetworkMessage } from './portal-setup.js';

/** What the suite body shares with these cases (read when a case runs, after its `before`). */
export interface MetaSuite {
  kind: 'messenger' | 'instagram';
  app: string;
  env: BridgeEnv;
  me: TestClient;
  meUser: RegisteredUser;
  mgmt: string;
  /** The portal of the DM with alice. */
  dm: string;
  /** Sandbox events from now on happen `ms` in the past (0: back to the real time). */
  age(ms: number): void;
}

export const ALICE = '15550000001';
export const DM_ALICE = 'dm:alice:me';
const enc = encodeURIComponent;

type Rel = { rel_type?: string; event_id?: string; key?: string; 'm.in_reply_to'?: { event_id?: string } };
export const relOf = (e: sdk.MatrixEvent): Rel => (e.getContent()['m.relates_to'] ?? {}) as Rel;

/** Stores bytes on the sandbox as `as` (their account token), for content the control API cannot carry. */
export async function uploadNetworkMedia(env: BridgeEnv, as: string, bytes: Buffer, mimetype: string): Promise<string> {
  const { token } = await env.control<{ token: string }>('GET', `/accounts/${enc(as)}`);
  const res = await fetch(`${env.sandbox.url}/media`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': mimetype }, body: bytes });
  assert.equal(res.status, 201, `sandbox upload: ${res.status}`);
  return ((await res.json()) as { media_id: string }).media_id;
}

/** The failure notice the bot puts under a Matrix event it could not bridge. */
export function failureNotice(s: MetaSuite, room: string, eventId: string): Promise<sdk.MatrixEvent> {
  return s.me.waitForEvent(room, (e) => e.getSender() === s.env.botMxid && e.getContent().msgtype === 'm.notice' && relOf(e)['m.in_reply_to']?.event_id === eventId, 30_000);
}

export function metaMessageCases(suite: () => MetaSuite): void {
  const byMe = (text: string) => (m: NetworkMessage) => m.sender === 'me' && textOf(m) === text;

  it('bridges bold, italic, strikethrough, code and a mention both ways (a pill is a Meta mention and back)', async () => {
    const s = suite();
    const { env, me, dm } = s;
    const pill = `<a href="https://matrix.to/#/${env.ghost(ALICE)}">Alice Liddell</a>`;
    await me.client.sendMessage(dm, {
      msgtype: 'm.text', body: 'bold italic strike code Alice Liddell', format: 'org.matrix.custom.html',
      formatted_body: `<b>bold</b> <i>italic</i> <del>strike</del> <code>code</code> ${pill}`, 'm.mentions': { user_ids: [env.ghost(ALICE)] },
    } as never);
    const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && textOf(m).startsWith('*bold*'));
    assert.equal(textOf(net), '*bold* _italic_ ~strike~ `code` @Alice Liddell');
    const mention = entitiesOf(net).find((e) => e.type === 'mention');
    assert.ok(mention, `a mention in ${JSON.stringify(entitiesOf(net))}`);
    assert.equal(mention.userId, 'alice', 'the pill arrived as a mention of alice');
    assert.equal(textOf(net).slice(mention.offset, mention.offset + mention.length), '@Alice Liddell');

    const text = '*bold* _italic_ ~strike~ `code` @Me';
    await sendAs(env, DM_ALICE, 'alice', { formatted: { text, entities: [{ type: 'mention', offset: text.indexOf('@Me'), length: 3, userId: 'me' }] } });
    const ev = await me.waitForEvent(dm, (e) => e.getSender() === env.ghost(ALICE) && /^bold italic strike code/.test(e.getContent().body ?? ''), 30_000);
    const html = String(ev.getContent().formatted_body ?? '');
    for (const tag of ['<strong>bold</strong>', '<em>italic</em>', '<del>strike</del>', '<code>code</code>']) assert.ok(html.includes(tag), `${tag} in ${html}`);
    const href = /<a href="([^"]+)">[^<]*Me[^<]*<\/a>/.exec(html)?.[1];
    assert.equal(href && decodeURIComponent(href), `https://matrix.to/#/${s.meUser.userId}`, `a pill for the person in ${html}`);
    assert.deepEqual((ev.getContent()['m.mentions'] as { user_ids?: string[] } | undefined)?.user_ids, [s.meUser.userId]);
  });

  it('refuses a sixth edit and an edit of an old message from Matrix with a clear notice, changing nothing', async () => {
    const s = suite();
    const { env, me, dm } = s;
    const edit = (target: string, body: string) => me.client.sendMessage(dm, {
      msgtype: 'm.text', body: `* ${body}`, 'm.new_content': { msgtype: 'm.text', body }, 'm.relates_to': { rel_type: 'm.replace', event_id: target },
    } as never).then((r) => r.event_id);
    const mine = await me.sendText(dm, 'edit me');
    const net = await waitForNetworkMessage(env, DM_ALICE, byMe('edit me'));
    for (let i = 1; i <= 5; i++) {
      await edit(mine, `edit me ${i}`);
      await eventually(`edit ${i} on the network`, async () => textOf(await env.control<NetworkMessage>('GET', `/messages/${enc(net.id)}`)) === `edit me ${i}`);
    }
    const sixth = await edit(mine, 'edit me 6');
    assert.match(String((await failureNotice(s, dm, sixth)).getContent().body), /^⚠️ Your message was not bridged: Messages can be edited at most 5 times/);
    const after = await env.control<NetworkMessage>('GET', `/messages/${enc(net.id)}`);
    assert.equal(textOf(after), 'edit me 5');
    assert.equal(after.edit_count, 5);

    // A message the person sent from their phone 20 minutes ago (the sandbox clock set back for it).
    s.age(20 * 60_000);
    let old: NetworkMessage;
    try {
      old = await sendAs(env, DM_ALICE, 'me', { text: 'sent a while ago' });
    } finally {
      s.age(0);
    }
    const oldEv = await me.waitForEvent(dm, (e) => e.getContent().body === 'sent a while ago', 30_000);
    const late = await edit(oldEv.getId()!, 'too late');
    assert.match(String((await failureNotice(s, dm, late)).getContent().body), /^⚠️ Your message was not bridged: Messages can be edited only within 15 minutes of sending/);
    const unchanged = await env.control<NetworkMessage>('GET', `/messages/${enc(old.id)}`);
    assert.equal(textOf(unchanged), 'sent a while ago');
    assert.equal(unchanged.edit_count, 0);
  });

  it('keeps one reaction per person: a second one replaces the first, from Meta and from Matrix', async () => {
    const { env, me, dm } = suite();
    const target = await sendAs(env, DM_ALICE, 'alice', { text: 'react twice' });
    const ev = await me.waitForEvent(dm, (e) => e.getContent().body === 'react twice', 30_000);
    const aliceReaction = (key: string) => me.waitForEvent(dm, (e) => e.getType() === 'm.reaction' && e.getSender() === env.ghost(ALICE) && relOf(e).event_id === ev.getId() && relOf(e).key === key, 30_000);
    const redaction = (id: string) => me.waitForEvent(dm, (e) => e.getType() === 'm.room.redaction' && e.event.redacts === id, 30_000);
    await env.control('POST', `/messages/${enc(target.id)}/reactions`, { as: 'alice', emoji: '😂' });
    const first = await aliceReaction('😂');
    await env.control('POST', `/messages/${enc(target.id)}/reactions`, { as: 'alice', emoji: '❤️' });
    await aliceReaction('❤️');
    await redaction(first.getId()!);

    const reactionsOnNet = async () => (await env.control<NetworkMessage>('GET', `/messages/${enc(target.id)}`)).reactions.filter((r) => r.user_id === 'me');
    const thumbs = (await me.client.sendEvent(dm, 'm.reaction' as never, { 'm.relates_to': { rel_type: 'm.annotation', event_id: ev.getId()!, key: '👍' } } as never)).event_id;
    await eventually('👍 on the network', async () => (await reactionsOnNet()).some((r) => r.emoji === '👍'));
    await me.client.sendEvent(dm, 'm.reaction' as never, { 'm.relates_to': { rel_type: 'm.annotation', event_id: ev.getId()!, key: '🎉' } } as never);
    await eventually('🎉 replacing 👍 on the network', async () => {
      const mine = await reactionsOnNet();
      return mine.length === 1 && mine[0]!.emoji === '🎉';
    });
    await redaction(thumbs);
  });

  it('bridges video, voice, a file, a sticker and a GIF from Meta with the same bytes', async () => {
    const s = suite();
    const { env, me, dm } = s;
    const bytesOf = (e: sdk.MatrixEvent) => downloadMxc(env, s.meUser.accessToken, e.getContent().url!);
    const video = randomBytes(3000);
    await sendAs(env, DM_ALICE, 'alice', { media: { kind: 'video', base64: video.toString('base64'), mimetype: 'video/mp4', filename: 'clip.mp4', duration_ms: 3000 } });
    const videoEv = await me.waitForEvent(dm, (e) => e.getContent().msgtype === 'm.video' && e.getSender() === env.ghost(ALICE) && !e.getContent()['net.tributary.gif'], 30_000);
    assert.ok((await bytesOf(videoEv)).equals(video), 'the video bytes');
    assert.equal(videoEv.getContent().info?.duration, 3000);

    const voice = randomBytes(1500);
    await sendAs(env, DM_ALICE, 'alice', { media: { kind: 'audio', base64: voice.toString('base64'), mimetype: 'audio/ogg', duration_ms: 2000 } });
    const voiceEv = await me.waitForEvent(dm, (e) => e.getContent().msgtype === 'm.audio' && e.getSender() === env.ghost(ALICE), 30_000);
    assert.ok((await bytesOf(voiceEv)).equals(voice), 'the voice bytes');
    assert.ok(voiceEv.getContent()['org.matrix.msc3245.voice'], 'shown as a voice message');

    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(800)]);
    await sendAs(env, DM_ALICE, 'alice', { media: { kind: 'file', base64: pdf.toString('base64'), mimetype: 'application/pdf', filename: 'report.pdf' } });
    const fileEv = await me.waitForEvent(dm, (e) => e.getContent().msgtype === 'm.file' && e.getSender() === env.ghost(ALICE), 30_000);
    assert.ok((await bytesOf(fileEv)).equals(pdf), 'the file bytes');
    assert.equal(fileEv.getContent().body, 'report.pdf');

    const stickerPng = generateTestPng(20, 20, [250, 200, 0]);
    const stickerMedia = await uploadNetworkMedia(env, 'alice', stickerPng, 'image/png');
    await sendAs(env, DM_ALICE, 'alice', { extension: { network: s.kind, fallback: 'Sticker', payload: { sticker_id: '1234567890', meta_attachment: { type: 'sticker', media_id: stickerMedia, mimetype: 'image/png' } } } });
    const sticker = await me.waitForEvent(dm, (e) => e.getType() === 'm.sticker' && e.getSender() === env.ghost(ALICE), 30_000);
    assert.ok((await bytesOf(sticker)).equals(stickerPng), 'the sticker image');
    assert.equal(sticker.getContent()['net.tributary.meta.sticker_id'], '1234567890');

    const gif = randomBytes(2000);
    const gifMedia = await uploadNetworkMedia(env, 'alice', gif, 'video/mp4');
    await sendAs(env, DM_ALICE, 'alice', { extension: { network: s.kind, fallback: 'GIF', payload: { meta_attachment: { type: 'gif', media_id: gifMedia, mimetype: 'video/mp4', width: 120, height: 80 } } } });
    const gifEv = await me.waitForEvent(dm, (e) => e.getContent().msgtype === 'm.video' && e.getContent()['net.tributary.gif'] === true, 30_000);
    assert.ok((await bytesOf(gifEv)).equals(gif), 'the GIF bytes');
    assert.equal(gifEv.getContent().info?.['fi.mau.loop'], true, 'shown as a looping GIF');
  });

  it('bridges a shared post, reel and story from Meta as a link with a preview', async () => {
    const s = suite();
    const { env, me, dm } = s;
    const preview = generateTestPng(16, 16, [0, 120, 255]);
    const previewMedia = await uploadNetworkMedia(env, 'alice', preview, 'image/png');
    const shares = [
      { label: 'Shared post', url: 'https://www.instagram.com/p/Cabc123/', title: 'A post' },
      { label: 'Shared reel', url: 'https://www.instagram.com/reel/Cdef456/', title: 'A reel' },
      { label: 'Shared story', url: 'https://www.instagram.com/stories/alice/3141592653/', title: 'A story' },
    ];
    for (const share of shares) {
      await sendAs(env, DM_ALICE, 'alice', {
        extension: { network: s.kind, fallback: share.url, payload: { meta_attachment: { type: 'xma', url: share.url, title: share.title, subtitle: 'by alice', media_id: previewMedia, mimetype: 'image/png' } } },
      });
      const ev = await me.waitForEvent(dm, (e) => e.getSender() === env.ghost(ALICE) && String(e.getContent().body ?? '').startsWith(`${share.label}: ${share.title}`), 30_000);
      const content = ev.getContent();
      assert.ok(String(content.body).endsWith(share.url), `the link in ${String(content.body)}`);
      assert.equal(content.external_url, share.url);
      const card = (content['com.beeper.linkpreviews'] as Array<Record<string, unknown>>)[0]!;
      assert.equal(card['og:url'], share.url);
      assert.equal(card['og:title'], share.title);
      assert.ok((await downloadMxc(env, s.meUser.accessToken, String(card['og:image']))).equals(preview), 'the preview image');
    }
  });

  it('sends video, voice and a file from Matrix to Meta with the same bytes', async () => {
    const { env, me, dm } = suite();
    const send = async (msgtype: string, bytes: Buffer, mimetype: string, name: string, extra: Record<string, unknown> = {}) => {
      const up = await me.client.uploadContent(bytes, { type: mimetype, name });
      await me.client.sendMessage(dm, { msgtype, body: name, filename: name, url: up.content_uri, info: { mimetype, size: bytes.length }, ...extra } as never);
    };
    const cases = [
      { msgtype: 'm.video', kind: 'video', bytes: randomBytes(4000), mimetype: 'video/mp4', name: 'mine.mp4', extra: {} },
      { msgtype: 'm.audio', kind: 'audio', bytes: randomBytes(1800), mimetype: 'audio/ogg', name: 'voice.ogg', extra: { 'org.matrix.msc3245.voice': {}, 'org.matrix.msc1767.audio': { duration: 1500 } } },
      { msgtype: 'm.file', kind: 'file', bytes: Buffer.from(`notes ${randomBytes(8).toString('hex')}\n`), mimetype: 'text/plain', name: 'notes.txt', extra: {} },
    ];
    for (const c of cases) {
      await send(c.msgtype, c.bytes, c.mimetype, c.name, c.extra);
      const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && m.content.kind === c.kind);
      const content = net.content as { media_id: string; mimetype: string; filename?: string };
      assert.ok((await downloadNetworkMedia(env, content.media_id)).equals(c.bytes), `the ${c.kind} bytes`);
      assert.equal(content.mimetype, c.mimetype);
      if (c.kind === 'file') assert.equal(content.filename, 'notes.txt');
    }
  });

  it('sends a GIF, a sticker and plain audio from Matrix as Meta\'s kinds, with the same bytes', async () => {
    const { env, me, dm } = suite();
    const gif = Buffer.concat([Buffer.from('GIF89a'), randomBytes(600)]);
    const sticker = generateTestPng(12, 12);
    const song = randomBytes(900);
    const cases = [
      // A GIF is uploaded as Meta's GIF (gif_id) and arrives as an animated image.
      { type: 'm.room.message', content: { msgtype: 'm.image', body: 'party.gif' }, bytes: gif, mimetype: 'image/gif', kind: 'image' },
      // A sticker Meta never sent goes as an image.
      { type: 'm.sticker', content: { body: 'a sticker' }, bytes: sticker, mimetype: 'image/png', kind: 'image' },
      // Audio that is not a voice message is uploaded without the voice_clip flag: a file on Meta.
      { type: 'm.room.message', content: { msgtype: 'm.audio', body: 'song.mp3', filename: 'song.mp3' }, bytes: song, mimetype: 'audio/mpeg', kind: 'file' },
    ];
    const seen = new Set((await env.control<NetworkMessage[]>('GET', `/chats/${enc(DM_ALICE)}/messages`)).map((m) => m.id));
    for (const c of cases) {
      const up = await me.client.uploadContent(c.bytes, { type: c.mimetype, name: String(c.content.body) });
      await me.client.sendEvent(dm, c.type as never, { ...c.content, url: up.content_uri, info: { mimetype: c.mimetype, size: c.bytes.length, w: 12, h: 12 } } as never);
      const net = await waitForNetworkMessage(env, DM_ALICE, (m) => m.sender === 'me' && !seen.has(m.id) && (m.content as { mimetype?: string }).mimetype === c.mimetype);
      seen.add(net.id);
      const content = net.content as { kind: string; media_id: string };
      assert.equal(content.kind, c.kind, `${c.mimetype} arrives as ${c.kind}`);
      assert.ok((await downloadNetworkMedia(env, content.media_id)).equals(c.bytes), `the ${c.mimetype} bytes`);
    }
  });
}
