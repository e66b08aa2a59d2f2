/**
 * What Instagram sends outside LightSpeed, for MetaClient (facts from instameow):
 * - text goes through GraphQL `IGDirectTextSendMutation` (graphql.ts), which answers the message id,
 *   reactions through `IGDirectReactionSendMutation`, edits and unsends of messages whose thread the
 *   session knows through `IGDirectEditMessageMutation` and `IGDMessageUnsendDialogOffMsysMutation`;
 *   a GraphQL refusal is a MetaTaskError;
 * - typing goes through `/ws/mqttbypass` as an `indicate_activity` publish on `/ig_send_message`
 *   (mqttbypass.ts), on a socket opened when first needed;
 * - typing from others comes from `/ws/streamcontroller` (requeststream.ts), a socket kept open
 *   beside the main one (group `group1`, fact) and reopened after a drop (ours: every 2 s to 30 s).
 * Mark read, history, single media sends, rename and new groups go over GraphQL too (ig-threads.ts).
 * Everything else (captioned or multiple media, stickers, members, pictures, DMs, requests) still
 * travels as LightSpeed tasks: see docs/meta-emulator.md.
 */
import type { Logger } from '@tributary/core/logging';
import { DGWSocket, dgwUrl } from '../client/dgw-socket.js';
import type { MetaHttpSession } from '../client/http-session.js';
import type { MetaTaskResult } from '../client/types.js';
import type { DGWTimings } from '../dgw/timers.js';
import type { LSTables } from '../lightspeed/tables.js';
import type { LSTask } from '../lightspeed/tasks.js';
import type { MetaPageConfig } from '../page-config.js';
import {
  editVariables, parseSentMessage, reactionVariables, textSendVariables, unsendVariables, type IGGraphQLDoc, type IGTextSend,
} from './graphql.js';
import { deriveOtid } from '../lightspeed/ids.js';
import { InstagramThreadTasks, igTaskCall } from './ig-threads.js';
import { IG_SEND_MESSAGE_TOPIC, encodeMqttRequest, indicateActivity } from './mqttbypass.js';
import { decodeRequestStream, parseTypingData, typingSubscriptionBody, typingSubscriptionParameters } from './requeststream.js';

export interface IGSendHost {
  http: MetaHttpSession;
  log: Logger;
  timings: Partial<DGWTimings> | undefined;
  page(): MetaPageConfig;
  emitTables(tables: LSTables): void;
  /** The thread of a message the session has seen (edits and unsends name only the message). */
  threadOf(messageId: string): string | undefined;
  remember(messageId: string, threadId: string): void;
}

const STREAM_GROUP = 'group1';
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 30_000;

/** The text-only SendMessage tasks GraphQL can carry (media and stickers stay on LightSpeed). */
export function textSendOf(task: LSTask): IGTextSend | undefined {
  const p = task.payload;
  if (task.name !== 'sendMessage' || typeof p.text !== 'string' || p.attachment_fbids !== undefined || p.sticker_id !== undefined) return undefined;
  const reply = (p.reply_metadata as { reply_source_id?: unknown } | undefined)?.reply_source_id;
  const md = p.mention_data as Record<string, string> | undefined;
  const ids = md?.mention_ids ? md.mention_ids.split(',') : [];
  const offsets = (md?.mention_offsets ?? '').split(',').map(Number);
  const lengths = (md?.mention_lengths ?? '').split(',').map(Number);
  return {
    threadId: String(p.thread_id), otid: String(p.otid), text: p.text,
    ...(typeof reply === 'string' ? { replyToMessageId: reply } : {}),
    ...(ids.length ? { mentions: ids.map((userId, i) => ({ userId, offset: offsets[i] ?? 0, length: lengths[i] ?? 0 })) } : {}),
  };
}

export class InstagramSender {
  readonly #host: IGSendHost;
  readonly #threads: InstagramThreadTasks;
  #mqtt: Promise<DGWSocket> | undefined;
  #typing: DGWSocket | undefined;
  #typingTimer: NodeJS.Timeout | undefined;
  #typingDelay = RETRY_MIN_MS;
  #open = false;

  constructor(host: IGSendHost) {
    this.#host = host;
    this.#threads = new InstagramThreadTasks(host);
  }

  /** Sends a task on Instagram's own path, or returns undefined for LightSpeed to carry it. */
  async trySend(task: LSTask): Promise<MetaTaskResult | undefined> {
    const text = textSendOf(task);
    if (text) return this.#sendText(text, task);
    if (task.name === 'sendReaction') {
      const p = task.payload;
      await this.#mutate(task, 'IGDirectReactionSendMutation', reactionVariables({ threadId: String(p.thread_key), messageId: String(p.message_id), emoji: String(p.reaction ?? '') }));
      return { tables: {}, taskIds: [] };
    }
    // Edits and unsends need the message's thread; one this session never saw stays on LightSpeed.
    const messageId = typeof task.payload.message_id === 'string' ? task.payload.message_id : '';
    const threadId = this.#host.threadOf(messageId);
    if (task.name === 'editMessage' && threadId !== undefined) {
      const text = String(task.payload.text);
      const otid = deriveOtid(`edit.${messageId}.${Date.now()}`, Date.now()).toString();
      await this.#mutate(task, 'IGDirectEditMessageMutation', editVariables({ threadId, messageId, text, otid }));
      return { tables: { LSEditMessage: [{ messageId, text }] }, taskIds: [] };
    }
    if (task.name === 'deleteMessage' && threadId !== undefined) {
      await this.#mutate(task, 'IGDMessageUnsendDialogOffMsysMutation', unsendVariables({ threadId, messageId }));
      return { tables: { LSDeleteMessage: [{ threadKey: threadId, messageId }] }, taskIds: [] };
    }
    if (task.name === 'updatePresence' && task.queueName === '') {
      const p = task.payload;
      await this.#publishTyping(String(p.thread_key), p.is_typing === 1);
      return { tables: {}, taskIds: [] };
    }
    return this.#threads.trySend(task);
  }

  #mutate(task: LSTask, doc: IGGraphQLDoc, variables: unknown): Promise<unknown> {
    return igTaskCall(this.#host, task, doc, variables);
  }

  async #sendText(send: IGTextSend, task: LSTask): Promise<MetaTaskResult> {
    const page = this.#host.page();
    const sent = parseSentMessage(await this.#mutate(task, 'IGDirectTextSendMutation', textSendVariables(send)));
    const row = {
      threadKey: send.threadId, messageId: sent.messageId, timestampMs: sent.timestampMs, senderId: page.accountId, text: send.text, offlineThreadingId: send.otid,
      ...(send.replyToMessageId ? { replySourceId: send.replyToMessageId, replySourceType: 1 } : {}),
    };
    this.#host.remember(sent.messageId, send.threadId);
    return { tables: { LSInsertMessage: [row] }, taskIds: [] };
  }

  #dial(path: string, extraQuery: Record<string, string>, mainStream: { parameters: string; initPayload?: Uint8Array; onData(payload: Uint8Array): void }, onClose: () => void): Promise<DGWSocket> {
    const page = this.#host.page();
    const http = this.#host.http;
    const gateway = http.endpoints.gateway.replace(/\/ws\/lightspeed$/, path);
    let url = dgwUrl({ platform: 'instagram', gateway, dgwAppId: page.dgwAppId, accountId: page.accountId, deviceId: page.deviceId });
    for (const [k, v] of Object.entries(extraQuery)) url += `&${encodeURIComponent(k)}=${encodeURIComponent(v)}`;
    return DGWSocket.open({
      url,
      headers: {
        cookie: http.cookies.toCookieHeader(), 'user-agent': http.userAgent, origin: http.endpoints.web,
        'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'websocket', 'sec-fetch-site': 'same-site',
      },
      log: this.#host.log, agent: http.socketAgent(url),
      ...(this.#host.timings ? { timings: this.#host.timings } : {}),
      mainStream,
      onPush: () => undefined,
      onClose: () => onClose(),
    });
  }

  async #publishTyping(threadId: string, typing: boolean): Promise<void> {
    if (!this.#mqtt) {
      const page = this.#host.page();
      const connect = encodeMqttRequest({
        kind: 'connect',
        connect: { sessionId: 0n, clientCapabilities: 0n, userAgent: '', deviceId: page.deviceId, familyDeviceId: '', topics: [] },
      });
      const opening = this.#dial('/ws/mqttbypass', {}, { parameters: '', initPayload: connect, onData: () => undefined }, () => {
        if (this.#mqtt === opening) this.#mqtt = undefined;
      });
      this.#mqtt = opening;
      opening.catch(() => {
        if (this.#mqtt === opening) this.#mqtt = undefined;
      });
    }
    const socket = await this.#mqtt;
    const payload = new TextEncoder().encode(JSON.stringify(indicateActivity(threadId, typing)));
    await socket.sendOnMainStream(encodeMqttRequest({ kind: 'publish', publish: { topic: IG_SEND_MESSAGE_TOPIC, payload } }), false);
  }

  /** Opens the typing subscription (after the main socket connected). */
  startTyping(): void {
    this.#open = true;
    if (this.#typing || this.#typingTimer) return;
    void this.#openTyping();
  }

  async #openTyping(): Promise<void> {
    this.#typingTimer = undefined;
    if (!this.#open) return;
    let socket: DGWSocket | undefined;
    try {
      socket = await this.#dial('/ws/streamcontroller', { 'x-dgw-app-stream-group': STREAM_GROUP }, {
        parameters: typingSubscriptionParameters(),
        onData: (payload) => this.#onTypingFrame(payload),
      }, () => {
        if (this.#typing !== socket) return;
        this.#typing = undefined;
        this.#retryTyping();
      });
      if (!this.#open) return socket.close(1000);
      this.#typing = socket;
      await socket.sendOnMainStream(typingSubscriptionBody(this.#host.page().accountId), true);
      this.#typingDelay = RETRY_MIN_MS;
    } catch (err) {
      this.#host.log.debug({ err: (err as Error).message }, 'the Instagram typing subscription failed; retrying later');
      if (socket && this.#typing === socket) {
        this.#typing = undefined;
        socket.close(1000);
      }
      this.#retryTyping();
    }
  }

  #retryTyping(): void {
    if (!this.#open || this.#typingTimer) return;
    const delay = this.#typingDelay;
    this.#typingDelay = Math.min(delay * 2, RETRY_MAX_MS);
    this.#typingTimer = setTimeout(() => void this.#openTyping(), delay);
    this.#typingTimer.unref();
  }

  #onTypingFrame(payload: Uint8Array): void {
    let frame;
    try {
      frame = decodeRequestStream(payload);
    } catch (err) {
      this.#host.log.warn({ code: (err as { code?: string }).code }, 'a streamcontroller frame could not be read; skipped');
      return;
    }
    if (frame.kind !== 'response') return;
    for (const delta of frame.deltas) {
      if (delta.kind !== 'data') continue;
      try {
        const rows = parseTypingData(delta.bytes).map((t) => ({ threadKey: t.threadId, senderId: t.senderId, isTyping: t.isTyping }));
        if (rows.length) this.#host.emitTables({ LSUpdateTypingIndicator: rows });
      } catch (err) {
        this.#host.log.warn({ code: (err as { code?: string }).code }, 'a typing notification could not be read; skipped');
      }
    }
  }

  /** Closes the side sockets (disconnect, logout). */
  close(): void {
    this.#open = false;
    clearTimeout(this.#typingTimer);
    this.#typingTimer = undefined;
    const typing = this.#typing;
    this.#typing = undefined;
    typing?.close(1000);
    const mqtt = this.#mqtt;
    this.#mqtt = undefined;
    void mqtt?.then((s) => s.close(1000), () => undefined);
  }
}
