/**
 * Start-up with an empty database and with 10,000 portals in it. A separate login (`boot`, one
 * real DM) keeps the run small; the big database is the same one plus 10,000 portal rows, their
 * ghosts and the login's user_portals rows, written with the core's own queries. The seeded rooms
 * do not exist on the homeserver and hold no messages: this measures what having them in the
 * database costs the bridge (start-up and its catch-up scan), not homeserver work per room.
 * Figures: spawn -> /_matrix/mau/ready 200 (the target), spawn -> the login CONNECTED, and spawn ->
 * a message sent at ready time seen in Matrix. Variants alternate, median of the repetitions.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { BridgeProcess } from './bridge-process.js';
import type { BenchContext } from './context.js';
import { networkSend, withDb } from './portals.js';
import { runPrefix } from './arrivals.js';
import { sleep } from './stats.js';

const LOGIN = 'boot';
const CONTACT = 'bootc';

export interface StartupRun { readyMs: number; connectedMs: number; firstMessageMs: number; heapUsed: number }
export interface StartupResult { portals: number; empty: StartupRun[]; big: StartupRun[] }

async function variant(ctx: BenchContext, name: string): Promise<{ configPath: string; db: string }> {
  const dir = join(ctx.stack.dir, `startup-${name}`);
  await mkdir(join(dir, 'data'), { recursive: true });
  const config = parse(await readFile(ctx.stack.configPath, 'utf8')) as Record<string, unknown>;
  config.data_dir = join(dir, 'data');
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, stringify(config));
  return { configPath, db: join(dir, 'data', 'bridge.db') };
}

async function loginState(ctx: BenchContext): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${ctx.stack.asPort}/_tributary/v1/bridge_state`, { headers: { Authorization: `Bearer ${ctx.stack.hsToken}` } });
  const body = (await res.json()) as { logins?: Record<string, { state_event?: string }> };
  return body.logins?.[LOGIN]?.state_event;
}

async function seedPortals(db: string, count: number, person: string): Promise<void> {
  await withDb(db, (d) => d.transaction(async (tx) => {
    for (let i = 0; i < count; i++) {
      const user = `seed${i}`;
      const id = `dm:${LOGIN}:${user}`; // sandbox DM ids sort the two accounts
      await tx.ghosts.upsert({ id: user, name: `Seeded contact ${i}`, nameSet: true });
      await tx.portals.upsert({ id, receiver: LOGIN, roomType: 'dm', mxid: `!seeded${i}:localhost`, otherUserId: user });
      await tx.userPortals.upsert({ loginId: LOGIN, portalId: id, portalReceiver: LOGIN, userMxid: person, inSpace: false, preferred: true });
    }
  }));
}

async function skipReplay(ctx: BenchContext, db: string): Promise<void> {
  await withDb(db, async (d) => {
    const row = await d.logins.get(LOGIN);
    await d.logins.updateMetadata(LOGIN, { ...row!.metadata, since: ctx.stack.sandbox.network.headSeq(LOGIN) });
  });
}

async function startOnce(ctx: BenchContext, v: { configPath: string; db: string }, chat: string, room: string): Promise<StartupRun> {
  await skipReplay(ctx, v.db);
  const proc = new BridgeProcess({ configPath: v.configPath, asPort: ctx.stack.asPort, logFile: join(ctx.stack.dir, 'startup-bridge.log') });
  const readyMs = await proc.start();
  const spawnedAt = performance.now() - readyMs;
  try {
    const marker = `${runPrefix('boot')}0`;
    const seen = ctx.sync.waitFor('the start-up probe message', (ev) => (ev.roomId === room && ev.body === marker ? ev.at : undefined), 120_000);
    networkSend(ctx.stack, CONTACT, chat, marker);
    let connectedMs = NaN;
    for (let i = 0; i < 2400 && Number.isNaN(connectedMs); i++) {
      if ((await loginState(ctx)) === 'CONNECTED') connectedMs = performance.now() - spawnedAt;
      else await sleep(25);
    }
    const firstMessageMs = (await seen) - spawnedAt;
    await sleep(2000);
    const heapUsed = (await proc.memory()).heapUsed;
    return { readyMs, connectedMs, firstMessageMs, heapUsed };
  } finally {
    await proc.stop();
  }
}

export async function runStartup(ctx: BenchContext): Promise<StartupResult> {
  const { stack } = ctx;
  const count = ctx.args.startupPortals;
  await stack.bridge.stop();
  const net = stack.sandbox.network;
  net.createAccount({ id: LOGIN, name: 'Start-up login' });
  net.createAccount({ id: CONTACT, name: 'Start-up contact' });
  const chat = net.createDm(CONTACT, LOGIN).chat.id;

  // The base database: migrated by the bridge itself, the login written with the core's queries,
  // then one start so the real DM gets its room.
  const base = await variant(ctx, 'base');
  await withDb(base.db, async (db) => {
    await db.migrate();
    await db.users.getOrCreate(stack.person.userId);
    await db.logins.upsert({ id: LOGIN, userMxid: stack.person.userId, remoteName: LOGIN, spaceRoom: null, metadata: { token: net.account(LOGIN).token }, createdAt: Date.now() });
  });
  const first = new BridgeProcess({ configPath: base.configPath, asPort: stack.asPort, logFile: join(stack.dir, 'startup-bridge.log') });
  await first.start();
  let room: string | undefined;
  for (let i = 0; i < 600 && !room; i++) {
    room = await withDb(base.db, async (db) => (await db.userPortals.listForLogin(LOGIN)).length
      ? (await db.portals.get({ id: chat, receiver: LOGIN }))?.mxid ?? undefined : undefined);
    if (!room) await sleep(200);
  }
  await first.stop();
  if (!room) throw new Error('the start-up login\'s portal was not set up');
  ctx.sync.addRooms([room]);

  const empty = await variant(ctx, 'empty');
  const big = await variant(ctx, 'big');
  for (const v of [empty, big]) {
    for (const suffix of ['', '-wal']) if (existsSync(base.db + suffix)) await copyFile(base.db + suffix, v.db + suffix);
  }
  const t0 = performance.now();
  await seedPortals(big.db, count, stack.person.userId);
  ctx.log(`start-up: ${count} portals seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const out: StartupResult = { portals: count, empty: [], big: [] };
  const reps = Math.max(3, ctx.args.reps);
  for (let i = 0; i < reps; i++) {
    const order: Array<[StartupRun[], typeof empty]> = i % 2 === 0 ? [[out.empty, empty], [out.big, big]] : [[out.big, big], [out.empty, empty]];
    for (const [list, v] of order) list.push(await startOnce(ctx, v, chat, room));
  }
  ctx.log(`start-up ready: empty ${out.empty.map((r) => Math.round(r.readyMs)).join('/')} ms, ${count} portals ${out.big.map((r) => Math.round(r.readyMs)).join('/')} ms`);
  return out;
}
