/**
 * The sandbox connector keeps its sync position from the first connect on, as the fault-injection
 * suite found it must (issue 6): a login that had not finished handling any event yet kept no
 * position, so a bridge killed then started over from the network's new head, and everything
 * sent in between was never bridged.
 */
import assert from 'node:assert/strict';
import { startSandboxServer, type SandboxServer } from '../../bridges/sandbox/src/server/index.js';
import { SandboxConnector } from '../../bridges/sandbox/src/connector/connector.js';
import type { BridgeHandle, QueuedEvent, RemoteEvent, UserLoginHandle } from '../../shared/src/network/index.js';
import { getLogger } from '../../shared/src/logging.js';

/** A login whose bridge never finishes handling anything (it is about to be killed). */
class StuckLogin {
  readonly id = 'me' as UserLoginHandle['id'];
  readonly userMxid = '@me:example.org';
  readonly remoteName = 'me';
  readonly log = getLogger('test-sandbox-sync');
  readonly queued: RemoteEvent[] = [];
  constructor(public metadata: Record<string, unknown>) {}
  async saveMetadata(patch: Record<string, unknown>): Promise<void> {
    this.metadata = { ...this.metadata, ...patch };
  }
  async queueRemoteEvent(evt: RemoteEvent): Promise<QueuedEvent> {
    this.queued.push(evt);
    return { handled: new Promise<void>(() => undefined) };
  }
  setBridgeState(): void {}
  updatePresence(): void {}
  async handleRemoteLogout(): Promise<void> {}
  async updateGhost(): Promise<void> {}
  async sendProgressNotice(): Promise<void> {}
  async getMessageMetadata(): Promise<undefined> {
    return undefined;
  }
}

const text = (t: string) => ({ kind: 'text' as const, text: t, entities: [] });
const messageTexts = (login: StuckLogin) => login.queued.flatMap((e) => (e.type === 'message' ? [e.id as string] : []));

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(fn(), `timed out waiting for ${what}`);
}

describe('sandbox connector: sync position from the first connect', () => {
  let server: SandboxServer;
  let connector: SandboxConnector;

  beforeEach(async () => {
    server = await startSandboxServer({ port: 0, seed: 'demo' });
    connector = new SandboxConnector();
    connector.init({ networkConfig: { url: server.url, reconnect_min_ms: 10, reconnect_max_ms: 50 } } as unknown as BridgeHandle<never>);
  });
  afterEach(() => server.close());

  it('stores the head it started from, so a restart before any event was handled replays what came after', async () => {
    server.network.send('alice', 'dm:alice:me', text('before the login'));
    const token = server.network.account('me').token;
    const first = new StuckLogin({ token, url: server.url });
    const api = connector.loadUserLogin(first as unknown as UserLoginHandle);
    api.connect();
    const head = server.network.headSeq('me');
    await until('the sync position to be stored', () => first.metadata.since !== undefined);
    assert.equal(first.metadata.since, head, 'the head at connect time, before anything was handled');
    const inFlight = server.network.send('alice', 'dm:alice:me', text('arrives, never handled')).message;
    await until('the live message to be queued', () => messageTexts(first).includes(inFlight.id));
    await api.disconnect(); // the kill: nothing was handled
    const whileDown = server.network.send('alice', 'dm:alice:me', text('sent while the bridge was down')).message;

    const second = new StuckLogin({ ...first.metadata });
    const again = connector.loadUserLogin(second as unknown as UserLoginHandle);
    again.connect();
    await until('both messages to be replayed', () => messageTexts(second).includes(whileDown.id));
    assert.deepEqual(messageTexts(second), [inFlight.id, whileDown.id]);
    await again.disconnect();
  });
});
