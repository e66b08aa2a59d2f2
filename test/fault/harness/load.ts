/**
 * Mixed load in both directions: in every portal, contacts send on the network (control API) while
 * the person's matrix-js-sdk client sends in the Matrix room. Each message has a unique body
 * `fault <tag> <chat> <origin> #<n>`, numbered per origin and chat, so every message can be counted
 * and its order checked on both sides.
 */
import * as sdk from 'matrix-js-sdk';
import type { RoomMessageEventContent } from 'matrix-js-sdk/lib/@types/events.js';
import { sleep } from '../../helpers/bridge-env.js';
import { sendAs } from '../../helpers/portal-setup.js';
import type { FaultStack, LoadChat } from './stack.js';

/** The origin of a message sent by the person from Matrix; contacts use their account id. */
export const MATRIX_ORIGIN = 'mx';

export interface SentMessage {
  body: string;
  chat: string;
  origin: string;
  n: number;
  /** When the network (a contact's send) or Synapse (the person's send) accepted it. */
  acceptedAt: number;
  /** The network message id (contact) or the Matrix event id (person). */
  id: string;
  /** Sends the person's client needed (more than one: Synapse was unreachable). */
  attempts: number;
}

export interface LoadOptions {
  tag: string;
  /** Seeded generator for the gaps and the choice of contact. */
  next: () => number;
  /** Mean gap between two messages of one chat in one direction. */
  gapMs?: number;
  /** How long the person's client keeps retrying one send while Synapse is unreachable. */
  matrixRetryMs?: number;
}

export function bodyOf(tag: string, chat: string, origin: string, n: number): string {
  return `fault ${tag} ${chat} ${origin} #${n}`;
}

/** Parses a body made by `bodyOf` for this tag; undefined for anything else. */
export function parseBody(tag: string, body: string): { chat: string; origin: string; n: number } | undefined {
  const m = /^fault (\S+) (\S+) (\S+) #(\d+)$/.exec(body);
  if (!m || m[1] !== tag) return undefined;
  return { chat: m[2]!, origin: m[3]!, n: Number(m[4]) };
}

export class MixedLoad {
  readonly sent: SentMessage[] = [];
  /** Sends that were never accepted (the person's client gave up): a test failure of its own. */
  readonly unsent: string[] = [];
  private running = false;
  private loops: Array<Promise<void>> = [];
  private readonly seq = new Map<string, number>();
  private readonly gapMs: number;
  private readonly matrixRetryMs: number;

  constructor(private readonly stack: FaultStack, private readonly opts: LoadOptions) {
    // About six messages a second over five portals by default: well within what the stack
    // sustains on a 2-core machine, so the backlog a fault leaves drains while the load goes on.
    // TRIBUTARY_FAULT_GAP_MS runs it harder (or gentler).
    this.gapMs = opts.gapMs ?? (Number(process.env.TRIBUTARY_FAULT_GAP_MS) || 1500);
    this.matrixRetryMs = opts.matrixRetryMs ?? 120_000;
  }

  get tag(): string {
    return this.opts.tag;
  }

  /** When the last message was accepted (0 before any). */
  get lastAcceptedAt(): number {
    return this.sent.reduce((max, m) => Math.max(max, m.acceptedAt), 0);
  }

  count(origin?: 'matrix' | 'network'): number {
    if (!origin) return this.sent.length;
    return this.sent.filter((m) => (m.origin === MATRIX_ORIGIN) === (origin === 'matrix')).length;
  }

  start(): void {
    if (this.running) throw new Error('load already running');
    this.running = true;
    for (const chat of this.stack.chats) this.loops.push(this.networkLoop(chat), this.matrixLoop(chat));
  }

  /** Stops sending; resolves once every send in flight has been accepted (or given up). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.splice(0));
  }

  /** One more message per chat and direction, sent now (after `stop`): the stragglers' sentinel. */
  async sendRound(): Promise<void> {
    await Promise.all(this.stack.chats.flatMap((chat) => [this.sendFromContact(chat), this.sendFromMatrix(chat)]));
  }

  private async pause(): Promise<void> {
    await sleep(this.gapMs * (0.5 + this.opts.next()));
  }

  private nextN(chat: string, origin: string): number {
    const key = `${chat} ${origin}`;
    const n = (this.seq.get(key) ?? 0) + 1;
    this.seq.set(key, n);
    return n;
  }

  private async networkLoop(chat: LoadChat): Promise<void> {
    while (this.running) {
      await this.pause();
      if (this.running) await this.sendFromContact(chat);
    }
  }

  private async matrixLoop(chat: LoadChat): Promise<void> {
    while (this.running) {
      await this.pause();
      // One send at a time per room, as a client does: order per room is the send order.
      if (this.running) await this.sendFromMatrix(chat);
    }
  }

  private async sendFromContact(chat: LoadChat): Promise<void> {
    const contact = chat.contacts[Math.floor(this.opts.next() * chat.contacts.length)]!;
    const n = this.nextN(chat.id, contact);
    const body = bodyOf(this.tag, chat.id, contact, n);
    const msg = await sendAs(this.stack.env, chat.id, contact, { text: body });
    this.sent.push({ body, chat: chat.id, origin: contact, n, acceptedAt: Date.now(), id: msg.id, attempts: 1 });
  }

  /**
   * Sends as the person, retrying with the same transaction id until Synapse accepts it: Synapse
   * keeps a device's transaction ids in its database, so a retry after its restart is not doubled.
   */
  private async sendFromMatrix(chat: LoadChat): Promise<void> {
    const n = this.nextN(chat.id, MATRIX_ORIGIN);
    const body = bodyOf(this.tag, chat.id, MATRIX_ORIGIN, n);
    const txnId = `${this.tag}.${encodeURIComponent(chat.id)}.${n}`;
    const content = { msgtype: sdk.MsgType.Text, body } as RoomMessageEventContent;
    const deadline = Date.now() + this.matrixRetryMs;
    for (let attempts = 1; ; attempts++) {
      try {
        const res = await this.stack.sender.sendEvent(chat.room, sdk.EventType.RoomMessage, content, txnId);
        this.sent.push({ body, chat: chat.id, origin: MATRIX_ORIGIN, n, acceptedAt: Date.now(), id: res.event_id, attempts });
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          this.unsent.push(`${body}: ${(err as Error).message}`);
          return;
        }
        await sleep(500);
      }
    }
  }
}
