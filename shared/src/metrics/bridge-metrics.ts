/**
 * Prometheus metrics of one bridge process (prom-client, a registry of its own so two bridges in
 * one test process do not collide). The core reports through the small `BridgeMetrics` interface;
 * gauges that describe current state (queue depths, logins by state) are read when scraped.
 * Label values are from closed sets (directions, event kinds, error reasons, bridge states), never
 * from user input, so the series count stays bounded. docs/metrics.md lists every metric.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Direction = 'remote_to_matrix' | 'matrix_to_remote';

export interface BridgeMetrics {
  /** A message reached the other side; `latencyMs` from its original timestamp. */
  messageBridged(direction: Direction, latencyMs: number, kind: string): void;
  /** Any other event bridged (edit, reaction, redaction, receipt, chat change ...). */
  eventBridged(direction: Direction, type: string): void;
  /** An event that could not be bridged, by error reason. */
  failed(direction: Direction, reason: string): void;
  /** Time from receiving an appservice transaction to acknowledging it (stored durably). */
  transactionAcked(ms: number): void;
  /** Messages sent into Matrix as history (backfill, catch-up, the network's history sync). */
  backfilled(count: number): void;
  /** Time spent in one end-to-bridge encryption step (only reported when encryption is on). */
  cryptoTimed?(op: CryptoOp, ms: number): void;
}

/** encrypt: one event, key sharing included; decrypt: one attempt; persist: one store snapshot. */
export type CryptoOp = 'encrypt' | 'decrypt' | 'persist';

/** What the gauges read at scrape time. */
export interface MetricsSource {
  network: string;
  queueDepths(): { total: number; max: number; portals: number };
  loginStates(): string[];
}

const MSGTYPES = new Set(['m.text', 'm.notice', 'm.emote', 'm.image', 'm.video', 'm.audio', 'm.file', 'm.location', 'm.sticker']);
const EVENT_TYPES = new Set([
  'edit', 'reaction', 'reaction_remove', 'message_remove', 'read_receipt', 'delivery_receipt', 'typing', 'chat_info_change',
  'chat_resync', 'backfill', 'm.reaction', 'm.room.redaction', 'm.room.name', 'm.room.topic', 'm.room.avatar',
  'm.room.power_levels', 'm.room.member', 'm.receipt', 'm.typing', 'm.presence',
]);
const REASON_RE = /^[a-z0-9_]{1,40}$/;

/** A label value from a closed set; anything else is counted as 'other'. */
function closed(value: string, allowed: Set<string>): string {
  return allowed.has(value) ? value : 'other';
}

export class PromBridgeMetrics implements BridgeMetrics {
  readonly registry = new Registry();
  private readonly messages: Counter<'network' | 'direction' | 'kind'>;
  private readonly events: Counter<'network' | 'direction' | 'type'>;
  private readonly failures: Counter<'network' | 'direction' | 'reason'>;
  private readonly latency: Histogram<'network' | 'direction'>;
  private readonly ack: Histogram;
  private readonly backfill: Counter<'network'>;
  private readonly crypto: Histogram<'network' | 'op'>;

  constructor(private readonly source: MetricsSource) {
    const registers = [this.registry];
    const network = source.network;
    collectDefaultMetrics({ register: this.registry, prefix: 'tributary_' });
    this.messages = new Counter({
      name: 'tributary_messages_bridged_total', help: 'Messages bridged, by direction and kind (msgtype)',
      labelNames: ['network', 'direction', 'kind'], registers,
    });
    this.events = new Counter({
      name: 'tributary_events_bridged_total', help: 'Other events bridged (edits, reactions, deletions, receipts, chat changes), by type',
      labelNames: ['network', 'direction', 'type'], registers,
    });
    this.failures = new Counter({
      name: 'tributary_bridge_failures_total', help: 'Events that could not be bridged, by reason',
      labelNames: ['network', 'direction', 'reason'], registers,
    });
    this.latency = new Histogram({
      name: 'tributary_message_latency_seconds', help: 'Time from a message\'s original timestamp until it was bridged',
      labelNames: ['network', 'direction'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.ack = new Histogram({
      name: 'tributary_transaction_ack_seconds', help: 'Time to store and acknowledge an appservice transaction', registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.backfill = new Counter({
      name: 'tributary_backfill_messages_total', help: 'Messages sent into Matrix as history (backfill, catch-up, history sync)',
      labelNames: ['network'], registers,
    });
    this.crypto = new Histogram({
      name: 'tributary_crypto_seconds', help: 'End-to-bridge encryption: time per encrypted event, decryption attempt and store snapshot',
      labelNames: ['network', 'op'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    });
    new Gauge({
      name: 'tributary_portal_queue_depth', help: 'Events waiting in portal queues: total, and the deepest single queue',
      labelNames: ['network', 'stat'], registers,
      collect() {
        const d = source.queueDepths();
        this.set({ network, stat: 'total' }, d.total);
        this.set({ network, stat: 'max' }, d.max);
      },
    });
    new Gauge({
      name: 'tributary_portals_loaded', help: 'Portals loaded in memory', labelNames: ['network'], registers,
      collect() {
        this.set({ network }, source.queueDepths().portals);
      },
    });
    new Gauge({
      name: 'tributary_logins', help: 'Logins by bridge state (CONNECTED, TRANSIENT_DISCONNECT, BAD_CREDENTIALS ...)',
      labelNames: ['network', 'state'], registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const s of source.loginStates()) counts.set(s, (counts.get(s) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ network, state }, n);
      },
    });
  }

  messageBridged(direction: Direction, latencyMs: number, kind: string): void {
    const network = this.source.network;
    this.messages.inc({ network, direction, kind: closed(kind, MSGTYPES) });
    this.latency.observe({ network, direction }, Math.max(0, latencyMs) / 1000);
  }

  eventBridged(direction: Direction, type: string): void {
    this.events.inc({ network: this.source.network, direction, type: closed(type, EVENT_TYPES) });
  }

  cryptoTimed(op: CryptoOp, ms: number): void {
    this.crypto.observe({ network: this.source.network, op }, Math.max(0, ms) / 1000);
  }

  failed(direction: Direction, reason: string): void {
    const r = reason.toLowerCase();
    this.failures.inc({ network: this.source.network, direction, reason: REASON_RE.test(r) ? r : 'other' });
  }

  transactionAcked(ms: number): void {
    this.ack.observe(Math.max(0, ms) / 1000);
  }

  backfilled(count: number): void {
    if (count > 0) this.backfill.inc({ network: this.source.network }, count);
  }

  /** The exposition text for GET /metrics. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
