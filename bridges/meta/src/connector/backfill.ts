/**
 * History through Meta's FetchMessages task, which pages only backwards from a reference message
 * (facts: direction 0, a reference time and message id). Older history pages back from the anchor;
 * catch-up (forward) pages back from now until it reaches the anchor and returns what is newer.
 */
import type { BackfillMessage, FetchMessagesParams, FetchMessagesResponse } from '@tributary/core/network/index';
import type { MetaTaskResult } from '../client/types.js';
import type { LSTask } from '../lightspeed/tasks.js';
import { fetchMessagesTask } from '../lightspeed/tasks.js';
import { groupMessages, type MetaMessage } from '../msgconv/meta-message.js';

export interface BackfillDeps {
  sendTask(task: LSTask): Promise<MetaTaskResult>;
  /** Indexes the rows of a page (authors and threads of messages edited later). */
  absorb(result: MetaTaskResult): void;
  toBackfill(msg: MetaMessage): BackfillMessage;
  maxPages: number;
  now?: () => number;
}

/** A reference no message has: the newest page (the emulator and Meta fall back to the time). */
const NO_MESSAGE = 'none';

async function page(threadId: string, ref: { id: string; timestamp: number }, deps: BackfillDeps): Promise<MetaMessage[]> {
  const result = await deps.sendTask(fetchMessagesTask({ threadId, referenceTimestampMs: ref.timestamp, referenceMessageId: ref.id }));
  deps.absorb(result);
  return groupMessages(result.tables).messages
    .filter((m) => m.row.threadKey === threadId)
    .sort((a, b) => a.row.timestampMs - b.row.timestampMs);
}

export async function fetchMetaMessages(p: FetchMessagesParams, deps: BackfillDeps): Promise<FetchMessagesResponse> {
  const threadId = p.portal.id as string;
  const count = Math.max(1, p.count);
  const now = (deps.now ?? Date.now)();
  const seen = new Set<string>();
  let collected: MetaMessage[] = [];
  let ref = p.anchor && !p.forward ? { id: p.anchor.id as string, timestamp: p.anchor.timestamp } : { id: NO_MESSAGE, timestamp: now + 60_000 };
  let exhausted = false;
  for (let i = 0; i < deps.maxPages; i++) {
    const got = (await page(threadId, ref, deps)).filter((m) => !seen.has(m.row.messageId));
    if (got.length === 0) {
      exhausted = true;
      break;
    }
    for (const m of got) seen.add(m.row.messageId);
    collected = [...got, ...collected];
    const oldest = got[0]!.row;
    if (p.forward && p.anchor && (seen.has(p.anchor.id) || oldest.timestampMs < p.anchor.timestamp)) break;
    if (!p.forward && collected.length >= count) break;
    ref = { id: oldest.messageId, timestamp: oldest.timestampMs };
  }
  if (p.forward && p.anchor) {
    const anchor = p.anchor;
    const at = collected.findIndex((m) => m.row.messageId === anchor.id);
    const newer = at >= 0 ? collected.slice(at + 1) : collected.filter((m) => m.row.timestampMs > anchor.timestamp);
    return { messages: newer.slice(0, count).map(deps.toBackfill), hasMore: newer.length > count };
  }
  const messages = collected.slice(-count);
  return { messages: messages.map(deps.toBackfill), hasMore: !exhausted || collected.length > count };
}
