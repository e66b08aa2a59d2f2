/**
 * The emulator's `/ws/mqttbypass` and `/ws/streamcontroller` (Instagram flavour), on the same DGW
 * framing as `/ws/lightspeed` (facts in instagram/mqttbypass.ts and instagram/requeststream.ts):
 *
 * - mqttbypass: one persistent stream; the first frame must be a ConnectRequest with the session's
 *   device id, then PublishRequests. A typing publish on /ig_send_message sets typing on the
 *   sandbox as the account; other publishes are answered with an ErrorResponse (code 0, ours).
 * - streamcontroller: the typing subscription (the EstabStream parameters must name its doc id);
 *   after the client's request body the stream answers flow status Started, then one data delta per
 *   sandbox typing event of another member in the account's chats.
 * Anything else on these sockets closes them with 4005 (bad request).
 */
import type WebSocket from 'ws';
import type { Logger } from '@tributary/core/logging';
import { SandboxClient } from '@tributary/sandbox/client/index';
import { IG_SEND_MESSAGE_TOPIC, decodeMqttRequest, encodeMqttResponse, parseIndicateActivity } from '../instagram/mqttbypass.js';
import { FLOW_STATUS, IG_TYPING_SUBSCRIPTION_DOC_ID, decodeRequestStream, encodeRequestStream, typingData } from '../instagram/requeststream.js';
import { DGWServerConnection } from './dgw-server.js';
import type { RowContext } from './rows.js';
import { connectOnce, type AccountSession, type SessionConnection } from './sessions.js';

export type InstagramSocketKind = 'mqttbypass' | 'streamcontroller';

export function instagramSocketKind(path: string): InstagramSocketKind | undefined {
  return path === '/ws/mqttbypass' ? 'mqttbypass' : path === '/ws/streamcontroller' ? 'streamcontroller' : undefined;
}

export interface IGSocketDeps {
  sandboxUrl: string;
  rows: RowContext;
  log: Logger;
  now: () => number;
}

/** One mqttbypass or streamcontroller websocket; registered with the session so a logout ends it. */
export class InstagramSideSocket implements SessionConnection {
  readonly #dgw: DGWServerConnection;
  readonly #session: AccountSession;
  readonly #deps: IGSocketDeps;
  #feed: SandboxClient | undefined;
  #connected = false;
  #closed = false;
  /** Typing events go out in the order the sandbox sent them. */
  #chain: Promise<void> = Promise.resolve();

  constructor(readonly kind: InstagramSocketKind, ws: WebSocket, session: AccountSession, deps: IGSocketDeps) {
    this.#session = session;
    this.#deps = deps;
    this.#dgw = new DGWServerConnection(ws, {
      onRequest: () => Promise.resolve(undefined),
      onStream: (parameters, streamId) => (kind === 'mqttbypass' ? this.#mqtt(parameters, streamId) : this.#typing(parameters, streamId)),
    }, deps.log);
    session.connections.add(this);
    ws.on('close', () => this.#shutdown());
  }

  kill(code: number, deauth: boolean): void {
    if (deauth) this.#dgw.deauth();
    this.#dgw.close(code, deauth ? 'deauthorized' : 'gateway error');
    this.#shutdown();
  }

  cutover(): void {
    // Nothing to tell on these sockets: the sync stream carries the cutover.
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#session.connections.delete(this);
    const feed = this.#feed;
    this.#feed = undefined;
    feed?.removeAllListeners();
    void feed?.close().catch(() => undefined);
  }

  #refuse(why: string): void {
    this.#deps.log.warn({ kind: this.kind, why }, 'emulator: refused an Instagram side socket');
    this.#dgw.close(4005, 'bad request');
    this.#shutdown();
  }

  #mqtt(parameters: string, streamId: number): ((payload: Uint8Array) => void) | undefined {
    if (parameters !== '') return undefined;
    return (payload) => {
      let req;
      try {
        req = decodeMqttRequest(payload);
      } catch (err) {
        return this.#refuse((err as Error).message);
      }
      if (!this.#connected) {
        if (req.kind !== 'connect' || req.connect.deviceId !== this.#session.deviceId) return this.#refuse('the first mqttbypass frame is not a ConnectRequest for this device');
        this.#connected = true;
        return;
      }
      if (req.kind !== 'publish') return;
      const typing = req.publish.topic === IG_SEND_MESSAGE_TOPIC ? parseIndicateActivity(req.publish.payload) : undefined;
      if (!typing) {
        this.#dgw.sendOnStream(streamId, encodeMqttResponse({ kind: 'error', code: 0, message: `unsupported publish on ${req.publish.topic}` }));
        return;
      }
      void (async () => {
        const chat = await this.#deps.rows.dir.chatId(typing.thread_id);
        if (this.#deps.rows.isEncrypted(chat)) return;
        await this.#session.client.typing(chat, typing.activity_status === 1);
      })().catch((err: unknown) => this.#deps.log.warn({ err: (err as Error).message }, 'emulator: a typing publish failed'));
    };
  }

  #typing(parameters: string, streamId: number): ((payload: Uint8Array) => void) | undefined {
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(parameters) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (params['x-dgw-app-XRSS-doc_id'] !== IG_TYPING_SUBSCRIPTION_DOC_ID) return undefined;
    let started = false;
    return (payload) => {
      let p;
      try {
        p = decodeRequestStream(payload);
      } catch (err) {
        return this.#refuse((err as Error).message);
      }
      if (p.kind !== 'request-body' || started) return;
      started = true;
      this.#subscribeTyping(streamId).catch((err: unknown) => {
        this.#deps.log.warn({ err: (err as Error).message }, 'emulator: the typing subscription failed');
        this.kill(4002, false);
      });
    };
  }

  async #subscribeTyping(streamId: number): Promise<void> {
    const feed = new SandboxClient({ url: this.#deps.sandboxUrl, token: this.#session.token, reconnect: { minMs: 3_600_000, maxMs: 3_600_000 } });
    this.#feed = feed;
    feed.on('event', (event) => {
      if (event.type !== 'typing' || event.user_id === this.#session.account.id || this.#deps.rows.isEncrypted(event.chat_id)) return;
      this.#chain = this.#chain.then(async () => {
        const threadId = await this.#deps.rows.dir.threadKey({ id: event.chat_id, type: event.chat_id.startsWith('g:') ? 'group' : 'dm' });
        const sender = await this.#deps.rows.dir.userId(event.user_id);
        const data = typingData(threadId, sender, event.typing, this.#deps.now());
        this.#dgw.sendOnStream(streamId, encodeRequestStream({ kind: 'response', deltas: [{ kind: 'data', bytes: data }] }));
      }).catch((err: unknown) => this.#deps.log.warn({ err: (err as Error).message }, 'emulator: a typing event could not be sent'));
    });
    await connectOnce(feed);
    if (this.#closed) return;
    feed.on('disconnected', () => {
      if (!this.#closed) this.kill(4002, false);
    });
    this.#dgw.sendOnStream(streamId, encodeRequestStream({ kind: 'response', deltas: [{ kind: 'flow-status', status: FLOW_STATUS.started }] }));
  }
}
