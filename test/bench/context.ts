/**
 * What every phase works with: the stack, the person's sync, the bench portals (one DM per
 * contact, so one ghost per room), and the raw rooms the raw appservice forwards from.
 */
import type { BenchArgs } from './args.js';
import { createContacts, loginPerson, waitForPortals, type Contact } from './portals.js';
import { createRoom } from './matrix.js';
import type { BenchStack } from './stack.js';
import { SyncWatcher } from './sync-watcher.js';

export interface BenchPortal extends Contact {
  room: string;
  ghost: string;
  /** The contact's DM with the raw path's account (Matrix -> network baseline). */
  rawChat: string;
}

export interface BenchContext {
  stack: BenchStack;
  args: BenchArgs;
  sync: SyncWatcher;
  portals: BenchPortal[];
  /** Rooms with no bridge in them, forwarded by the raw appservice to the same contacts. */
  rawRooms: Array<{ room: string; chat: string }>;
  log(msg: string): void;
}

/** Network account the raw appservice sends as (the bridge sends as `me`). */
export const RAW_ACCOUNT = 'rawme';

export async function setupContext(stack: BenchStack, args: BenchArgs, log: (msg: string) => void): Promise<BenchContext> {
  const base = stack.synapse.baseUrl;
  const token = stack.person.accessToken;
  await loginPerson(stack);
  log('person logged in through the bot');
  const net = stack.sandbox.network;
  net.createAccount({ id: RAW_ACCOUNT, name: 'Raw path' });
  const contacts = createContacts(stack, 'b', args.rooms);
  const rooms = await waitForPortals(stack, contacts.map((c) => c.chat), 600_000);
  const portals: BenchPortal[] = contacts.map((c) => ({
    ...c, room: rooms.get(c.chat)!, ghost: stack.ghost(c.account), rawChat: net.createDm(c.account, RAW_ACCOUNT).chat.id,
  }));
  log(`${portals.length} bench portals ready`);
  const rawRooms: BenchContext['rawRooms'] = [];
  for (const p of portals) {
    rawRooms.push({ room: await createRoom(base, token, { preset: 'private_chat', name: `raw ${p.account}` }), chat: p.rawChat });
  }
  const sync = new SyncWatcher(base, token);
  await sync.start();
  sync.addRooms([...portals.map((p) => p.room), ...rawRooms.map((r) => r.room)]);
  return { stack, args, sync, portals, rawRooms, log };
}
