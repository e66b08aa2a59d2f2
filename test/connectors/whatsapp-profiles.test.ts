/**
 * A person's profile changing after their ghost exists: contact events (the shapes Baileys rc14
 * emits: `imgUrl: 'changed' | 'removed'` from a picture notification, `notify` from a message's push
 * name, `name` from the address book) become `updateGhost` calls through the real event handler, with
 * the new picture looked up through the fake port and served by its local HTTP server.
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { Boom } from '@hapi/boom';
import type { Contact } from 'baileys';
import type { RemoteUserId, UserLoginHandle } from '../../shared/src/network/index.js';
import { WAEventHandler } from '../../bridges/whatsapp/src/connector/handle-whatsapp.js';
import { avatarIdOf } from '../../bridges/whatsapp/src/connector/avatars.js';
import { ContactBook, pictureChangeOf } from '../../bridges/whatsapp/src/connector/contacts.js';
import type { LidResolver } from '../../bridges/whatsapp/src/connector/ids.js';
import type { WAClientPort } from '../../bridges/whatsapp/src/client/port.js';
import { RecordingLogin } from '../helpers/fake-login.js';
import { createFakeWAPort, type FakeWAPort } from '../helpers/wa-fake-port.js';

const ME_DIGITS = '15550001111';
const ME = `${ME_DIGITS}@s.whatsapp.net`;
const BOB = '15550002222@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';
const DAVE_PN = '15550005555@s.whatsapp.net';
const DAVE_LID = '777000111@lid';
const GROUP = '120363000000000001@g.us';
const PICTURE = Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.from('bob-new-picture'), 0xff, 0xd9]);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe('whatsapp profile changes -> ghost updates', function () {
  this.timeout(20_000);
  let fake: FakeWAPort;
  let login: RecordingLogin;
  let handler: WAEventHandler;
  /** profilePictureUrl answers: a URL, or an error to throw, per jid. */
  let table: Record<string, string | Error>;
  let asked: string[];
  let named: Array<[string, string]>;

  beforeEach(async () => {
    table = {};
    asked = [];
    named = [];
    const profilePictureUrl: WAClientPort['profilePictureUrl'] = async (jid) => {
      asked.push(jid);
      const v = table[jid];
      if (v instanceof Error) throw v;
      if (v === undefined) throw new Boom('item-not-found', { data: 404 });
      return v;
    };
    fake = await createFakeWAPort({ me: ME, overrides: { profilePictureUrl } });
    login = new RecordingLogin(ME_DIGITS as UserLoginHandle['id'], 'Alice');
    const lids: LidResolver = { pnForLid: async (lid) => (lid === DAVE_LID ? DAVE_PN : undefined) };
    handler = new WAEventHandler(login, lids, { onContact: (jid, name) => named.push([jid, name]) });
    handler.attach(fake.port);
  });
  afterEach(async () => {
    handler.detach();
    await fake.close();
  });

  /** Emits a contact event and waits until the ghost updates it causes have been handed over. */
  async function contactEvent(kind: 'contacts.update' | 'contacts.upsert', cs: Array<Partial<Contact>>): Promise<RecordingLogin['ghostUpdates']> {
    const before = login.ghostUpdates.length;
    if (kind === 'contacts.upsert') fake.ev.emit(kind, cs as Contact[]);
    else fake.ev.emit(kind, cs);
    await handler.idle();
    await handler.profiles.idle();
    return login.ghostUpdates.slice(before);
  }

  it('a changed picture is looked up and handed to the ghost; a removed one removes it', async () => {
    const url = `${fake.mediaServer.put(PICTURE)}?oe=1`;
    table[BOB] = url;
    const [update, ...rest] = await contactEvent('contacts.update', [{ id: BOB, imgUrl: 'changed' }]);
    assert.deepEqual(rest, []);
    assert.equal(update?.user, '15550002222');
    assert.equal(update.info.name, undefined, 'a picture change renames nobody');
    assert.equal(update.info.avatar?.id, avatarIdOf(url));
    assert.deepEqual(await readAll(await update.info.avatar!.source!.open()), PICTURE);
    assert.deepEqual(asked, [BOB]);

    assert.deepEqual(await contactEvent('contacts.update', [{ id: BOB, imgUrl: 'removed' }]),
      [{ user: '15550002222', info: { avatar: { id: '', remove: true } } }]);
    assert.deepEqual(await contactEvent('contacts.update', [{ id: BOB, imgUrl: null }]),
      [{ user: '15550002222', info: { avatar: { id: '', remove: true } } }]);
    assert.deepEqual(asked, [BOB], 'a removal needs no lookup');
  });

  it('a picture now hidden is removed; a failed lookup leaves the ghost alone; a URL needs no lookup', async () => {
    table[CAROL] = new Boom('not-authorized', { data: 401 });
    assert.deepEqual(await contactEvent('contacts.update', [{ id: CAROL, imgUrl: 'changed' }]),
      [{ user: '15550003333', info: { avatar: { id: '', remove: true } } }]);
    table[CAROL] = new Boom('Timed Out', { statusCode: 408 });
    assert.deepEqual(await contactEvent('contacts.update', [{ id: CAROL, imgUrl: 'changed' }]), []);

    const url = fake.mediaServer.put(PICTURE);
    const [update] = await contactEvent('contacts.upsert', [{ id: BOB, imgUrl: url }]);
    assert.equal(update?.info.avatar?.id, avatarIdOf(url));
    assert.deepEqual(await readAll(await update.info.avatar!.source!.open()), PICTURE);
    assert.deepEqual(asked, [CAROL, CAROL]);
  });

  it('a LID-addressed picture change updates the phone-number ghost; a group picture is no ghost', async () => {
    const url = fake.mediaServer.put(PICTURE);
    table[DAVE_PN] = url;
    const [update] = await contactEvent('contacts.update', [{ id: DAVE_LID, imgUrl: 'changed' }]);
    assert.equal(update?.user, '15550005555');
    assert.equal(update.info.avatar?.id, avatarIdOf(url));
    // rc14 reports a group's picture as a contact update of the group's JID (and as a stub message).
    assert.deepEqual(await contactEvent('contacts.update', [{ id: GROUP, imgUrl: 'changed' }]), []);
    assert.ok(!asked.includes(GROUP));
  });

  it('names: a changed push name renames, a saved name outranks push names, a first push name only fills the book', async () => {
    // The first push name seen (e.g. after a restart) may be outranked by a saved name the ghost shows.
    assert.deepEqual(await contactEvent('contacts.update', [{ id: BOB, notify: 'Bob' }]), []);
    assert.deepEqual(named, [[BOB, 'Bob']]);
    assert.deepEqual(await contactEvent('contacts.update', [{ id: BOB, notify: 'Bobby' }]),
      [{ user: '15550002222' as RemoteUserId, info: { name: 'Bobby' } }]);
    // The same name again is no change.
    assert.deepEqual(await contactEvent('contacts.update', [{ id: BOB, notify: 'Bobby', verifiedName: undefined }]), []);
    // The address book's name wins, and a later push name does not replace it.
    assert.deepEqual(await contactEvent('contacts.upsert', [{ id: BOB, name: 'Robert (work)', notify: 'Bobby' }]),
      [{ user: '15550002222' as RemoteUserId, info: { name: 'Robert (work)' } }]);
    assert.deepEqual(await contactEvent('contacts.update', [{ id: BOB, notify: 'Rob' }]), []);
    assert.equal(handler.book.name(BOB), 'Robert (work)');
    // A saved name seen for the first time renames at once.
    assert.deepEqual(await contactEvent('contacts.upsert', [{ id: CAROL, name: 'Carol' }]),
      [{ user: '15550003333' as RemoteUserId, info: { name: 'Carol' } }]);
    // A name and a picture in one event make one update.
    table[CAROL] = fake.mediaServer.put(PICTURE);
    const [both] = await contactEvent('contacts.update', [{ id: CAROL, name: 'Caroline', imgUrl: 'changed' }]);
    assert.equal(both?.info.name, 'Caroline');
    assert.equal(both.info.avatar?.id, avatarIdOf(table[CAROL]));
  });

  it('ContactBook precedence and pictureChangeOf', () => {
    const book = new ContactBook();
    assert.equal(book.merge(BOB, { verifiedName: 'Bob Inc' }), undefined);
    assert.equal(book.merge(BOB, { notify: 'Bob' }), 'Bob', 'a push name outranks a verified name');
    assert.equal(book.merge(BOB, { notify: '' }), undefined, 'an empty field is no news');
    assert.equal(book.name(BOB), 'Bob');
    assert.deepEqual([...book.entries()], [[BOB, 'Bob']]);
    assert.equal(pictureChangeOf(undefined), undefined);
    assert.equal(pictureChangeOf(null), 'removed');
    assert.equal(pictureChangeOf(''), 'removed');
    assert.equal(pictureChangeOf('removed'), 'removed');
    assert.deepEqual(pictureChangeOf('changed'), {});
    assert.deepEqual(pictureChangeOf('https://pps.whatsapp.net/v/t61/x.jpg?oe=1'), { url: 'https://pps.whatsapp.net/v/t61/x.jpg?oe=1' });
  });
});
