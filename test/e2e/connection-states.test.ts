/**
 * The connection state of a login, as the person and an operator see it: the bridge-state endpoint,
 * management-room notices, and the ping / list-logins / logout commands, through a dropped
 * connection, refused reconnects, a logout on the network side and a logout by command.
 */
import assert from 'node:assert/strict';
import * as sdk from 'matrix-js-sdk';
import { BridgeEnv, eventually } from '../helpers/bridge-env.js';
import type { TestClient } from '../helpers/matrix-client.js';
import { loginAsMe, portalRoom, sendAs } from '../helpers/portal-setup.js';

const CHAT = 'dm:alice:me';

interface LoginState {
  state_event: string;
  error?: string;
  message?: string;
  timestamp: number;
}

describe('e2e: connection states (sandbox network, real Synapse)', function () {
  this.timeout(180_000);
  let env: BridgeEnv;
  let me: TestClient;
  let mgmt: string;
  let room: string;

  before(async function () {
    env = await BridgeEnv.start();
    ({ client: me } = await env.user('cs_me'));
    ({ mgmt } = await loginAsMe(env, me));
    room = await portalRoom(env, me, CHAT);
  });
  after(async () => {
    await me?.stop();
    await env?.stop();
  });

  async function stateOf(login = 'me'): Promise<LoginState | undefined> {
    const res = await fetch(`http://127.0.0.1:${env.asPort}/_tributary/v1/bridge_state`, {
      headers: { Authorization: `Bearer ${env.config.appservice.hs_token}` },
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { logins: Record<string, LoginState> }).logins[login];
  }

  const waitForState = (state: string, timeoutMs = 30_000) =>
    eventually(`the login state ${state}`, async () => {
      const s = await stateOf();
      return s?.state_event === state ? s : undefined;
    }, timeoutMs);

  const isBot = (e: sdk.MatrixEvent) => e.getSender() === env.botMxid;
  const bodyOf = (e: sdk.MatrixEvent) => String(e.getContent().body ?? '');
  /**
   * The text an event carried when it was sent: an edit's new content, else the body. (The SDK
   * shows an edited event with its latest content, so the original is read with getOriginalContent.)
   */
  const shownText = (e: sdk.MatrixEvent) => {
    const c = e.getOriginalContent();
    return String((c['m.new_content'] as { body?: unknown } | undefined)?.body ?? c.body ?? '');
  };
  const editOf = (e: sdk.MatrixEvent) => (e.getOriginalContent()['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined);

  /** Bot notices in the management room after `since` (ms), oldest first. */
  const noticesSince = (since: number) =>
    me.timeline(mgmt).filter((e) => isBot(e) && e.getTs() >= since && e.getContent().msgtype === 'm.notice').map(shownText);

  /** Sends a command in the management room and returns the bot's first reply matching `re`. */
  async function command(text: string, re: RegExp): Promise<string> {
    const sentId = await me.sendText(mgmt, text);
    // Replies come after the command in the timeline.
    const reply = await me.waitForEvent(mgmt, (e) => {
      if (!isBot(e) || !re.test(bodyOf(e))) return false;
      const events = me.timeline(mgmt);
      const cmdIdx = events.findIndex((x) => x.getId() === sentId);
      return cmdIdx >= 0 && events.indexOf(e) > cmdIdx;
    }, 30_000);
    return bodyOf(reply);
  }

  /** Bodies of alice's messages in the portal, oldest first, read from the server. */
  async function aliceBodies(): Promise<string[]> {
    const res = await me.client.createMessagesRequest(room, null, 500, sdk.Direction.Backward);
    return res.chunk
      .filter((e) => e.type === 'm.room.message' && e.sender === env.ghost('alice'))
      .map((e) => String((e.content as { body?: unknown }).body))
      .reverse();
  }

  it('reports CONNECTED through bridge_state, ping and list-logins after login', async () => {
    await waitForState('CONNECTED');
    assert.match(await command('ping', /\(me\)/), /• .* \(me\): CONNECTED.*logged in: yes/);
    assert.match(await command('list-logins', /Your logins/), /• me \(.*\): CONNECTED/);
  });

  it('goes TRANSIENT_DISCONNECT and back to CONNECTED when the connection drops, and announces both', async () => {
    const since = Date.now();
    const before = (await waitForState('CONNECTED')).timestamp;
    const { dropped } = await env.control<{ dropped: number }>('POST', '/accounts/me/disconnect', {});
    assert.ok(dropped >= 1, 'the bridge held a connection');
    const back = await eventually('a newer CONNECTED state', async () => {
      const s = await stateOf();
      return s?.state_event === 'CONNECTED' && s.timestamp > before ? s : undefined;
    });
    assert.equal(back.state_event, 'CONNECTED');
    // The management room tells the story in order: disconnected, then connected again, and the
    // reconnect edits the disconnect notice in place instead of adding another.
    const notices = await eventually('the disconnect and reconnect notices', () => {
      const n = noticesSince(since);
      const down = n.findIndex((b) => /Disconnected from the network/.test(b));
      const up = n.findIndex((b, i) => i > down && /: Connected/.test(b));
      return down >= 0 && up > down ? n : undefined;
    });
    assert.ok(notices.some((b) => b.startsWith('me: Disconnected')), JSON.stringify(notices));
    const events = me.timeline(mgmt).filter((e) => isBot(e) && e.getTs() >= since && e.getContent().msgtype === 'm.notice');
    const downEv = events.find((e) => /Disconnected from the network/.test(shownText(e)) && !editOf(e));
    const upEv = events.find((e) => /^me: Connected/.test(shownText(e)));
    assert.ok(downEv && upEv, 'both notices seen');
    assert.deepEqual(editOf(upEv), { rel_type: 'm.replace', event_id: downEv.getId() }, 'the reconnect edits the disconnect notice');
  });

  it('stays TRANSIENT_DISCONNECT while reconnects are refused, then recovers and bridges what was sent meanwhile once', async () => {
    const since = Date.now();
    await env.control('POST', '/accounts/me/disconnect', { refuse_ms: 4000 });
    const down = await waitForState('TRANSIENT_DISCONNECT', 10_000);
    assert.equal(down.error, 'sandbox-connection-lost');
    const texts = [1, 2, 3].map((i) => `during outage ${i}`);
    for (const t of texts) await sendAs(env, CHAT, 'alice', { text: t });
    await me.waitForEvent(mgmt, (e) => isBot(e) && e.getTs() >= since && /Disconnected from the network; reconnecting/.test(shownText(e)));
    await waitForState('CONNECTED', 30_000);
    await me.waitForEvent(mgmt, (e) => isBot(e) && e.getTs() >= since && /^me: Connected/.test(shownText(e)), 30_000);
    await eventually('the outage messages in the room', async () => {
      const bodies = await aliceBodies();
      return texts.every((t) => bodies.includes(t));
    });
    // A later message is the sentinel: the portal is one ordered queue, so a duplicate would precede it.
    await sendAs(env, CHAT, 'alice', { text: 'after outage' });
    await eventually('the sentinel in the room', async () => (await aliceBodies()).includes('after outage'));
    const bodies = await aliceBodies();
    for (const t of texts) assert.equal(bodies.filter((b) => b === t).length, 1, `"${t}" once in ${JSON.stringify(bodies)}`);
    assert.deepEqual(bodies.filter((b) => texts.includes(b)), texts);
  });

  it('goes LOGGED_OUT on a remote logout and tells the person to log in again', async () => {
    const since = Date.now();
    await env.control('POST', '/accounts/me/logout', { reason: 'device unlinked' });
    const s = await waitForState('LOGGED_OUT');
    assert.match(s.message ?? '', /device unlinked|logged out/i);
    const notice = await me.waitForEvent(mgmt, (e) => isBot(e) && e.getTs() >= since && /log in again/i.test(bodyOf(e)), 30_000);
    assert.match(bodyOf(notice), /^me: You were logged out/);
    assert.equal(editOf(notice), undefined, 'a state that needs the person gets a notice of its own');
    assert.match(await command('ping', /\(me\)/), /LOGGED_OUT.*logged in: no/);
    assert.match(await command('list-logins', /Your logins/), /• me \(.*\): LOGGED_OUT/);
  });

  it('removes the login with the logout command and voids its network token', async () => {
    // Log in again first (the remote logout voided the old token).
    await command('login password', /your username/);
    await command('me', /your password/);
    await command('sandbox', /Logged in as me/);
    await waitForState('CONNECTED');
    const { token } = await env.control<{ token: string }>('GET', '/accounts/me');
    const valid = await fetch(`${env.sandbox.url}/login/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
    assert.equal(valid.status, 200, 'the token is valid before the logout');

    assert.match(await command('logout', /Logged out of/), /Logged out of me/);
    assert.match(await command('list-logins', /logins/), /You have no logins/);
    assert.equal(await stateOf(), undefined, 'bridge_state no longer lists the login');
    const voided = await fetch(`${env.sandbox.url}/login/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
    assert.equal(voided.status, 401);
    assert.equal(((await voided.json()) as { error: { code: string } }).error.code, 'bad_credentials');
  });
});
