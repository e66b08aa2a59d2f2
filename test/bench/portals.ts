/**
 * Getting the stack into shape for a measurement: the person logs in through the bot like a real
 * user, contacts and chats are created on the sandbox network, and the bridge's own database is
 * read (never written while it runs) to learn which Matrix room each chat became.
 */
import { join } from 'node:path';
import { openDatabase, type Database } from '../../shared/src/db/database.js';
import type { BenchStack } from './stack.js';
import { clientSend, createRoom, matrixRequest, textContent } from './matrix.js';
import { sleep } from './stats.js';

export const PERSON_ACCOUNT = 'me';

export function bridgeDbPath(stack: Pick<BenchStack, 'config'>): string {
  return join(stack.config.data_dir, 'bridge.db');
}

export async function withDb<T>(file: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ type: 'sqlite', uri: file });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function waitForBotText(stack: BenchStack, roomId: string, re: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await matrixRequest<{ chunk: Array<{ sender: string; content: { body?: unknown } }> }>(
      stack.synapse.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages`,
      { token: stack.person.accessToken, query: { dir: 'b', limit: 10 } },
    ).catch(() => ({ chunk: [] }));
    if (r.chunk.some((e) => e.sender === stack.botMxid && typeof e.content.body === 'string' && re.test(e.content.body))) return;
    if (Date.now() > deadline) throw new Error(`the bot did not say ${re} in ${roomId}`);
    await sleep(200);
  }
}

/** Opens a management room with the bot and runs `login password` as the network account `me`. */
export async function loginPerson(stack: BenchStack): Promise<string> {
  const base = stack.synapse.baseUrl;
  const token = stack.person.accessToken;
  const mgmt = await createRoom(base, token, { is_direct: true, invite: [stack.botMxid], preset: 'trusted_private_chat' });
  await waitForBotText(stack, mgmt, /management room/);
  const step = async (text: string, expect: RegExp) => {
    await clientSend(base, token, mgmt, textContent(text));
    await waitForBotText(stack, mgmt, expect);
  };
  await step('login password', /your username/);
  await step(PERSON_ACCOUNT, /your password/);
  await step('sandbox', new RegExp(`Logged in as ${PERSON_ACCOUNT}`));
  return mgmt;
}

/**
 * Waits until the bridge has finished setting up the portal of each chat (the user_portals row is
 * written after the room exists and the ghosts joined); returns chat id -> room id.
 */
export async function waitForPortals(stack: BenchStack, chats: readonly string[], timeoutMs: number): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  const want = new Set(chats);
  for (;;) {
    const found = await withDb(bridgeDbPath(stack), async (db) => {
      const rows = (await db.knex('user_portals').join('portals', function () {
        this.on('portals.id', '=', 'user_portals.portal_id').andOn('portals.receiver', '=', 'user_portals.portal_receiver');
      }).where('user_portals.login_id', PERSON_ACCOUNT).whereNotNull('portals.mxid').select('portals.id as id', 'portals.mxid as mxid')) as Array<{ id: string; mxid: string }>;
      return new Map(rows.filter((r) => want.has(r.id)).map((r) => [r.id, r.mxid]));
    });
    if (found.size === want.size) return found;
    if (Date.now() > deadline) throw new Error(`${want.size - found.size} of ${want.size} portals were not set up in time`);
    await sleep(500);
  }
}

export interface Contact { account: string; chat: string }

/** Creates contacts `<prefix>NNN` and a DM of each with `with` (default: the person's account). */
export function createContacts(stack: BenchStack, prefix: string, count: number, withAccount = PERSON_ACCOUNT): Contact[] {
  const net = stack.sandbox.network;
  const out: Contact[] = [];
  for (let i = 1; i <= count; i++) {
    const account = `${prefix}${String(i).padStart(4, '0')}`;
    if (!net.hasAccount(account)) net.createAccount({ id: account, name: `Contact ${account}` });
    out.push({ account, chat: net.createDm(account, withAccount).chat.id });
  }
  return out;
}

/** A contact sends a text message on the network (in this process: no HTTP in the measured path). */
export function networkSend(stack: BenchStack, account: string, chat: string, text: string): void {
  stack.sandbox.network.send(account, chat, { kind: 'text', text, entities: [] });
}
