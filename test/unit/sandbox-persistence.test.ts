import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandboxServer } from '../../bridges/sandbox/src/server/server.js';
import { SandboxClient } from '../../bridges/sandbox/src/client/index.js';

describe('sandbox persistence', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandbox-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reloads accounts, chats, messages, media, txn dedup and the event log from the snapshot', async () => {
    const statePath = join(dir, 'state.json');
    const first = await startSandboxServer({ statePath, seed: 'demo', saveDelayMs: 5 });
    const token = first.network.account('me').token;
    const me = new SandboxClient({ url: first.url, token, reconnect: { minMs: 5, maxMs: 20 } });
    await me.connect();
    const media = await me.uploadMedia(Buffer.from('persist me'), 'text/plain');
    const sent = await me.send('dm:alice:me', { kind: 'file', media_id: media.media_id, mimetype: 'text/plain', size: 10, filename: 'p.txt' }, { clientTxnId: 'keep' });
    first.network.react('alice', sent.id, '👀');
    const since = me.lastSeq;
    first.network.send('alice', 'dm:alice:me', { kind: 'text', text: 'while you were away', entities: [] });
    await me.close();
    await first.close();
    assert.ok(JSON.parse(await readFile(statePath, 'utf8')).accounts.length === 4);
    assert.deepEqual((await readdir(dir)).sort(), ['state.json', 'state.json.media']);

    const second = await startSandboxServer({ statePath, seed: 'demo', saveDelayMs: 5 });
    try {
      assert.equal(second.network.listAccounts().length, 4, 'the seed does not run twice');
      assert.equal(second.network.account('me').token, token);
      assert.deepEqual(second.network.message(sent.id).reactions.map((r) => r.emoji), ['👀']);
      const again = new SandboxClient({ url: second.url, token, since, reconnect: { minMs: 5, maxMs: 20 } });
      const replayed: string[] = [];
      again.on('event', (e) => replayed.push(e.type));
      const ready = await again.connect();
      assert.equal(ready.resync_required, false);
      while (replayed.length < ready.replayed) await new Promise((r) => setTimeout(r, 5));
      assert.ok(replayed.includes('message'), 'events after since are replayed across the restart');
      const dup = await again.send('dm:alice:me', { kind: 'text', text: 'ignored', entities: [] }, { clientTxnId: 'keep' });
      assert.equal(dup.id, sent.id, 'txn dedup survives the restart');
      const down = await again.downloadMedia(media.media_id);
      const chunks: Buffer[] = [];
      for await (const c of down.stream) chunks.push(c as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'persist me');
      assert.equal(second.network.listChats('me').find((c) => c.id === 'g:1')?.name, 'Sandbox friends');
      const g = second.network.createGroup('me', 'After restart', ['bob']);
      assert.equal(g.id, 'g:2', 'group numbering continues');
      await again.close();
    } finally {
      await second.close();
    }
  });

  it('refuses a state file that is not a sandbox snapshot', async () => {
    const statePath = join(dir, 'bad.json');
    await writeFile(statePath, JSON.stringify({ hello: 'world' }));
    await assert.rejects(startSandboxServer({ statePath }), /not a sandbox state file/);
  });
});
