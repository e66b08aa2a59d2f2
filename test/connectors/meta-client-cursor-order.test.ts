/**
 * A sync cursor is announced only after the events it covers have been handed on: the connector
 * saves the cursor it hears, so a cursor announced first could be saved ahead of events that a
 * crash then loses. Checked on the first sync of both flavours (the mailbox for Messenger, the
 * inbox snapshot and database 223 for Instagram) and on a live push.
 */
import assert from 'node:assert/strict';
import { MetaEnv, until } from '../helpers/meta-env.js';

for (const flavour of ['messenger', 'instagram'] as const) {
  describe(`MetaClient cursor order (${flavour})`, function () {
    this.timeout(30_000);
    const env = new MetaEnv(flavour);
    beforeEach(() => env.start());
    afterEach(() => env.stop());

    it('announces each cursor after the events it covers', async () => {
      const client = env.client(await env.cookies());
      const log: string[] = [];
      client.on('event', (e) => log.push(`event:${e.type}`));
      client.on('cursor', ({ database }) => log.push(`cursor:${database}`));
      await client.connect();
      const firstCursor = log.findIndex((x) => x.startsWith('cursor:'));
      assert.ok(firstCursor > 0, `a cursor, after the snapshot's events: ${log.slice(0, 5).join(', ')}`);
      assert.ok(log.slice(0, firstCursor).includes('event:thread'), `the snapshot's threads came before the cursor: ${log.slice(0, firstCursor + 1).join(', ')}`);
      // A live message: its event comes before the cursor it moves.
      const before = log.length;
      await env.control('POST', `/chats/${encodeURIComponent('dm:alice:me')}/messages`, { as: 'alice', text: 'cursor order' });
      await until('the push and its cursor', () => log.slice(before).includes('event:message') && log.slice(before).some((x) => x.startsWith('cursor:')));
      const live = log.slice(before);
      assert.ok(live.indexOf('event:message') < live.findIndex((x) => x.startsWith('cursor:')), live.join(', '));
      await client.disconnect();
    });
  });
}
