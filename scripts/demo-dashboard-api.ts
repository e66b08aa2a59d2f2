/**
 * What the demo dashboard may do, done server-side: read each bridge's login states (with the
 * bridge's hs_token, which never reaches the browser) and a handful of sandbox control API
 * operations: list contacts and their chats, read a chat's recent messages, send a text as a
 * contact, list and approve login codes as the demo account. Every input is checked here before
 * anything is forwarded; nothing else of the control API is reachable through the dashboard.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { MessageContent, WireAccount, WireChat, WireMessage } from '../bridges/sandbox/src/wire.js';

export interface DashboardBridge {
  id: string;
  name: string;
  /** The bridge bot's Matrix id, shown so visitors know whom to talk to. */
  bot: string;
  /** Where the bridge's appservice HTTP server listens. */
  url: string;
  /** The bridge's config file; its appservice.hs_token authorises the bridge state request. */
  configPath: string;
}

export interface DashboardNetwork {
  id: string;
  name: string;
  /** The sandbox network's control API, e.g. http://127.0.0.1:29400/control */
  controlUrl: string;
  /** The account the bridge logs in as: approves login codes, and is no contact to play. */
  self: string;
}

/** A refusal with the HTTP status the page gets; the message is safe to show. */
export class DashboardError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const MAX_TEXT = 4000;
const RECENT_MESSAGES = 50;
const UPSTREAM_TIMEOUT_MS = 5000;
const ACCOUNT_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CHAT_RE = /^(?:dm:[a-z0-9][a-z0-9._-]{0,63}:[a-z0-9][a-z0-9._-]{0,63}|g:[0-9]{1,10})$/;
const CODE_RE = /^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$/;

export const sendBodySchema = z.strictObject({
  as: z.string().regex(ACCOUNT_RE, 'as must be an account id'),
  text: z.string().max(MAX_TEXT, `text is longer than ${MAX_TEXT} characters`).refine((t) => t.trim() !== '', 'text is empty'),
});
export type SendBody = z.infer<typeof sendBodySchema>;
export const approveBodySchema = z.strictObject({});

export interface LoginView { id: string; state: string; remote_name: string | null; user_id: string | null; error: string | null; message: string | null; timestamp: number | null }
export interface BridgeView { id: string; name: string; bot: string; reachable: boolean; problem: string | null; logins: LoginView[] }
export interface LoginCodeView { code: string; expires_at: number }
export interface NetworkView { id: string; name: string; self: string; reachable: boolean; login_codes: LoginCodeView[] }
export interface ContactView { id: string; name: string; phone: string; online: boolean }
export interface ChatView { id: string; type: 'dm' | 'group'; label: string; members: string[] }
export interface MessageView { id: string; sender: string; sender_name: string; from_self: boolean; ts: number; kind: string; text: string; edited: boolean; deleted: boolean; reactions: string[] }

interface BridgeStateBody {
  logins?: Record<string, { state_event?: string; error?: string | null; message?: string | null; user_id?: string | null; remote_name?: string | null; timestamp?: number | null }>;
}

export class DashboardApi {
  private readonly bridges: Array<DashboardBridge & { token: string }>;

  constructor(bridges: DashboardBridge[], private readonly networks: DashboardNetwork[]) {
    this.bridges = bridges.map((b) => ({ ...b, token: hsTokenOf(b.configPath) }));
  }

  /** Everything the page polls: bridge states and waiting login codes. */
  async state(): Promise<{ bridges: BridgeView[]; networks: NetworkView[] }> {
    const [bridges, networks] = await Promise.all([
      Promise.all(this.bridges.map((b) => this.bridgeState(b))),
      Promise.all(this.networks.map(async (n): Promise<NetworkView> => {
        const base = { id: n.id, name: n.name, self: n.self };
        try {
          const codes = await this.control<LoginCodeView[]>(n, 'GET', '/login-codes');
          return { ...base, reachable: true, login_codes: codes.map((c) => ({ code: c.code, expires_at: c.expires_at })) };
        } catch {
          return { ...base, reachable: false, login_codes: [] };
        }
      })),
    ]);
    return { bridges, networks };
  }

  /** Every account of the network but the one the bridge logs in as. */
  async contacts(networkId: string): Promise<ContactView[]> {
    const n = this.network(networkId);
    const accounts = await this.control<WireAccount[]>(n, 'GET', '/accounts');
    return accounts.filter((a) => a.id !== n.self)
      .map((a) => ({ id: a.id, name: a.name, phone: a.phone, online: a.presence.online }));
  }

  async chats(networkId: string, account: string): Promise<ChatView[]> {
    const n = this.network(networkId);
    const contact = this.contactId(n, account);
    const [chats, names] = await Promise.all([
      this.control<WireChat[]>(n, 'GET', `/chats?account=${encodeURIComponent(contact)}`),
      this.names(n),
    ]);
    return chats.map((c) => {
      const others = c.members.map((m) => m.user_id).filter((u) => u !== contact);
      const label = c.type === 'group' ? `${c.name ?? c.id} (group)` : `Direct chat with ${others.map((u) => names.get(u) ?? u).join(', ')}`;
      return { id: c.id, type: c.type, label, members: c.members.map((m) => m.user_id) };
    });
  }

  /** The chat's most recent messages, as seen by a contact who is in it. */
  async messages(networkId: string, chatId: string, as: string): Promise<MessageView[]> {
    const n = this.network(networkId);
    const contact = this.contactId(n, as);
    const chat = chatIdOf(chatId);
    const path = `/chats/${encodeURIComponent(chat)}`;
    const [info, messages, names] = await Promise.all([
      this.control<WireChat>(n, 'GET', path),
      this.control<WireMessage[]>(n, 'GET', `${path}/messages`),
      this.names(n),
    ]);
    if (!info.members.some((m) => m.user_id === contact)) throw new DashboardError(403, `${contact} is not in ${chat}`);
    return messages.slice(-RECENT_MESSAGES).map((m) => messageView(m, n.self, names));
  }

  async send(networkId: string, chatId: string, body: SendBody): Promise<MessageView> {
    const n = this.network(networkId);
    const contact = this.contactId(n, body.as);
    const chat = chatIdOf(chatId);
    const sent = await this.control<WireMessage>(n, 'POST', `/chats/${encodeURIComponent(chat)}/messages`, { as: contact, text: body.text });
    return messageView(sent, n.self, await this.names(n));
  }

  /** The "phone scan": approves a waiting login code as the network's demo account. */
  async approve(networkId: string, code: string): Promise<{ account: string }> {
    const n = this.network(networkId);
    if (!CODE_RE.test(code)) throw new DashboardError(400, 'a login code looks like ABCD-EFGH');
    await this.control<unknown>(n, 'POST', `/login-codes/${encodeURIComponent(code.toUpperCase())}/approve`, { account: n.self });
    return { account: n.self };
  }

  private network(id: string): DashboardNetwork {
    const n = this.networks.find((x) => x.id === id);
    if (!n) throw new DashboardError(404, `no network "${id}" in this demo`);
    return n;
  }

  private contactId(n: DashboardNetwork, account: string): string {
    if (!ACCOUNT_RE.test(account)) throw new DashboardError(400, 'the contact must be an account id (lowercase letters, digits, . _ -)');
    if (account === n.self) throw new DashboardError(400, `${n.self} is the account the bridge logs in as; pick a contact`);
    return account;
  }

  private async names(n: DashboardNetwork): Promise<Map<string, string>> {
    const accounts = await this.control<WireAccount[]>(n, 'GET', '/accounts');
    return new Map(accounts.map((a) => [a.id, a.name]));
  }

  private async bridgeState(b: DashboardBridge & { token: string }): Promise<BridgeView> {
    const base = { id: b.id, name: b.name, bot: b.bot };
    let res: Response;
    try {
      res = await fetch(`${b.url}/_tributary/v1/bridge_state`, {
        headers: { authorization: `Bearer ${b.token}` }, signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    } catch {
      return { ...base, reachable: false, problem: 'the bridge is not answering', logins: [] };
    }
    if (!res.ok) return { ...base, reachable: true, problem: `the bridge answered HTTP ${res.status}`, logins: [] };
    const body = (await res.json()) as BridgeStateBody;
    const logins = Object.entries(body.logins ?? {}).map(([id, s]): LoginView => ({
      id, state: s.state_event ?? 'UNKNOWN', remote_name: s.remote_name ?? null, user_id: s.user_id ?? null,
      error: s.error ?? null, message: s.message ?? null, timestamp: s.timestamp ?? null,
    }));
    return { ...base, reachable: true, problem: null, logins };
  }

  /** One control API call; its errors come back as DashboardErrors with the sandbox's message. */
  private async control<T>(n: DashboardNetwork, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${n.controlUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    } catch {
      throw new DashboardError(502, `the ${n.name} network is not answering`);
    }
    const data = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    if (!res.ok) {
      const why = typeof data?.error?.message === 'string' ? data.error.message : `HTTP ${res.status}`;
      throw new DashboardError(res.status >= 500 ? 502 : res.status, `${n.name}: ${why}`);
    }
    return data as T;
  }
}

function chatIdOf(chat: string): string {
  if (!CHAT_RE.test(chat)) throw new DashboardError(400, 'a chat id looks like dm:alice:me or g:1');
  return chat;
}

function hsTokenOf(configPath: string): string {
  const config = parse(readFileSync(configPath, 'utf8')) as { appservice?: { hs_token?: unknown } } | null;
  const token = config?.appservice?.hs_token;
  if (typeof token !== 'string' || token === '') throw new Error(`${configPath} has no appservice.hs_token`);
  return token;
}

function messageView(m: WireMessage, self: string, names: Map<string, string>): MessageView {
  return {
    id: m.id, sender: m.sender, sender_name: names.get(m.sender) ?? m.sender, from_self: m.sender === self, ts: m.ts,
    kind: m.content.kind, text: m.deleted ? '' : summary(m.content), edited: m.edit_count > 0, deleted: m.deleted,
    reactions: m.reactions.map((r) => r.emoji),
  };
}

/** One line of text for any content kind. */
function summary(c: MessageContent): string {
  switch (c.kind) {
    case 'text':
    case 'notice':
      return c.text;
    case 'image':
    case 'video':
    case 'audio':
    case 'file':
      return `[${c.kind}] ${c.caption?.text ?? c.filename ?? ''}`.trimEnd();
    case 'location':
      return `[location] ${c.name ?? `${c.lat}, ${c.lon}`}`;
    case 'extension':
      return c.fallback;
  }
}
