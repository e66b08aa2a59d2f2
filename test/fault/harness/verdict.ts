/**
 * Who did it: every fault the counting found is either proven to be Synapse's, by Synapse's own
 * tables or the bridge's ledger, or it is the bridge's (docs/fault-injection.md, "Known homeserver
 * limits"). The scenarios assert that the bridge's share is empty and print Synapse's.
 *
 * - Stranded: Synapse stores an appservice transaction while its recoverer is finishing and then
 *   never sends it (the row stays in `application_services_txns` while later events are
 *   delivered). Proof: the event is in that table, not in the bridge's `inbound_events`, and a
 *   later event of the same person in the same room did reach the bridge.
 * - Delivered out of order: such a transaction is sent at the next recovery, after newer ones.
 *   Proof: the bridge's `inbound_events` received the two events in the wrong order; the bridge
 *   sends to the network in the order it receives, so the network shows the same inversion.
 * - Dropped in a restart: Synapse forgets events it held only in memory for the appservice when it
 *   stops. Proof: a restart happened, the event reached neither the bridge nor Synapse's table, and
 *   a later event of the same room did reach the bridge (Synapse never goes back).
 * - Stored twice: Synapse's transaction-id cache for appservice users is in memory, so a bridge
 *   send repeated across a restart (its response was lost) is stored again. Proof: a restart
 *   happened, and exactly one of the two events is the one the bridge's `messages` map holds.
 */
import type { DeliveryReport, Duplicate, ObservedChat, Reorder, SideReport } from './check.js';
import { checkLedger, readLedger, type Ledger, type LedgerReport } from './ledger.js';
import { MATRIX_ORIGIN, type MixedLoad, type SentMessage } from './load.js';
import type { Excuse } from './observe.js';
import type { FaultStack } from './stack.js';
import { strandedEventIds } from './synapse-db.js';

export interface HomeserverFaults {
  stranded: string[];
  deliveredOutOfOrder: Reorder[];
  droppedInRestart: string[];
  storedTwice: Duplicate[];
}

export interface Verdict {
  homeserver: HomeserverFaults;
  /** Must be all empty (and ledger.inboundQueued 0). */
  bridge: { matrix: SideReport; network: SideReport; ledger: LedgerReport };
}

export interface Evidence {
  ledger: Ledger;
  /** Event ids Synapse holds in undelivered appservice transactions. */
  stranded: Set<string>;
  /** Whether Synapse was restarted in the run (only then can it drop or double). */
  synapseRestarted: boolean;
}

export async function gatherEvidence(stack: FaultStack, synapseRestarted: boolean): Promise<Evidence> {
  return { ledger: await readLedger(stack.env), stranded: await strandedEventIds(stack.env), synapseRestarted };
}

function mine(sent: readonly SentMessage[], chat: string, n: number): SentMessage | undefined {
  return sent.find((m) => m.origin === MATRIX_ORIGIN && m.chat === chat && m.n === n);
}

/** Why a message from Matrix never reached the bridge, when Synapse is provably the reason. */
function homeserverLoss(e: Evidence, sent: readonly SentMessage[], body: string): 'stranded' | 'droppedInRestart' | undefined {
  const m = sent.find((s) => s.body === body && s.origin === MATRIX_ORIGIN);
  if (!m || e.ledger.inboundEventIds.has(m.id)) return undefined;
  const laterArrived = sent.some((s) => s.origin === MATRIX_ORIGIN && s.chat === m.chat && s.n > m.n && e.ledger.inboundEventIds.has(s.id));
  if (!laterArrived) return undefined;
  if (e.stranded.has(m.id)) return 'stranded';
  return e.synapseRestarted ? 'droppedInRestart' : undefined;
}

function receivedInThatOrder(e: Evidence, sent: readonly SentMessage[], r: Reorder): boolean {
  if (r.origin !== MATRIX_ORIGIN) return false;
  const late = mine(sent, r.chat, r.n);
  const early = mine(sent, r.chat, r.after);
  const lateSeq = late && e.ledger.inboundSeqByEventId.get(late.id);
  const earlySeq = early && e.ledger.inboundSeqByEventId.get(early.id);
  return lateSeq !== undefined && earlySeq !== undefined && lateSeq > earlySeq;
}

function storedTwiceBySynapse(e: Evidence, sent: readonly SentMessage[], d: Duplicate): boolean {
  if (!e.synapseRestarted) return false;
  const m = sent.find((s) => s.body === d.body);
  const mapped = d.ids.filter((id) => e.ledger.networkIdByMxid.has(id));
  return m !== undefined && m.origin !== MATRIX_ORIGIN && d.ids.length === 2 && mapped.length === 1 && e.ledger.networkIdByMxid.get(mapped[0]!) === m.id;
}

export function judge(report: DeliveryReport, e: Evidence, sent: readonly SentMessage[], observed: readonly ObservedChat[]): Verdict {
  const homeserver: HomeserverFaults = { stranded: [], deliveredOutOfOrder: [], droppedInRestart: [], storedTwice: [] };
  const networkLost: string[] = [];
  for (const body of report.network.lost) {
    const why = homeserverLoss(e, sent, body);
    if (why) homeserver[why].push(body);
    else networkLost.push(body);
  }
  const networkReordered: Reorder[] = [];
  for (const r of report.network.reordered) (receivedInThatOrder(e, sent, r) ? homeserver.deliveredOutOfOrder : networkReordered).push(r);
  const matrixDuplicated: Duplicate[] = [];
  for (const d of report.matrix.duplicated) (storedTwiceBySynapse(e, sent, d) ? homeserver.storedTwice : matrixDuplicated).push(d);
  const excused = new Set([...homeserver.stranded, ...homeserver.droppedInRestart]);
  const ledger = checkLedger(e.ledger, sent, observed, MATRIX_ORIGIN);
  return {
    homeserver,
    bridge: {
      matrix: { ...report.matrix, duplicated: matrixDuplicated },
      network: { ...report.network, lost: networkLost, reordered: networkReordered },
      ledger: { ...ledger, neverDelivered: ledger.neverDelivered.filter((b) => !excused.has(b)) },
    },
  };
}

/** An Excuse for awaitDelivery: messages from Matrix that Synapse provably will not deliver. */
export function homeserverExcuse(stack: FaultStack, synapseRestarted: boolean): Excuse {
  return async (report: DeliveryReport, load: MixedLoad) => {
    const e = await gatherEvidence(stack, synapseRestarted);
    return new Set(report.network.lost.filter((b) => homeserverLoss(e, load.sent, b) !== undefined));
  };
}

export function describeHomeserver(h: HomeserverFaults): string {
  return `${h.stranded.length} stranded in an undelivered appservice transaction, ${h.deliveredOutOfOrder.length} pushed out of order, ` +
    `${h.droppedInRestart.length} dropped from memory in a restart, ${h.storedTwice.length} bridge send(s) stored twice`;
}
