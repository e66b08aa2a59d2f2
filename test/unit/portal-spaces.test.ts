/**
 * Space portals and parents in the core: a ChatInfo of type 'space' becomes a Matrix space, and a
 * ChatInfo `parent` links the child's room to the parent's (m.space.parent / m.space.child),
 * creating the parent's room first. The real Bridge, portals, queues and SQLite database, with a
 * recording fake in place of the Matrix API (no homeserver).
 */
import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { makeCoreSchema } from '../../shared/src/config/schema.js';
import { Bridge } from '../../shared/src/core/bridge.js';
import type { UserLogin } from '../../shared/src/core/user-login.js';
import { handleMatrixEvent } from '../../shared/src/core/portal-matrix.js';
import type { MatrixRoomEvent } from '../../shared/src/matrix/transaction.js';
import { recordingApi, type ApiCall } from '../helpers/fake-core.js';
import {
  portalKey, type ChatInfo, type ChatInfoChange, type MatrixMessage, type MatrixMessageResponse, type NetworkAPI,
  type NetworkConnector, type PortalKey, type RemoteUserId,
} from '../../shared/src/network/index.js';

const ALICE = '@alice:example.org';
const LOGIN = 'login1';
const ME = 'me' as RemoteUserId;

type Call = ApiCall;

/** Records every MatrixApi call; creates rooms !r1, !r2 ... in order. */
function roomCreatingApi(calls: Call[]): unknown {
  let rooms = 0;
  return recordingApi(calls, { createRoom: () => `!r${++rooms}:example.org` });
}

describe('core: space portals and parents', () => {
  let db: Database;
  let bridge: Bridge;
  let calls: Call[];
  let infos: Map<string, ChatInfo | Error>;
  let sentToNetwork: MatrixMessage[];
  let login: UserLogin;

  beforeEach(async () => {
    db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    calls = [];
    infos = new Map();
    sentToNetwork = [];
    const core = makeCoreSchema('net').parse({ permissions: { '*': 'user' }, homeserver: { domain: 'example.org', address: 'http://127.0.0.1:1' } });
    const connector = {
      name: { displayName: 'Net', networkId: 'net', protocolId: 'net', networkUrl: 'https://net.example', defaultPort: 1, botDisplayName: 'bot' },
    } as unknown as NetworkConnector<unknown>;
    bridge = new Bridge({ ...core, network: {} }, db, connector);
    (bridge as unknown as { api: unknown }).api = roomCreatingApi(calls);
    const client: NetworkAPI = {
      connect: () => undefined, disconnect: async () => undefined, isLoggedIn: () => true, logoutRemote: async () => undefined,
      isThisUser: (u) => u === ME,
      getChatInfo: async (key: PortalKey) => {
        const info = infos.get(key.id);
        if (!info) throw new Error(`no chat ${key.id}`);
        if (info instanceof Error) throw info;
        return info;
      },
      getUserInfo: async () => ({}),
      getCapabilities: () => ({ reactions: {}, deletes: {}, rename: true }),
      handleMatrixMessage: async (msg: MatrixMessage): Promise<MatrixMessageResponse> => {
        sentToNetwork.push(msg);
        return { id: `sent-${sentToNetwork.length}` as MatrixMessageResponse['id'] };
      },
    };
    await db.users.getOrCreate(ALICE);
    await db.logins.upsert({ id: LOGIN, userMxid: ALICE, remoteName: 'alice', spaceRoom: null, metadata: {}, createdAt: 1 });
    // The parts of a UserLogin the portal code uses; the real class also reports to the core.
    login = { id: LOGIN, userMxid: ALICE, remoteName: 'alice', spaceRoom: null, client, log: bridge.log } as unknown as UserLogin;
  });
  afterEach(() => db.close());

  /** Lets every portal queue run dry, including tasks queued by other tasks (parent creation). */
  async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await bridge.idle();
      await new Promise((r) => setImmediate(r));
    }
  }

  async function resync(id: string): Promise<void> {
    await bridge.queueRemoteEvent(login, { type: 'chat_resync', portal: portalKey(id, ''), timestamp: 1, createPortal: true });
    await settle();
  }

  async function change(id: string, c: ChatInfoChange): Promise<void> {
    await bridge.queueRemoteEvent(login, { type: 'chat_info_change', portal: portalKey(id, ''), sender: { user: ME, isFromMe: true }, timestamp: 2, change: c });
    await settle();
  }

  const roomOf = async (id: string) => (await db.portals.get({ id, receiver: '' }))?.mxid ?? undefined;
  const created = () => calls.filter((c) => c.method === 'createRoom').map((c) => c.args[0] as Record<string, unknown>);
  /** State events of one type as [room, state key, content]. */
  const states = (type: string) => calls.filter((c) => c.method === 'sendState' && c.args[1] === type).map((c) => [c.args[0], c.args[2], c.args[3]]);
  const via = ['example.org'];

  it('creates a space ChatInfo as a Matrix space and puts it in the personal space like any portal', async () => {
    infos.set('community', { type: 'space', name: 'Neighbours', topic: 'Our street' });
    infos.set('group', { type: 'group', name: 'Plain group' });
    await resync('community');
    await resync('group');
    const byName = (name: string) => created().find((b) => b.name === name)!;
    assert.deepEqual((byName('Neighbours').creation_content as Record<string, unknown>).type, 'm.space');
    assert.equal((byName('Plain group').creation_content as Record<string, unknown>).type, undefined);
    const personal = (await db.logins.get(LOGIN))!.spaceRoom!;
    assert.ok(personal, 'the personal space exists');
    const community = (await roomOf('community'))!;
    assert.deepEqual(states('m.space.child').filter(([room]) => room === personal).map(([, key]) => key), [community, await roomOf('group')]);
    assert.equal((await db.portals.get({ id: 'community', receiver: '' }))!.roomType, 'space');
  });

  it('creates the parent room from its ChatInfo when a child needs it, then links both ways once', async () => {
    infos.set('community', { type: 'space', name: 'Neighbours' });
    infos.set('group', { type: 'group', name: 'Street party', parent: 'community' });
    await resync('group');
    const group = (await roomOf('group'))!;
    const community = (await roomOf('community'))!;
    assert.ok(group && community, 'both rooms exist');
    assert.equal(created().filter((b) => b.name === 'Neighbours').length, 1);
    assert.deepEqual(states('m.space.child').filter(([room]) => room === community), [[community, group, { via }]]);
    assert.deepEqual(states('m.space.parent'), [[group, community, { via, canonical: true }]]);
    assert.equal((await db.portals.get({ id: 'group', receiver: '' }))!.parentId, 'community');
    // A second resync with the same parent sends nothing new.
    const before = calls.filter((c) => c.method === 'sendState' && String(c.args[1]).startsWith('m.space.')).length;
    await resync('group');
    assert.equal(calls.filter((c) => c.method === 'sendState' && String(c.args[1]).startsWith('m.space.')).length, before);
  });

  it('links a child to a parent that already has a room without creating anything else', async () => {
    infos.set('community', { type: 'space', name: 'Neighbours' });
    await resync('community');
    const rooms = created().length;
    infos.set('group', { type: 'group', name: 'Street party', parent: 'community' });
    await resync('group');
    assert.equal(created().length, rooms + 1, 'only the child room is created');
    const community = (await roomOf('community'))!;
    const group = (await roomOf('group'))!;
    assert.deepEqual(states('m.space.child').filter(([room]) => room === community), [[community, group, { via }]]);
    assert.deepEqual(states('m.space.parent'), [[group, community, { via, canonical: true }]]);
  });

  it('moves a child when its parent changes, and unlinks it when the parent goes (change or full resync)', async () => {
    infos.set('old', { type: 'space', name: 'Old community' });
    infos.set('new', { type: 'space', name: 'New community' });
    infos.set('group', { type: 'group', name: 'Street party', parent: 'old' });
    await resync('group');
    await resync('new');
    const [group, oldRoom, newRoom] = [(await roomOf('group'))!, (await roomOf('old'))!, (await roomOf('new'))!];
    const mark = calls.length;
    await change('group', { parent: 'new' });
    const after = (type: string) => calls.slice(mark).filter((c) => c.method === 'sendState' && c.args[1] === type).map((c) => [c.args[0], c.args[2], c.args[3]]);
    assert.deepEqual(after('m.space.child'), [[oldRoom, group, {}], [newRoom, group, { via }]]);
    assert.deepEqual(after('m.space.parent'), [[group, oldRoom, {}], [group, newRoom, { via, canonical: true }]]);
    assert.equal((await db.portals.get({ id: 'group', receiver: '' }))!.parentId, 'new');

    const mark2 = calls.length;
    infos.set('group', { type: 'group', name: 'Street party' });
    await resync('group');
    const removed = calls.slice(mark2).filter((c) => c.method === 'sendState' && String(c.args[1]).startsWith('m.space.'));
    assert.deepEqual(removed.map((c) => [c.args[0], c.args[1], c.args[2], c.args[3]]), [
      [newRoom, 'm.space.child', group, {}], [group, 'm.space.parent', newRoom, {}],
    ]);
    assert.equal((await db.portals.get({ id: 'group', receiver: '' }))!.parentId, null);
  });

  it('links children whose parent could not be created once the parent room is made later', async () => {
    infos.set('community', new Error('not a member of the community yet'));
    infos.set('group', { type: 'group', name: 'Street party', parent: 'community' });
    await resync('group');
    const group = (await roomOf('group'))!;
    assert.equal(await roomOf('community'), undefined);
    assert.deepEqual(states('m.space.parent'), []);
    assert.equal((await db.portals.get({ id: 'group', receiver: '' }))!.parentId, 'community', 'the parent is remembered');
    infos.set('community', { type: 'space', name: 'Neighbours' });
    await resync('community');
    const community = (await roomOf('community'))!;
    assert.deepEqual(states('m.space.child').filter(([room]) => room === community), [[community, group, { via }]]);
    assert.deepEqual(states('m.space.parent'), [[group, community, { via, canonical: true }]]);
  });

  it('ignores a chat that names itself as parent', async () => {
    infos.set('group', { type: 'group', name: 'Loop', parent: 'group' });
    await resync('group');
    assert.deepEqual(states('m.space.parent'), []);
    assert.equal((await db.portals.get({ id: 'group', receiver: '' }))!.parentId, null);
  });

  it('refuses Matrix messages in a space room with a notice, and still bridges its name', async () => {
    infos.set('community', { type: 'space', name: 'Neighbours' });
    await resync('community');
    const room = (await roomOf('community'))!;
    const portal = (await bridge.getPortalByRoom(room))!;
    await db.userPortals.upsert({ loginId: LOGIN, portalId: 'community', portalReceiver: '', userMxid: ALICE, inSpace: true, preferred: true });
    bridge.getLogin = () => login;
    bridge.loginsOf = (mxid: string) => (mxid === ALICE ? [login] : []);
    const ev = (type: string, content: Record<string, unknown>, extra: Partial<MatrixRoomEvent> = {}): MatrixRoomEvent => ({
      type, content, room_id: room, sender: ALICE, event_id: `$${type}`, origin_server_ts: 5, ...extra,
    } as MatrixRoomEvent);
    await handleMatrixEvent(portal, ev('m.room.message', { msgtype: 'm.text', body: 'hello space' }));
    assert.deepEqual(sentToNetwork, []);
    const notice = calls.find((c) => c.method === 'sendEvent' && (c.args[2] as { msgtype?: string }).msgtype === 'm.notice');
    assert.match(String((notice?.args[2] as { body?: string }).body), /This room is a space: messages sent here are not bridged/);
    const status = calls.find((c) => c.method === 'sendEvent' && c.args[1] === 'com.beeper.message_send_status');
    assert.equal((status?.args[2] as { reason?: string }).reason, 'M_UNSUPPORTED');
    // Room meta is not refused by the space check (it reaches the connector's capability check).
    let renamed = false;
    (login.client as unknown as { handleMatrixRoomName: () => Promise<void> }).handleMatrixRoomName = async () => {
      renamed = true;
    };
    await handleMatrixEvent(portal, ev('m.room.name', { name: 'New name' }, { state_key: '', event_id: '$name' }));
    assert.equal(renamed, true);
  });
});
