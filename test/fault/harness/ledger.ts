/**
 * The bridge's own record of what it bridged, read from its database: which Matrix event stands
 * for which network message (`messages`), which Matrix events reached the bridge at all
 * (`inbound_events`) and where each send to the network stands (`pending_sends`). Comparing it
 * with both sides separates the bridge's faults from the homeserver's known limits.
 */
import { join } from 'node:path';
import { openDatabase } from '../../../shared/src/db/database.js';
import type { BridgeEnv } from '../../helpers/bridge-env.js';

export interface Ledger {
  /** Matrix event id -> network message id, for every bridged message (both directions). */
  networkIdByMxid: Map<string, string>;
  /** Network message id -> the Matrix event ids recorded for it (one, unless the map is broken). */
  mxidsByNetworkId: Map<string, string[]>;
  /** Matrix events the homeserver delivered to the bridge (kept until pruned, days later). */
  inboundEventIds: Set<string>;
  /** Where each of them stands in the order the bridge received them. */
  inboundSeqByEventId: Map<string, number>;
  /** Inbound rows still waiting to be handled. */
  inboundQueued: number;
  /** Sends to the network by Matrix event id: state and network id. */
  pendingSends: Map<string, { state: string; remoteId: string | null }>;
}

export async function readLedger(env: BridgeEnv): Promise<Ledger> {
  const cfg = env.config as unknown as { data_dir: string; database: { type: 'sqlite' | 'postgres'; uri: string } };
  const uri = cfg.database.type === 'sqlite' && !cfg.database.uri.startsWith('/') ? join(cfg.data_dir, cfg.database.uri) : cfg.database.uri;
  const db = await openDatabase({ type: cfg.database.type, uri });
  try {
    const messages = (await db.knex('messages').select('id', 'mxid')) as Array<{ id: string; mxid: string }>;
    const inbound = (await db.knex('inbound_events').whereNotNull('event_id').select('seq', 'event_id', 'state')) as Array<{ seq: number; event_id: string; state: string }>;
    const pending = (await db.knex('pending_sends').select('event_id', 'state', 'remote_message_id')) as Array<{ event_id: string; state: string; remote_message_id: string | null }>;
    const mxidsByNetworkId = new Map<string, string[]>();
    for (const m of messages) mxidsByNetworkId.set(m.id, [...(mxidsByNetworkId.get(m.id) ?? []), m.mxid]);
    return {
      networkIdByMxid: new Map(messages.map((m) => [m.mxid, m.id])),
      mxidsByNetworkId,
      inboundEventIds: new Set(inbound.map((r) => r.event_id)),
      inboundSeqByEventId: new Map(inbound.map((r) => [r.event_id, Number(r.seq)])),
      inboundQueued: inbound.filter((r) => r.state === 'queued').length,
      pendingSends: new Map(pending.map((p) => [p.event_id, { state: p.state, remoteId: p.remote_message_id }])),
    };
  } finally {
    await db.close();
  }
}

export interface LedgerReport {
  /** The person's messages with no finished send in the bridge's ledger (state and why). */
  unsent: string[];
  /** Contacts' messages the ledger does not map to exactly one Matrix event holding that body. */
  unmapped: string[];
  /** The person's messages the homeserver never handed to the bridge (not in inbound_events). */
  neverDelivered: string[];
  inboundQueued: number;
}

/**
 * Holds the ledger against what was sent and what both sides show: every message from Matrix
 * was delivered by the homeserver and sent once (`pending_sends` 'sent', with the network id that
 * carries its body), and every network message maps to one Matrix event carrying its body.
 */
export function checkLedger(
  ledger: Ledger,
  sent: ReadonlyArray<{ body: string; chat: string; origin: string; id: string }>,
  observed: ReadonlyArray<{ chat: string; matrix: ReadonlyArray<{ body: string; id: string }>; network: ReadonlyArray<{ body: string; id: string }> }>,
  matrixOrigin: string,
): LedgerReport {
  const report: LedgerReport = { unsent: [], unmapped: [], neverDelivered: [], inboundQueued: ledger.inboundQueued };
  const byChat = new Map(observed.map((o) => [o.chat, o]));
  for (const m of sent) {
    const chat = byChat.get(m.chat);
    if (m.origin === matrixOrigin) {
      if (!ledger.inboundEventIds.has(m.id)) {
        report.neverDelivered.push(m.body);
        continue;
      }
      const p = ledger.pendingSends.get(m.id);
      const onNetwork = chat?.network.find((n) => n.id === p?.remoteId);
      if (!p || p.state !== 'sent' || onNetwork?.body !== m.body) {
        report.unsent.push(`${m.body} (${p ? `${p.state}, network id ${p.remoteId}` : 'no pending send'})`);
      }
    } else {
      const mxids = ledger.mxidsByNetworkId.get(m.id) ?? [];
      const inRoom = chat?.matrix.find((e) => e.id === mxids[0]);
      if (mxids.length !== 1 || inRoom?.body !== m.body) report.unmapped.push(`${m.body} (${mxids.length} events)`);
    }
  }
  return report;
}
