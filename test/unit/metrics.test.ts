/** The metrics registry and its listener: what the core reports shows up in the exposition. */
import assert from 'node:assert/strict';
import { PromBridgeMetrics, startMetricsServer, type MetricsServer } from '../../shared/src/metrics/index.js';

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics', () => {
  let depths = { total: 3, max: 2, portals: 4 };
  let states = ['CONNECTED', 'CONNECTED', 'TRANSIENT_DISCONNECT'];
  const source = { network: 'sandbox', queueDepths: () => depths, loginStates: () => states };

  it('counts messages, events, failures, acks and backfill with bounded labels', async () => {
    const m = new PromBridgeMetrics(source);
    m.messageBridged('remote_to_matrix', 120, 'm.text');
    m.messageBridged('remote_to_matrix', 80, 'm.text');
    m.messageBridged('matrix_to_remote', 30, 'm.image');
    m.messageBridged('matrix_to_remote', 30, 'com.evil.custom<script>'); // user-controlled msgtype
    m.eventBridged('remote_to_matrix', 'reaction');
    m.eventBridged('matrix_to_remote', 'x'.repeat(500));
    m.failed('matrix_to_remote', 'M_UNSUPPORTED');
    m.failed('remote_to_matrix', 'has spaces and "quotes"');
    m.transactionAcked(4);
    m.backfilled(7);
    m.backfilled(0);
    const text = await m.render();
    assert.equal(sample(text, 'tributary_messages_bridged_total', { direction: 'remote_to_matrix', kind: 'm.text', network: 'sandbox' }), 2);
    assert.equal(sample(text, 'tributary_messages_bridged_total', { direction: 'matrix_to_remote', kind: 'm.image' }), 1);
    assert.equal(sample(text, 'tributary_messages_bridged_total', { direction: 'matrix_to_remote', kind: 'other' }), 1);
    assert.ok(!text.includes('evil'), 'a user-chosen msgtype never becomes a label');
    assert.equal(sample(text, 'tributary_events_bridged_total', { type: 'reaction' }), 1);
    assert.equal(sample(text, 'tributary_events_bridged_total', { direction: 'matrix_to_remote', type: 'other' }), 1);
    assert.equal(sample(text, 'tributary_bridge_failures_total', { reason: 'm_unsupported' }), 1);
    assert.equal(sample(text, 'tributary_bridge_failures_total', { direction: 'remote_to_matrix', reason: 'other' }), 1);
    assert.equal(sample(text, 'tributary_message_latency_seconds_count', { direction: 'remote_to_matrix' }), 2);
    assert.equal(sample(text, 'tributary_message_latency_seconds_bucket', { direction: 'remote_to_matrix', le: '0.1' }), 1);
    assert.equal(sample(text, 'tributary_transaction_ack_seconds_count', {}), 1);
    assert.equal(sample(text, 'tributary_transaction_ack_seconds_bucket', { le: '0.005' }), 1);
    assert.equal(sample(text, 'tributary_backfill_messages_total', {}), 7);
  });

  it('reads queue depths and logins by state when scraped', async () => {
    const m = new PromBridgeMetrics(source);
    let text = await m.render();
    assert.equal(sample(text, 'tributary_portal_queue_depth', { stat: 'total' }), 3);
    assert.equal(sample(text, 'tributary_portal_queue_depth', { stat: 'max' }), 2);
    assert.equal(sample(text, 'tributary_portals_loaded', {}), 4);
    assert.equal(sample(text, 'tributary_logins', { state: 'CONNECTED' }), 2);
    assert.equal(sample(text, 'tributary_logins', { state: 'TRANSIENT_DISCONNECT' }), 1);
    depths = { total: 0, max: 0, portals: 4 };
    states = ['CONNECTED'];
    text = await m.render();
    assert.equal(sample(text, 'tributary_portal_queue_depth', { stat: 'total' }), 0);
    assert.equal(sample(text, 'tributary_logins', { state: 'TRANSIENT_DISCONNECT' }), undefined, 'a state nobody is in disappears');
    assert.ok(/^tributary_process_cpu_seconds_total /m.test(text), 'process metrics are included');
  });

  describe('listener', () => {
    let server: MetricsServer;
    before(async () => {
      const m = new PromBridgeMetrics(source);
      m.messageBridged('remote_to_matrix', 1, 'm.text');
      server = await startMetricsServer(m, '127.0.0.1', 0);
    });
    after(() => server.close());

    it('serves GET /metrics as Prometheus text, and nothing else', async () => {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.ok((await res.text()).includes('tributary_messages_bridged_total'));
      const other = await fetch(`http://127.0.0.1:${server.port}/_matrix/app/v1/transactions/1`);
      assert.equal(other.status, 404);
      assert.equal(((await other.json()) as { errcode: string }).errcode, 'M_NOT_FOUND');
      const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
    });
  });
});
