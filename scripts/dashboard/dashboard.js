/* The demo dashboard page: polls /api/state for bridge states and login codes, and lets the
 * visitor play a sandbox contact (pick network, contact and chat, read and send messages).
 * Vanilla JS under a strict CSP; every text from the server goes in as text, never as HTML. */
/* global document, fetch, setInterval */
'use strict';

const POLL_MS = 2000;
const CHATS_EVERY = 5; // refresh the contact and chat lists every 5th poll
const $ = (id) => document.getElementById(id);
const ui = {
  connect: $('connect'), bridges: $('bridges'), codes: $('codes'), network: $('network'), contact: $('contact'),
  chat: $('chat'), messages: $('messages'), send: $('send'), text: $('text'), sendButton: $('send-button'), status: $('status'),
};
const seen = { state: '', codes: '', messages: '' };
let info;
let ticks = 0;
let polling = false;

async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(`/api/${path}`, init);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

/** An element with properties/attributes and children (strings become text nodes). */
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

function say(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

const enc = encodeURIComponent;
const networkName = (id) => (info.networks.find((n) => n.id === id) || { name: id }).name;

function renderConnect() {
  const bots = info.bridges.map((b) => el('li', {}, el('code', {}, b.bot), ` (${b.name})`));
  ui.connect.replaceChildren(
    el('dt', {}, 'Homeserver'), el('dd', {}, el('code', {}, info.homeserver_url), ' (server name localhost)'),
    el('dt', {}, 'Matrix user'), el('dd', {}, el('code', {}, info.user_id), ' password ', el('code', {}, info.password)),
    el('dt', {}, 'Bridge bots'), el('dd', {}, el('ul', { class: 'bots' }, ...bots)),
  );
}

function renderBridges(bridges) {
  ui.bridges.replaceChildren(...bridges.map((b) => {
    const rows = b.logins.map((l) => el('tr', { 'data-login': l.id, 'data-state': l.state },
      el('td', {}, l.remote_name || l.id),
      el('td', {}, el('span', { class: `state state-${l.state.toLowerCase()}` }, l.state)),
      el('td', {}, l.user_id || ''),
      el('td', {}, [l.error, l.message].filter(Boolean).join(': '))));
    const body = rows.length
      ? el('table', {}, el('caption', {}, `Logins of ${b.name}`),
        el('thead', {}, el('tr', {}, ...['Account', 'State', 'Matrix user', 'Detail'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...rows))
      : el('p', { class: 'muted' }, b.reachable ? `No logins yet: send "login" to ${b.bot}.` : '');
    return el('article', { class: 'bridge', 'data-bridge': b.id, 'aria-label': b.name },
      el('h3', {}, b.name),
      el('p', { class: b.problem ? 'problem' : 'muted' }, b.problem || `Bot ${b.bot}`),
      body);
  }));
}

function renderCodes(networks) {
  const items = networks.flatMap((n) => n.login_codes.map((c) => el('li', { 'data-network': n.id, 'data-code': c.code },
    el('span', {}, `${n.name}: `), el('code', { class: 'code' }, c.code), ' ',
    el('button', {
      type: 'button', class: 'approve', 'aria-label': `Approve ${c.code} on ${n.name} as ${n.self}`,
      onclick: () => void approve(n, c.code),
    }, `Approve as ${n.self}`))));
  ui.codes.replaceChildren(...(items.length ? items : [el('li', { class: 'muted' }, 'No login code is waiting.')]));
}

async function approve(network, code) {
  try {
    await api(`networks/${enc(network.id)}/login-codes/${enc(code)}/approve`, {});
    say(`Approved ${code} as ${network.self}: the bridge is logging in.`);
    await refreshState();
  } catch (err) {
    say(`Could not approve ${code}: ${err.message}`, true);
  }
}

async function refreshState() {
  const state = await api('state');
  const text = JSON.stringify(state.bridges);
  if (text !== seen.state) {
    seen.state = text;
    renderBridges(state.bridges);
  }
  const codes = JSON.stringify(state.networks.map((n) => n.login_codes.map((c) => c.code)));
  if (codes !== seen.codes) {
    seen.codes = codes;
    renderCodes(state.networks);
  }
}

/** Replaces a select's options, keeping the current choice when it is still there. */
function fillSelect(select, options) {
  const keep = select.value;
  select.replaceChildren(...options.map((o) => el('option', { value: o.value }, o.label)));
  if (options.some((o) => o.value === keep)) select.value = keep;
}

async function loadContacts() {
  const contacts = await api(`networks/${enc(ui.network.value)}/contacts`);
  fillSelect(ui.contact, contacts.map((c) => ({ value: c.id, label: `${c.name} (${c.id})` })));
  ui.sendButton.textContent = ui.contact.value ? `Send as ${ui.contact.value}` : 'Send';
}

async function loadChats() {
  if (!ui.contact.value) return fillSelect(ui.chat, []);
  const chats = await api(`networks/${enc(ui.network.value)}/contacts/${enc(ui.contact.value)}/chats`);
  fillSelect(ui.chat, chats.map((c) => ({ value: c.id, label: c.label })));
}

function messageItem(m) {
  const who = m.from_self ? `${m.sender} (through the bridge)` : m.sender_name;
  const time = new Date(m.ts);
  return el('li', { class: m.from_self ? 'message from-self' : 'message', 'data-sender': m.sender },
    el('span', { class: 'who' }, who), ' ',
    el('time', { dateTime: time.toISOString() }, time.toLocaleTimeString()), ' ',
    el('span', { class: m.deleted ? 'text deleted' : 'text' }, m.deleted ? '(deleted)' : m.text),
    m.edited ? el('span', { class: 'muted' }, ' (edited)') : null,
    m.reactions.length ? el('span', { class: 'reactions' }, ` ${m.reactions.join(' ')}`) : null);
}

async function loadMessages() {
  const key = `${ui.network.value}|${ui.contact.value}|${ui.chat.value}`;
  if (!ui.chat.value) {
    ui.messages.replaceChildren();
    seen.messages = key;
    return;
  }
  const msgs = await api(`networks/${enc(ui.network.value)}/chats/${enc(ui.chat.value)}/messages?as=${enc(ui.contact.value)}`);
  // The visitor may have picked another chat while this was loading.
  if (key !== `${ui.network.value}|${ui.contact.value}|${ui.chat.value}`) return;
  const text = key + JSON.stringify(msgs);
  if (text === seen.messages) return;
  seen.messages = text;
  const atBottom = ui.messages.scrollTop + ui.messages.clientHeight >= ui.messages.scrollHeight - 8;
  ui.messages.replaceChildren(...(msgs.length ? msgs.map(messageItem) : [el('li', { class: 'muted' }, 'No messages yet.')]));
  if (atBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
}

async function send(event) {
  event.preventDefault();
  const text = ui.text.value;
  if (!text.trim()) return say('Type a message first.', true);
  const as = ui.contact.value;
  ui.sendButton.disabled = true;
  try {
    await api(`networks/${enc(ui.network.value)}/chats/${enc(ui.chat.value)}/messages`, { as, text });
    ui.text.value = '';
    say(`Sent as ${as} to ${networkName(ui.network.value)}.`);
    await loadMessages();
  } catch (err) {
    say(`Not sent: ${err.message}`, true);
  } finally {
    ui.sendButton.disabled = false;
    ui.text.focus();
  }
}

/** Runs a step; failures show in the status line instead of becoming unhandled rejections. */
async function guarded(step) {
  try {
    await step();
  } catch (err) {
    say(err.message, true);
  }
}

async function tick() {
  if (polling) return;
  polling = true;
  ticks++;
  await guarded(refreshState);
  if (ticks % CHATS_EVERY === 0) await guarded(async () => { await loadContacts(); await loadChats(); });
  await guarded(loadMessages);
  polling = false;
}

async function start() {
  info = await api('info');
  renderConnect();
  fillSelect(ui.network, info.networks.map((n) => ({ value: n.id, label: n.name })));
  ui.network.addEventListener('change', () => void guarded(async () => { await loadContacts(); await loadChats(); await loadMessages(); }));
  ui.contact.addEventListener('change', () => void guarded(async () => {
    ui.sendButton.textContent = `Send as ${ui.contact.value}`;
    await loadChats();
    await loadMessages();
  }));
  ui.chat.addEventListener('change', () => void guarded(loadMessages));
  ui.send.addEventListener('submit', (e) => void send(e));
  await loadContacts();
  await loadChats();
  await tick();
  setInterval(() => void tick(), POLL_MS);
}

void guarded(start);
