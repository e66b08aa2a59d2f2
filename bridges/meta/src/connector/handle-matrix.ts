/**
 * Matrix actions -> Meta tasks, through the shared converter (msgconv): messages and media,
 * edits, reactions, unsends, read receipts, typing, room name and picture, members, and starting
 * chats (a DM with a person, a group). Every failure comes back as a BridgeError. Nothing goes into
 * an end-to-end encrypted thread (see e2ee.ts): content fails with the reason, receipts and typing
 * are not sent.
 */
import type { Readable } from 'node:stream';
import {
  BridgeError, ErrUnsupported, type CreateChatResponse, type CreateGroupParams, type EmojiId, type MatrixEdit,
  type MatrixMembershipChange, type MatrixMessage, type MatrixMessageRemove, type MatrixMessageResponse, type MatrixReaction,
  type MatrixReactionRemove, type MatrixReadReceipt, type MatrixRoomMeta, type MatrixTyping, type PortalKey, type UserLoginHandle,
} from '@tributary/core/network/index';
import type { MetaClient } from '../client/meta-client.js';
import { deriveOtid, makeEpochId } from '../lightspeed/ids.js';
import type { LSTables } from '../lightspeed/tables.js';
import {
  acceptMessageRequestTask, addParticipantsTask, createGroupTask, deleteThreadTask, createThreadTask, editMessageTask, markReadTask, removeParticipantTask, renameThreadTask,
  sendMessageTask, sendReactionTask, setThreadImageTask, typingTask, unsendMessageTask,
} from '../lightspeed/tasks.js';
import { capStream, limitFor, uploadKindOf, type MetaUploadFile } from '../msgconv/from-matrix-media.js';
import { matrixMessageToMeta, type MetaSendTarget } from '../msgconv/from-matrix.js';
import {
  matrixEditToMeta, matrixReactionRemoveToMeta, matrixReactionToMeta, matrixReadReceiptToMeta, matrixRedactionToMeta, matrixTypingToMeta,
} from '../msgconv/from-matrix-actions.js';
import { makeMetaMessageId, parseMetaUserId, type MetaPlatform } from '../msgconv/meta-ids.js';
import type { MetaDirectory } from './directory.js';
import { e2eeSendError } from './e2ee.js';
import { asBridge } from './errors.js';
import { makeMetaPortalKey } from './ids.js';

export interface MatrixSideDeps {
  client(): MetaClient;
  dir: MetaDirectory;
  login: UserLoginHandle;
  platform: MetaPlatform;
  /** Remembers the Matrix transaction of a send, by the otid Meta echoes back. */
  rememberOtid(otid: string, txnId: string): void;
  /** Takes a task response's threads, participants and messages into the directory. */
  absorb(tables: LSTables): void;
}

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

export class MetaMatrixHandler {
  constructor(private readonly deps: MatrixSideDeps) {}

  target(portal: PortalKey): MetaSendTarget {
    const threadId = portal.id as string;
    if (this.deps.dir.isEncrypted(threadId)) throw e2eeSendError(this.deps.platform);
    return { threadId, isGroup: portal.receiver === '' || (this.deps.dir.isGroup(threadId) ?? false) };
  }

  async upload(file: MetaUploadFile): Promise<string> {
    const bytes = await readAll(file.stream);
    return (await this.deps.client().uploadMedia(bytes, file.mimetype, file.filename, { voiceClip: file.voice })).fbid;
  }

  async message(msg: MatrixMessage): Promise<MatrixMessageResponse> {
    return asBridge(async () => {
      // Answering a message request accepts it first, as Messenger's reply box does.
      if (this.deps.dir.isMessageRequest(msg.portal.id as string)) await this.#accept(msg.portal);
      const input = await matrixMessageToMeta(msg, this.target(msg.portal), { upload: (f) => this.upload(f) });
      const otid = String(input.otid);
      this.deps.rememberOtid(otid, msg.txnId);
      const { tables } = await this.deps.client().sendTask(sendMessageTask(input));
      this.deps.absorb(tables);
      const rows = tables.LSInsertMessage ?? tables.LSUpsertMessage ?? [];
      const row = rows.find((r) => r.offlineThreadingId === otid) ?? rows[0];
      if (!row) {
        // Meta accepted the task without a row yet: the echo (with our otid) completes the send.
        return { id: makeMetaMessageId(`pending.${otid}`), pending: true };
      }
      return { id: makeMetaMessageId(row.messageId), timestamp: row.timestampMs };
    });
  }

  async edit(msg: MatrixEdit): Promise<void> {
    await asBridge(async () => {
      const { tables } = await this.deps.client().sendTask(editMessageTask(matrixEditToMeta(msg, this.target(msg.portal))));
      this.deps.absorb(tables);
    });
  }

  async reaction(msg: MatrixReaction, _emojiId: EmojiId): Promise<void> {
    await asBridge(() => this.deps.client().sendTask(sendReactionTask(matrixReactionToMeta(msg, this.target(msg.portal), this.deps.dir.selfId))));
  }

  async reactionRemove(msg: MatrixReactionRemove): Promise<void> {
    await asBridge(() => this.deps.client().sendTask(sendReactionTask(matrixReactionRemoveToMeta(msg, this.target(msg.portal), this.deps.dir.selfId))));
  }

  async redaction(msg: MatrixMessageRemove): Promise<void> {
    if (this.deps.dir.isEncrypted(msg.portal.id as string)) throw e2eeSendError(this.deps.platform);
    await asBridge(() => this.deps.client().sendTask(unsendMessageTask(matrixRedactionToMeta(msg))));
  }

  /** Receipts and typing of an encrypted thread would travel over its own transport: not sent. */
  #skips(portal: PortalKey): boolean {
    return this.deps.dir.isEncrypted(portal.id as string);
  }

  async readReceipt(msg: MatrixReadReceipt): Promise<void> {
    if (this.#skips(msg.portal)) return;
    await asBridge(() => this.deps.client().sendTask(markReadTask(matrixReadReceiptToMeta(msg, this.target(msg.portal)))));
  }

  async typing(msg: MatrixTyping): Promise<void> {
    if (this.#skips(msg.portal)) return;
    const target = this.target(msg.portal);
    const threadType = this.deps.dir.threads.get(target.threadId)?.threadType;
    await asBridge(() => this.deps.client().sendTask(typingTask(matrixTypingToMeta(msg, target, threadType))));
  }

  async roomName(msg: MatrixRoomMeta): Promise<void> {
    const target = this.target(msg.portal);
    if (!target.isGroup) throw ErrUnsupported('Renaming a one-to-one chat');
    await asBridge(async () => this.deps.absorb((await this.deps.client().sendTask(renameThreadTask({ threadId: target.threadId, name: msg.name ?? '' }))).tables));
  }

  async roomAvatar(msg: MatrixRoomMeta): Promise<void> {
    const target = this.target(msg.portal);
    if (!target.isGroup) throw ErrUnsupported('A picture for a one-to-one chat');
    if (!msg.avatar) throw ErrUnsupported('Removing a group picture');
    const avatar = msg.avatar;
    await asBridge(async () => {
      const kind = uploadKindOf(avatar);
      if (kind !== 'image' && kind !== 'gif') throw new BridgeError('group picture is not an image', { reason: 'm_bad_format', userMessage: 'A group picture must be an image' });
      const bytes = await readAll(capStream(await avatar.open(), limitFor(kind)));
      const up = await this.deps.client().uploadMedia(bytes, avatar.mimetype, avatar.filename || 'picture');
      this.deps.absorb((await this.deps.client().sendTask(setThreadImageTask({ threadId: target.threadId, imageId: up.fbid }))).tables);
    });
  }

  async membership(msg: MatrixMembershipChange): Promise<void> {
    const target = this.target(msg.portal);
    if (!target.isGroup) throw ErrUnsupported('Changing the members of a one-to-one chat');
    const user = parseMetaUserId(msg.target);
    if (!user) throw new BridgeError('not a Meta user', { reason: 'm_not_found' });
    await asBridge(async () => {
      const task = msg.change === 'invite'
        ? addParticipantsTask({ threadId: target.threadId, userIds: [user] })
        : removeParticipantTask({ threadId: target.threadId, userId: msg.change === 'leave' ? this.deps.dir.selfId : user });
      this.deps.absorb((await this.deps.client().sendTask(task)).tables);
    });
  }

  /** The `accept` command: AcceptMessageRequest, then the portal's info is fetched again (its topic). */
  async acceptRequest(portal: PortalKey): Promise<void> {
    await asBridge(() => this.#accept(portal));
  }

  async #accept(portal: PortalKey): Promise<void> {
    const threadId = this.target(portal).threadId;
    const { tables } = await this.deps.client().sendTask(acceptMessageRequestTask({ threadId }));
    this.deps.absorb(tables);
    // Whatever the response carried, the thread is in the inbox now.
    const thread = this.deps.dir.threads.get(threadId);
    if (thread && this.deps.dir.isMessageRequest(threadId)) thread.folderName = 'inbox';
    // Not awaited: a command runs inside the portal's queue, which must not wait on itself.
    this.deps.login.queueRemoteEvent({ type: 'chat_resync', portal, timestamp: Date.now() }).catch((err: unknown) => {
      this.deps.login.log.warn({ err: (err as Error).message }, 'chat info refresh after accepting a request not queued');
    });
  }

  /** The `decline` command: DeleteThread; the thread is forgotten until the sender writes again. */
  async declineRequest(portal: PortalKey): Promise<void> {
    const threadId = this.target(portal).threadId;
    await asBridge(() => this.deps.client().sendTask(deleteThreadTask({ threadId })));
    this.deps.dir.threads.delete(threadId);
  }

  /** Opens (or finds) the one-to-one thread with a person. */
  async createDm(userId: string): Promise<CreateChatResponse> {
    return asBridge(async () => {
      const { tables } = await this.deps.client().sendTask(createThreadTask({ userId }));
      this.deps.absorb(tables);
      return { portal: makeMetaPortalKey(userId, false, this.deps.login.id) };
    });
  }

  async createGroup(params: CreateGroupParams): Promise<CreateChatResponse> {
    const ids = params.members.map((m) => parseMetaUserId(m));
    if (ids.some((id) => id === undefined) || ids.length === 0) {
      throw new BridgeError('bad member ids', { reason: 'm_bad_format', userMessage: 'A group needs at least one Meta contact' });
    }
    return asBridge(async () => {
      const now = Date.now();
      const { tables } = await this.deps.client().sendTask(createGroupTask({
        participantIds: ids as string[], offlineThreadKey: makeEpochId(now), otid: deriveOtid(`group.${now}.${ids.join(',')}`, now),
      }));
      this.deps.absorb(tables);
      const thread = tables.LSDeleteThenInsertThread?.[0];
      if (!thread) throw new BridgeError('Meta created no thread', { reason: 'm_unknown', status: 'retriable', certain: false });
      if (params.name) this.deps.absorb((await this.deps.client().sendTask(renameThreadTask({ threadId: thread.threadKey, name: params.name }))).tables);
      return { portal: makeMetaPortalKey(thread.threadKey, true, this.deps.login.id) };
    });
  }
}
