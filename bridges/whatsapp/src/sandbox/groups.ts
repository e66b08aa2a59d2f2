/** Group operations of the emulated socket: sandbox groups as Baileys' GroupMetadata. */
import type { Readable } from 'node:stream';
import { Boom } from '@hapi/boom';
import type { GroupMetadata, WAMediaUpload } from 'baileys';
import { isSandboxClientError, type WireChat } from '@tributary/sandbox/client/index';
import type { WAClientPort } from '../client/port.js';
import { groupChatId, groupJid, type SandboxDirectory } from './directory.js';
import type { EventContext } from './events.js';

type GroupMethods = Pick<WAClientPort,
  'groupMetadata' | 'groupFetchAllParticipating' | 'groupCreate' | 'groupUpdateSubject' | 'groupUpdateDescription' |
  'groupParticipantsUpdate' | 'groupLeave' | 'updateProfilePicture' | 'removeProfilePicture'>;

export async function metadataOf(chat: WireChat, dir: SandboxDirectory): Promise<GroupMetadata> {
  const participants = await Promise.all(chat.members.map(async (m) => ({
    id: await dir.jidOfAccount(m.user_id),
    admin: m.role === 'owner' ? 'superadmin' as const : m.role === 'admin' ? 'admin' as const : null,
  })));
  const owner = chat.members.find((m) => m.role === 'owner');
  return {
    id: groupJid(chat.id) ?? chat.id,
    subject: chat.name ?? '',
    ...(chat.topic ? { desc: chat.topic } : {}),
    owner: owner ? await dir.jidOfAccount(owner.user_id) : undefined,
    creation: Math.floor(chat.created_at / 1000),
    participants,
    size: participants.length,
    ...(chat.disappear_ms ? { ephemeralDuration: Math.round(chat.disappear_ms / 1000) } : {}),
  };
}

function chatIdOf(jid: string): string {
  const id = groupChatId(jid);
  if (!id) throw new Boom('item-not-found', { statusCode: 404 });
  return id;
}

async function bytesOf(content: WAMediaUpload): Promise<Buffer> {
  if (Buffer.isBuffer(content)) return content;
  if ('stream' in content) {
    const chunks: Buffer[] = [];
    for await (const c of content.stream as Readable) chunks.push(Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks);
  }
  const res = await fetch(content.url);
  if (!res.ok) throw new Boom(`could not read the picture: HTTP ${res.status}`, { statusCode: 400 });
  return Buffer.from(await res.arrayBuffer());
}

/** Sandbox errors as the Boom a WhatsApp IQ error would be (not found, forbidden). */
async function asBoom<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!isSandboxClientError(err)) throw err;
    const status = err.code === 'not_found' ? 404 : err.code === 'forbidden' ? 403 : err.code === 'bad_request' ? 400 : 500;
    throw new Boom(err.message, { statusCode: status, data: status });
  }
}

export function groupOps(ctx: () => Promise<EventContext>): GroupMethods {
  return {
    groupMetadata: async (jid) => {
      const c = await ctx();
      return asBoom(async () => metadataOf(await c.client.getChat(chatIdOf(jid)), c.directory));
    },
    groupFetchAllParticipating: async () => {
      const c = await ctx();
      const out: Record<string, GroupMetadata> = {};
      for (const chat of await c.client.getChats()) {
        if (chat.type === 'group') out[groupJid(chat.id) ?? chat.id] = await metadataOf(chat, c.directory);
      }
      return out;
    },
    groupCreate: async (subject, participants) => {
      const c = await ctx();
      const members = await Promise.all(participants.map(async (jid) => (await c.directory.accountOfJid(jid)).id));
      return asBoom(async () => metadataOf(await c.client.createGroup(subject, members), c.directory));
    },
    groupUpdateSubject: async (jid, subject) => {
      const c = await ctx();
      await asBoom(() => c.client.setChatName(chatIdOf(jid), subject));
    },
    groupUpdateDescription: async (jid, description) => {
      const c = await ctx();
      await asBoom(() => c.client.setChatTopic(chatIdOf(jid), description ?? ''));
    },
    groupParticipantsUpdate: async (jid, participants, action) => {
      const c = await ctx();
      const chat = chatIdOf(jid);
      const results: Array<{ status: string; jid: string | undefined; content: never }> = [];
      for (const p of participants) {
        let status = '200';
        try {
          const account = await c.directory.accountOfJid(p);
          if (action === 'add') await c.client.invite(chat, account.id);
          else if (action === 'remove' && account.id === c.directory.self.id) await c.client.leave(chat);
          else if (action === 'remove') await c.client.kick(chat, account.id);
          else if (action === 'promote' || action === 'demote') {
            await c.client.setRole(chat, account.id, action === 'promote' ? 'admin' : 'member');
          } else status = '400';
        } catch (err) {
          status = isSandboxClientError(err) ? (err.code === 'forbidden' ? '403' : err.code === 'not_found' ? '404' : '400') : '500';
        }
        results.push({ status, jid: p, content: undefined as never });
      }
      return results;
    },
    groupLeave: async (jid) => {
      const c = await ctx();
      await asBoom(() => c.client.leave(chatIdOf(jid)));
    },
    removeProfilePicture: async (jid) => {
      const c = await ctx();
      await asBoom(() => c.client.setChatAvatar(chatIdOf(jid), null));
    },
    updateProfilePicture: async (jid, content) => {
      const c = await ctx();
      const chat = chatIdOf(jid);
      const bytes = await bytesOf(content);
      const up = await c.client.uploadMedia(bytes, 'image/jpeg');
      await asBoom(() => c.client.setChatAvatar(chat, up.media_id));
    },
  };
}
