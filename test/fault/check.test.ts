/**
 * The fault scenarios are only as good as their counting: these cases prove the checker reports
 * each kind of fault (loss, duplicate, reorder, a stray body) on each side, and that the verdict
 * only puts on Synapse what its tables or the bridge's ledger prove was Synapse's doing.
 */
import assert from 'node:assert/strict';
import { checkDelivery, isClean, type ObservedChat } from './harness/check.js';
import { bodyOf, MATRIX_ORIGIN, parseBody, type SentMessage } from './harness/load.js';
import type { Ledger } from './harness/ledger.js';
import { judge, type Evidence } from './harness/verdict.js';

const TAG = 't';
const sent = (chat: string, origin: string, n: number, id = `${chat}/${origin}${n}`): SentMessage =>
  ({ body: bodyOf(TAG, chat, origin, n), chat, origin, n, acceptedAt: n, id, attempts: 1 });
const seen = (m: SentMessage, id = m.id) => ({ body: m.body, id, sender: m.origin });

const a1 = sent('g', 'alice', 1);
const a2 = sent('g', 'alice', 2);
const b1 = sent('g', 'bob', 1);
const m1 = sent('g', MATRIX_ORIGIN, 1, '$m1');
const m2 = sent('g', MATRIX_ORIGIN, 2, '$m2');
const all = [a1, a2, b1, m1, m2];
const both = (matrix: SentMessage[], network = matrix): ObservedChat[] => [{ chat: 'g', matrix: matrix.map((m) => seen(m)), network: network.map((m) => seen(m)) }];

describe('fault harness: the counting', () => {
  it('round-trips bodies and ignores other runs', () => {
    assert.deepEqual(parseBody(TAG, a2.body), { chat: 'g', origin: 'alice', n: 2 });
    assert.equal(parseBody('other', a2.body), undefined);
  });

  it('passes a complete, ordered delivery (interleaving between senders is free)', () => {
    const r = checkDelivery(TAG, all, both([m1, a1, b1, m2, a2], [a1, m1, b1, a2, m2]));
    assert.ok(isClean(r.matrix) && isClean(r.network), JSON.stringify(r));
    assert.deepEqual(r.expected, { total: 5, fromMatrix: 2, fromNetwork: 3 });
  });

  it('reports a lost message on the side it is missing from', () => {
    const r = checkDelivery(TAG, all, both([a1, a2, b1, m1], [a1, a2, b1, m1, m2]));
    assert.deepEqual(r.matrix.lost, [m2.body]);
    assert.deepEqual(r.network.lost, []);
  });

  it('reports a duplicate with both ids', () => {
    const observed = both(all);
    observed[0]!.matrix.push(seen(a1, 'again'));
    const r = checkDelivery(TAG, all, observed);
    assert.deepEqual(r.matrix.duplicated, [{ body: a1.body, ids: [a1.id, 'again'] }]);
  });

  it('reports a message that overtook an earlier one of the same sender', () => {
    const r = checkDelivery(TAG, all, both(all, [a2, a1, b1, m1, m2]));
    assert.deepEqual(r.network.reordered, [{ chat: 'g', origin: 'alice', n: 1, after: 2 }]);
    assert.ok(isClean(r.matrix));
  });

  it('reports a body nobody sent, and a whole chat missing', () => {
    const stray = sent('g', 'carol', 9);
    const observed = both([...all, stray]);
    const r = checkDelivery(TAG, [...all, sent('h', 'bob', 1)], observed);
    assert.deepEqual(r.matrix.unexpected, [stray.body]);
    assert.deepEqual(r.network.lost, [bodyOf(TAG, 'h', 'bob', 1)]);
  });
});

describe('fault harness: the ledger and who did it', () => {
  const ledger = (over: Partial<Ledger> = {}): Ledger => ({
    networkIdByMxid: new Map([['$a1', a1.id], ['$m1', 'g/net-m1']]),
    mxidsByNetworkId: new Map([[a1.id, ['$a1']]]),
    inboundEventIds: new Set(['$m1', '$m2']),
    inboundSeqByEventId: new Map([['$m1', 1], ['$m2', 2]]),
    inboundQueued: 0,
    pendingSends: new Map([['$m1', { state: 'sent', remoteId: 'g/net-m1' }], ['$m2', { state: 'sent', remoteId: 'g/net-m2' }]]),
    ...over,
  });
  const observed: ObservedChat[] = [{
    chat: 'g',
    matrix: [{ body: a1.body, id: '$a1', sender: '@ghost' }, seen(m1), seen(m2)],
    network: [{ body: m1.body, id: 'g/net-m1', sender: 'me' }, { body: m2.body, id: 'g/net-m2', sender: 'me' }, seen(a1)],
  }];
  const evidence = (over: Partial<Evidence> = {}): Evidence => ({ ledger: ledger(), stranded: new Set(), synapseRestarted: false, ...over });
  const verdictOf = (e: Evidence, obs = observed, sent = [a1, m1, m2]) => judge(checkDelivery(TAG, sent, obs), e, sent, obs);
  const withoutOnNetwork = (m: SentMessage): ObservedChat[] => [{ ...observed[0]!, network: observed[0]!.network.filter((n) => n.body !== m.body) }];

  it('finds nothing when both sides and the ledger agree', () => {
    const v = verdictOf(evidence());
    assert.deepEqual(v.bridge.ledger, { unsent: [], unmapped: [], neverDelivered: [], inboundQueued: 0 });
    assert.ok(isClean(v.bridge.matrix) && isClean(v.bridge.network));
  });

  it('reports an unfinished send and an unmapped network message as the bridge\'s', () => {
    const v = verdictOf(evidence({ ledger: ledger({ pendingSends: new Map([['$m1', { state: 'pending', remoteId: null }]]), mxidsByNetworkId: new Map() }) }));
    assert.equal(v.bridge.ledger.unsent.length, 2);
    assert.equal(v.bridge.ledger.unmapped.length, 1);
  });

  it('blames Synapse for a lost message only with proof: stranded in its table, or dropped in a restart', () => {
    const notArrived = ledger({ inboundEventIds: new Set(['$m2']) });
    const stranded = verdictOf(evidence({ ledger: notArrived, stranded: new Set(['$m1']) }), withoutOnNetwork(m1));
    assert.deepEqual([stranded.homeserver.stranded, stranded.bridge.network.lost, stranded.bridge.ledger.neverDelivered], [[m1.body], [], []]);
    const noProof = verdictOf(evidence({ ledger: notArrived }), withoutOnNetwork(m1));
    assert.deepEqual([noProof.bridge.network.lost, noProof.bridge.ledger.neverDelivered], [[m1.body], [m1.body]]);
    const restarted = verdictOf(evidence({ ledger: notArrived, synapseRestarted: true }), withoutOnNetwork(m1));
    assert.deepEqual([restarted.homeserver.droppedInRestart, restarted.bridge.network.lost], [[m1.body], []]);
    const received = verdictOf(evidence({ stranded: new Set(['$m1']) }), withoutOnNetwork(m1));
    assert.deepEqual(received.bridge.network.lost, [m1.body], 'the bridge had it: its fault whatever Synapse holds');
    const nothingLater = verdictOf(evidence({ ledger: ledger({ inboundEventIds: new Set() }), stranded: new Set(['$m2']) }), withoutOnNetwork(m2));
    assert.deepEqual(nothingLater.bridge.network.lost, [m2.body], 'nothing later arrived: it may still come');
  });

  it('blames Synapse for a reorder only when it pushed the events to the bridge in that order', () => {
    const swapped: ObservedChat[] = [{ ...observed[0]!, network: [...observed[0]!.network].reverse() }];
    const bySynapse = verdictOf(evidence({ ledger: ledger({ inboundSeqByEventId: new Map([['$m1', 7], ['$m2', 3]]) }) }), swapped);
    assert.deepEqual([bySynapse.homeserver.deliveredOutOfOrder.length, bySynapse.bridge.network.reordered.length], [1, 0]);
    const byBridge = verdictOf(evidence(), swapped);
    assert.deepEqual([byBridge.homeserver.deliveredOutOfOrder.length, byBridge.bridge.network.reordered.length], [0, 1]);
  });

  it('blames Synapse for a doubled network message only after its restart, with one event in the map', () => {
    const doubled: ObservedChat[] = [{ ...observed[0]!, matrix: [...observed[0]!.matrix, { body: a1.body, id: '$again', sender: '@ghost' }] }];
    assert.equal(verdictOf(evidence({ synapseRestarted: true }), doubled).homeserver.storedTwice.length, 1);
    assert.equal(verdictOf(evidence(), doubled).bridge.matrix.duplicated.length, 1, 'no restart: the bridge sent it twice');
    const both = ledger({ networkIdByMxid: new Map([['$a1', a1.id], ['$again', a1.id], ['$m1', 'g/net-m1']]) });
    assert.equal(verdictOf(evidence({ ledger: both, synapseRestarted: true }), doubled).bridge.matrix.duplicated.length, 1, 'both mapped: the bridge sent it twice');
  });
});
