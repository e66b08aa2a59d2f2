import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { MessageContent } from '../wire.js';
import { contentFromControlBody } from './control-content.js';
import * as B from './control-schemas.js';
import { NetworkError } from './errors.js';
import { JSON_BODY_CAP, bearerToken, readJson, sameSecret, sendError, sendJson } from './http-util.js';
import type { LoginCodes } from './login-codes.js';
import type { MediaStore } from './media-store.js';
import type { AccountRecord } from './model-types.js';
import type { SandboxNetwork } from './network.js';
import type { WireServer } from './wire-server.js';

export interface ControlDeps {
  network: SandboxNetwork;
  wire: WireServer;
  media: MediaStore;
  loginCodes: LoginCodes;
  controlToken?: string;
  startedAt: number;
}

interface Ctx {
  req: IncomingMessage;
  params: string[];
  query: URLSearchParams;
  body<T>(schema: z.ZodType<T>, cap?: number): Promise<T>;
}
type Result = [status: number, body: unknown];
type Route = { method: string; path: string[]; run: (ctx: Ctx) => Promise<Result> | Result };

/**
 * The control API under /control/: how tests, the demo and benchmarks play every account that
 * the bridge is not logged in as, and inspect what the bridge did.
 */
export class ControlApi {
  private readonly routes: Route[] = [];

  constructor(private readonly d: ControlDeps) {
    const n = d.network;
    const r = (method: string, path: string, run: Route['run']): void => {
      this.routes.push({ method, path: path.split('/').filter(Boolean), run });
    };
    const ok = (body: unknown, status = 200): Result => [status, body];

    r('GET', 'health', () => ok({
      ok: true, uptime_ms: Date.now() - d.startedAt, accounts: n.listAccounts().length, chats: n.listChats().length, connections: d.wire.connectionCount(),
    }));

    r('GET', 'accounts', () => ok(n.listAccounts().map((a) => this.account(a, false))));
    r('POST', 'accounts', async (c) => ok(this.account(n.createAccount(await c.body(B.createAccountBody)), true), 201));
    r('GET', 'accounts/:id', (c) => ok(this.account(n.account(p(c, 0)), true)));
    r('POST', 'accounts/:id/presence', async (c) => ok(n.setPresence(p(c, 0), (await c.body(B.presenceBody)).online)));
    r('POST', 'accounts/:id/disconnect', async (c) => {
      const body = await c.body(B.disconnectBody);
      n.account(p(c, 0));
      return ok({ dropped: d.wire.disconnect(p(c, 0), body.refuse_ms ?? 0) });
    });
    r('POST', 'accounts/:id/logout', async (c) => {
      const body = await c.body(B.logoutBody);
      n.logout(p(c, 0), body.reason ?? 'logged out remotely');
      return ok({ ok: true });
    });

    r('GET', 'chats', (c) => {
      const account = c.query.get('account');
      if (account !== null) n.account(account);
      return ok(n.listChats(account ?? undefined).map((chat) => n.wireChat(chat)));
    });
    r('GET', 'chats/:chat', (c) => {
      const chat = n.chat(p(c, 0));
      return ok({ ...n.wireChat(chat), history: chat.history });
    });
    r('PATCH', 'chats/:chat', async (c) => {
      const b = await c.body(B.patchChatBody);
      return ok(n.updateChat(b.as, p(c, 0), { name: b.name, topic: b.topic, avatar: b.avatar, disappear_ms: b.disappear_ms }));
    });
    r('POST', 'groups', async (c) => {
      const b = await c.body(B.createGroupBody);
      return ok(n.createGroup(b.creator, b.name, b.members, b.topic), 201);
    });
    r('POST', 'dms', async (c) => {
      const b = await c.body(B.createDmBody);
      const { chat, created } = n.createDm(b.a, b.b);
      return ok(chat, created ? 201 : 200);
    });
    r('POST', 'chats/:chat/members', async (c) => {
      const b = await c.body(B.membersBody);
      const chat = p(c, 0);
      if (b.add !== undefined) return ok(n.invite(b.as, chat, b.add));
      const target = b.remove ?? '';
      return ok(target === b.as ? n.leave(b.as, chat) : n.kick(b.as, chat, target));
    });
    r('POST', 'chats/:chat/roles', async (c) => {
      const b = await c.body(B.roleBody);
      return ok(n.setRole(b.as ?? n.ownerOf(p(c, 0)), p(c, 0), b.user, b.role));
    });
    r('GET', 'chats/:chat/messages', (c) => {
      const chat = n.chat(p(c, 0));
      return ok(chat.messages.map((m) => ({ ...structuredClone(m), read_by: n.readBy(chat, m) })));
    });
    r('POST', 'chats/:chat/messages', async (c) => {
      const b = await c.body(B.sendMessageBody, Math.ceil((d.media.maxBytes * 4) / 3) + JSON_BODY_CAP);
      n.chat(p(c, 0));
      const content = await contentFromControlBody(b, d.media);
      try {
        return ok(n.send(b.as, p(c, 0), content, { replyTo: b.reply_to }).message, 201);
      } catch (err) {
        if ('media_id' in content) await d.media.remove(content.media_id);
        throw err;
      }
    });
    r('POST', 'chats/:chat/read', async (c) => {
      const b = await c.body(B.readBody);
      n.markRead(b.as, p(c, 0), b.message);
      return ok({ ok: true });
    });
    r('POST', 'chats/:chat/typing', async (c) => {
      const b = await c.body(B.typingBody);
      n.setTyping(b.as, p(c, 0), b.typing);
      return ok({ ok: true });
    });

    r('GET', 'messages/:id', (c) => ok(n.message(p(c, 0))));
    r('POST', 'messages/:id/edit', async (c) => {
      const b = await c.body(B.editBody);
      const f = b.formatted ?? { text: b.text ?? '', entities: [] };
      const content: MessageContent = b.extension ? { kind: 'extension', ...b.extension } : { kind: 'text', text: f.text, entities: f.entities };
      return ok(n.edit(b.as, p(c, 0), content));
    });
    r('POST', 'messages/:id/reactions', async (c) => {
      const b = await c.body(B.reactBody);
      return ok(n.react(b.as, p(c, 0), b.emoji));
    });
    r('DELETE', 'messages/:id/reactions', async (c) => ok(n.unreact((await c.body(B.asBody)).as, p(c, 0))));
    r('DELETE', 'messages/:id', async (c) => ok(n.deleteMessage((await c.body(B.asBody)).as, p(c, 0))));

    r('GET', 'login-codes', () => ok(d.loginCodes.pending()));
    r('POST', 'login-codes/:code/approve', async (c) => {
      const b = await c.body(B.approveBody);
      const account = n.account(b.account);
      d.loginCodes.approve(p(c, 0), account.id, account.token);
      return ok({ ok: true, account: account.id });
    });
  }

  private account(a: AccountRecord, secrets: boolean): unknown {
    const pub = { ...this.d.network.publicAccount(a), connected: this.d.wire.connectionCount(a.id) };
    return secrets ? { ...pub, token: a.token, password: a.password } : pub;
  }

  /** `segments` is the path after `/control`. */
  async handle(req: IncomingMessage, res: ServerResponse, segments: string[], query: URLSearchParams): Promise<void> {
    try {
      const token = this.d.controlToken;
      if (token !== undefined) {
        const given = bearerToken(req);
        if (given === undefined || !sameSecret(given, token)) throw new NetworkError('unauthorized', 'control API needs Authorization: Bearer <control token>');
      }
      let pathMatched = false;
      for (const route of this.routes) {
        const params = match(route.path, segments);
        if (!params) continue;
        pathMatched = true;
        if (route.method !== req.method) continue;
        const ctx: Ctx = { req, params, query, body: (schema, cap) => readJson(req, schema, cap) };
        const [status, body] = await route.run(ctx);
        sendJson(res, status, body);
        return;
      }
      if (pathMatched) sendJson(res, 405, { error: { code: 'bad_request', message: `${req.method} not allowed here` } });
      else throw new NetworkError('not_found', 'no such control endpoint');
    } catch (err) {
      sendError(res, err);
    }
  }
}

function match(pattern: string[], segments: string[]): string[] | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] ?? '';
    const got = segments[i] ?? '';
    if (want.startsWith(':')) params.push(got);
    else if (want !== got) return undefined;
  }
  return params;
}

function p(c: Ctx, i: number): string {
  return c.params[i] ?? '';
}
