/**
 * Reads what each side holds (Matrix through /messages as the person, the network through the
 * sandbox control API) and waits until every sent message has arrived, measuring how long after
 * the last send that took.
 */
import * as sdk from 'matrix-js-sdk';
import { sleep } from '../../helpers/bridge-env.js';
import { networkMessages, textOf } from '../../helpers/portal-setup.js';
import type { FaultStack } from './stack.js';
import type { MixedLoad } from './load.js';
import { checkDelivery, describeReport, type DeliveryReport, type ObservedChat, type SeenMessage } from './check.js';

/** Every m.room.message of a room, oldest first, paginated from the server (no sync gaps). */
export async function matrixMessages(client: sdk.MatrixClient, roomId: string): Promise<SeenMessage[]> {
  const out: SeenMessage[] = [];
  let from: string | null = null;
  for (let page = 0; page < 200; page++) {
    const res: Awaited<ReturnType<sdk.MatrixClient['createMessagesRequest']>> =
      await client.createMessagesRequest(roomId, from, 500, sdk.Direction.Backward);
    for (const ev of res.chunk) {
      const body = (ev.content as { body?: unknown } | undefined)?.body;
      if (ev.type === 'm.room.message' && typeof body === 'string') out.push({ body, id: ev.event_id, sender: ev.sender });
    }
    if (!res.end || res.chunk.length === 0) break;
    from = res.end;
  }
  return out.reverse();
}

/** Both sides of every portal under load. */
export async function observe(stack: FaultStack): Promise<ObservedChat[]> {
  return Promise.all(stack.chats.map(async (chat) => ({
    chat: chat.id,
    matrix: await matrixMessages(stack.sender, chat.room),
    network: (await networkMessages(stack.env, chat.id)).map((m) => ({ body: textOf(m), id: m.id, sender: m.sender })),
  })));
}

export interface DeliveryResult {
  report: DeliveryReport;
  observed: ObservedChat[];
  /** From the last accepted send until a poll first saw every message on both sides (an upper bound: polls are 500 ms apart). */
  deliveryMs: number;
  /** False when the bound ran out first. */
  complete: boolean;
}

/**
 * Says which missing messages will never come for a reason outside the bridge (a homeserver
 * limit), so the wait need not run out the bound for them. Returns the excused bodies.
 */
export type Excuse = (report: DeliveryReport, load: MixedLoad) => Promise<Set<string>>;

/**
 * Polls both sides until nothing sent is missing (or only what `excuse` accounts for), or until
 * `boundMs` after the last send. The report is then the final word on loss; duplicates and order
 * are judged by the caller, after a sentinel round (a duplicate may still be on its way when the
 * last original arrives).
 */
export async function awaitDelivery(stack: FaultStack, load: MixedLoad, boundMs: number, excuse?: Excuse): Promise<DeliveryResult> {
  const from = load.lastAcceptedAt;
  for (;;) {
    const observed = await observe(stack);
    const report = checkDelivery(load.tag, load.sent, observed);
    const now = Date.now();
    const lost = [...report.matrix.lost, ...report.network.lost];
    const excused = lost.length && excuse ? await excuse(report, load) : new Set<string>();
    if (lost.every((b) => excused.has(b))) return { report, observed, deliveryMs: now - from, complete: true };
    if (now - from > boundMs) return { report, observed, deliveryMs: now - from, complete: false };
    await sleep(500);
  }
}

/** One line per fact, printed by every scenario so a run's counts can be read off its output. */
export function summarise(name: string, result: DeliveryResult, extra: Record<string, unknown> = {}): string {
  const r = result.report;
  const lines = [
    `[fault] ${name}: ${describeReport(r)}`,
    `[fault] ${name}: delivered ${result.complete ? 'completely' : 'INCOMPLETELY'} ${(result.deliveryMs / 1000).toFixed(1)} s after the last send`,
  ];
  if (Object.keys(extra).length) lines.push(`[fault] ${name}: ${JSON.stringify(extra)}`);
  return lines.join('\n');
}
