/**
 * Matrix -> remote under a burst, fed the way Synapse feeds an appservice: 100-event
 * transactions, one in flight, the next as soon as the previous is acknowledged. The events are
 * the person's messages in the bench portal rooms, so the bridge really delivers them.
 * - Acknowledgement time of each transaction (bridge: parse, validate, durable enqueue; raw: read
 *   the body and answer 200).
 * - End-to-end delivery rate: from the first transaction to the last message arriving on the
 *   network (bridge; raw: the raw appservice forwarding to the same contacts, one send in flight
 *   per chat).
 */
import { Arrivals, runPrefix, watchNetwork } from './arrivals.js';
import { RAW_ACCOUNT, type BenchContext, type BenchPortal } from './context.js';
import { clientSend, textContent } from './matrix.js';
import { rawForward } from './stack.js';
import { interleave } from './phase-throughput.js';

export const TXN_SIZE = 100;

interface TxnRun { rate: number; acks: number[] }

async function postTransactions(ctx: BenchContext, name: string, port: number, hsToken: string, txns: number, portals: BenchPortal[]): Promise<TxnRun> {
  const prefix = runPrefix(name);
  const arrivals = new Arrivals(prefix);
  const off = watchNetwork(ctx.stack.sandbox.network, arrivals, new Set(portals.map((p) => p.account)));
  const markers: string[] = [];
  const bodies: string[] = [];
  for (let t = 0; t < txns; t++) {
    const events = [];
    for (let i = 0; i < TXN_SIZE; i++) {
      const n = t * TXN_SIZE + i;
      const marker = `${prefix}${n}`;
      markers.push(marker);
      events.push({
        event_id: `$${marker.replace(/[^A-Za-z0-9.]/g, '_')}`, room_id: portals[n % portals.length]!.room,
        sender: ctx.stack.person.userId, type: 'm.room.message', origin_server_ts: Date.now(), content: textContent(marker), unsigned: { age: 5 },
      });
    }
    bodies.push(JSON.stringify({ events, ephemeral: [] }));
  }
  const acks: number[] = [];
  try {
    const t0 = performance.now();
    for (let t = 0; t < txns; t++) {
      const start = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/_matrix/app/v1/transactions/${encodeURIComponent(`${prefix}${t}`)}`, {
        method: 'PUT', headers: { Authorization: `Bearer ${hsToken}`, 'Content-Type': 'application/json' }, body: bodies[t],
      });
      await res.arrayBuffer();
      acks.push(performance.now() - start);
      if (res.status !== 200) throw new Error(`${name}: transaction answered ${res.status}`);
    }
    const tEnd = await arrivals.waitAll(markers);
    return { rate: markers.length / ((tEnd - t0) / 1000), acks };
  } finally {
    off();
  }
}

/**
 * The whole way: the person sends from their own client through Synapse (one send in flight per
 * room), Synapse pushes the transactions, and the message arrives on the network. Bridge: portal
 * rooms; raw: rooms without the bridge, forwarded by the raw appservice to the same contacts.
 */
async function throughSynapse(ctx: BenchContext, name: string, rooms: string[], perRoom: number): Promise<number> {
  const prefix = runPrefix(name);
  const arrivals = new Arrivals(prefix);
  const off = watchNetwork(ctx.stack.sandbox.network, arrivals, new Set(ctx.portals.map((p) => p.account)));
  const { synapse, person } = ctx.stack;
  const markers = rooms.flatMap((_, r) => Array.from({ length: perRoom }, (_x, i) => `${prefix}${r}.${i}`));
  try {
    const t0 = performance.now();
    await Promise.all(rooms.map(async (room, r) => {
      for (let i = 0; i < perRoom; i++) await clientSend(synapse.baseUrl, person.accessToken, room, textContent(`${prefix}${r}.${i}`));
    }));
    const tEnd = await arrivals.waitAll(markers);
    return markers.length / ((tEnd - t0) / 1000);
  } finally {
    off();
  }
}

export interface TransactionsResult {
  bridgeAcks: number[];
  rawAcks: number[];
  bridgeRates: number[];
  rawRates: number[];
  txns: number;
  /** The same with every event in one portal. */
  singleBridgeRates: number[];
  singleRawRates: number[];
  /** Delivery rates of messages sent through Synapse (throughSynapse). */
  clientBridgeRates: number[];
  clientRawRates: number[];
}

/** Bridge and raw runs of `txns` transactions spread over `portals`, interleaved; acks and rates collected. */
export async function burst(ctx: BenchContext, portals: BenchPortal[], txns: number): Promise<{ bridge: TxnRun[]; raw: TxnRun[] }> {
  const { stack } = ctx;
  const bridge = () => postTransactions(ctx, 'txn-bridge', stack.asPort, stack.hsToken, txns, portals);
  const rawRooms = Object.fromEntries(portals.map((p) => [p.room, p.rawChat]));
  const raw = async () => {
    await rawForward(stack, RAW_ACCOUNT, rawRooms);
    try {
      return await postTransactions(ctx, 'txn-raw', stack.raw.port, stack.raw.hsToken, txns, portals);
    } finally {
      await rawForward(stack, RAW_ACCOUNT, {});
    }
  };
  await bridge(); // warm-up
  await raw();
  const out = { bridge: [] as TxnRun[], raw: [] as TxnRun[] };
  await interleave(ctx.args.reps, async () => {
    const r = await bridge();
    out.bridge.push(r);
    return r.rate;
  }, async () => {
    const r = await raw();
    out.raw.push(r);
    return r.rate;
  });
  return out;
}

export async function runTransactions(ctx: BenchContext): Promise<TransactionsResult> {
  const { stack } = ctx;
  const txns = Math.max(2, Math.round((ctx.args.rooms * ctx.args.perRoom) / TXN_SIZE));
  const many = await burst(ctx, ctx.portals, txns);
  const out: TransactionsResult = {
    txns, bridgeAcks: many.bridge.flatMap((r) => r.acks), rawAcks: many.raw.flatMap((r) => r.acks),
    bridgeRates: many.bridge.map((r) => r.rate), rawRates: many.raw.map((r) => r.rate),
    singleBridgeRates: [], singleRawRates: [], clientBridgeRates: [], clientRawRates: [],
  };
  ctx.log(`Matrix->remote, ${ctx.portals.length} portals: bridge ${out.bridgeRates.map(Math.round).join('/')} ev/s, raw ${out.rawRates.map(Math.round).join('/')} ev/s`);
  const single = await burst(ctx, ctx.portals.slice(0, 1), Math.max(1, Math.round(ctx.args.single / TXN_SIZE)));
  out.singleBridgeRates = single.bridge.map((r) => r.rate);
  out.singleRawRates = single.raw.map((r) => r.rate);
  ctx.log(`Matrix->remote, 1 portal: bridge ${out.singleBridgeRates.map(Math.round).join('/')} ev/s, raw ${out.singleRawRates.map(Math.round).join('/')} ev/s`);

  const perRoom = ctx.args.perRoom;
  await rawForward(stack, RAW_ACCOUNT, Object.fromEntries(ctx.rawRooms.map((r) => [r.room, r.chat])));
  try {
    const viaSynapse = await interleave(ctx.args.reps,
      () => throughSynapse(ctx, 'm2r-client-bridge', ctx.portals.map((p) => p.room), perRoom),
      () => throughSynapse(ctx, 'm2r-client-raw', ctx.rawRooms.map((r) => r.room), perRoom));
    out.clientBridgeRates = viaSynapse.bridge;
    out.clientRawRates = viaSynapse.raw;
  } finally {
    await rawForward(stack, RAW_ACCOUNT, {});
  }
  ctx.log(`Matrix->remote through Synapse: bridge ${out.clientBridgeRates.map(Math.round).join('/')} ev/s, raw ${out.clientRawRates.map(Math.round).join('/')} ev/s`);
  return out;
}
