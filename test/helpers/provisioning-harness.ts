/**
 * The provisioning API on a real Bridge (SQLite in memory) and a real appservice listener, with a
 * scripted connector in place of a network and a recording stub in place of the homeserver's
 * client API: for unit tests of the HTTP surface. Every response goes through the OpenAPI check.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { makeConfigSchema, parseConfig } from '../../shared/src/config/index.js';
import { openDatabase, type Database } from '../../shared/src/db/index.js';
import { Bridge } from '../../shared/src/core/bridge.js';
import { TributaryAppService } from '../../shared/src/matrix/appservice.js';
import { mountProvisioning, type ProvisioningApi, type ProvisioningApiOptions } from '../../shared/src/provisioning/index.js';
import {
  BridgeError, portalKey, userLoginId, type CreateGroupParams, type LoginFlow, type LoginProcess, type LoginStep,
  type NetworkAPI, type NetworkConnector, type RemoteUserId, type UserHandle, type UserLoginHandle,
} from '../../shared/src/network/index.js';
import { callProvisioning, type ApiReply } from './openapi.js';

export const SECRET = 'provisioning-secret-0123456789';
export const ALICE = '@alice:example.org';
export const BOB = '@bob:example.org';

const FLOWS: LoginFlow[] = [
  { id: 'password', name: 'Password', description: 'Username and password' },
  { id: 'qr', name: 'QR code', description: 'Scan a code' },
  { id: 'cookies', name: 'Cookies', description: 'Paste cookies' },
];

/** A login process the test drives: records what it was given, and lets the test rotate or approve a QR code. */
export class ScriptedProcess implements LoginProcess {
  readonly submitted: Array<Record<string, string>> = [];
  cancelled = false;
  private waiter: { resolve(step: LoginStep): void; reject(err: Error): void } | undefined;
  private queued: Array<LoginStep | Error> = [];

  constructor(readonly user: UserHandle, readonly flow: string) {}

  async start(): Promise<LoginStep> {
    if (this.flow === 'password') {
      return { type: 'user_input', stepId: 'fake.password', instructions: 'Log in', fields: [
        { id: 'username', type: 'username', name: 'Username', pattern: '^[a-z]+$' },
        { id: 'password', type: 'password', name: 'Password' }] };
    }
    if (this.flow === 'cookies') {
      return { type: 'cookies', stepId: 'fake.cookies', instructions: 'Paste', url: 'https://fake.example/login', fields: [
        { id: 'session', required: true, source: { type: 'cookie', name: 'sid', domain: '.fake.example' } },
        { id: 'xs', required: false, pattern: '^[0-9]+$', source: { type: 'cookie', name: 'xs', domain: '.fake.example' } }] };
    }
    return this.qrStep('code-1');
  }

  async submitUserInput(values: Record<string, string>): Promise<LoginStep> {
    this.submitted.push(values);
    if (values.password !== 'right') throw new BridgeError('bad password', { reason: 'm_not_logged_in', userMessage: 'Wrong username or password' });
    return this.complete(values.username!);
  }

  async submitCookies(values: Record<string, string>): Promise<LoginStep> {
    this.submitted.push(values);
    return this.complete(`cookie-${values.session}`);
  }

  wait(): Promise<LoginStep> {
    const next = this.queued.shift();
    if (next instanceof Error) return Promise.reject(next);
    if (next) return Promise.resolve(next);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  cancel(): void {
    this.cancelled = true;
    this.emit(new BridgeError('cancelled'));
  }

  rotate(code: string): void {
    this.emit(this.qrStep(code));
  }

  async approve(account: string): Promise<void> {
    this.emit(await this.complete(account));
  }

  fail(err: Error): void {
    this.emit(err);
  }

  private emit(v: LoginStep | Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) return void this.queued.push(v);
    if (v instanceof Error) w.reject(v);
    else w.resolve(v);
  }

  private qrStep(code: string): LoginStep {
    return { type: 'display_and_wait', stepId: 'fake.qr', instructions: 'Scan', display: { type: 'qr', data: code } };
  }

  private async complete(account: string): Promise<LoginStep> {
    const login = await this.user.newLogin({ id: userLoginId(account), remoteName: account, metadata: {} });
    return { type: 'complete', stepId: 'fake.complete', instructions: 'Done', complete: { userLoginId: login.id, remoteName: login.remoteName } };
  }
}

/** The network side of a fake login: contacts, lookups and group creation, recorded. */
export class FakeNetworkApi implements NetworkAPI {
  readonly groups: CreateGroupParams[] = [];
  loggedOut = false;
  constructor(private readonly handle: UserLoginHandle) {}
  connect(): void {
    this.handle.setBridgeState({ stateEvent: 'CONNECTED' });
  }
  async disconnect(): Promise<void> {}
  isLoggedIn(): boolean {
    return !this.loggedOut;
  }
  async logoutRemote(): Promise<void> {
    this.loggedOut = true;
  }
  isThisUser(user: RemoteUserId): boolean {
    return (user as string) === this.handle.id;
  }
  async getChatInfo(): Promise<never> {
    throw new Error('not used');
  }
  async getUserInfo(user: RemoteUserId) {
    return { name: user };
  }
  getCapabilities(): never {
    return {} as never;
  }
  async handleMatrixMessage(): Promise<never> {
    throw new Error('not used');
  }
  async getContactList() {
    return [{ user: 'carol' as RemoteUserId, info: { name: 'Carol', identifiers: ['tel:+15550000003'] } }];
  }
  async resolveIdentifier(identifier: string, createChat: boolean) {
    if (identifier !== 'carol' && identifier !== '+15550000003') return null;
    const user = 'carol' as RemoteUserId;
    return {
      user, info: { name: 'Carol', identifiers: ['tel:+15550000003'] },
      ...(createChat ? { chat: { portal: portalKey(`dm:carol:${this.handle.id}`, this.handle.id), info: { type: 'dm' as const, otherUser: user, members: [{ user }] } } } : {}),
    };
  }
  async createGroup(params: CreateGroupParams) {
    this.groups.push(params);
    return { portal: portalKey(`g:${this.groups.length}`), info: { type: 'group' as const, name: params.name, members: params.members.map((user) => ({ user })) } };
  }
}

export class ScriptedConnector implements NetworkConnector<unknown> {
  readonly name = { displayName: 'Fake', networkId: 'fake', networkUrl: 'https://fake.example', protocolId: 'fake', defaultPort: 1, botDisplayName: 'Fake bot' };
  readonly configSchema = z.object({});
  readonly capabilities = { disappearingMessages: false, echoesOwnMessages: false };
  readonly processes: ScriptedProcess[] = [];
  readonly apis = new Map<string, FakeNetworkApi>();
  init(): void {}
  async start(): Promise<void> {}
  getLoginFlows(): LoginFlow[] {
    return FLOWS;
  }
  createLogin(user: UserHandle, flowId: string): LoginProcess {
    const p = new ScriptedProcess(user, flowId);
    this.processes.push(p);
    return p;
  }
  loadUserLogin(login: UserLoginHandle): NetworkAPI {
    const api = new FakeNetworkApi(login);
    this.apis.set(login.id, api);
    return api;
  }
}

/** Stands in for the homeserver's client API: every method resolves; createRoom hands out room ids. */
function recordingMatrixApi(calls: Array<{ method: string; args: unknown[] }>): unknown {
  let rooms = 0;
  return new Proxy({}, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      return async (...args: unknown[]) => {
        calls.push({ method: String(prop), args });
        if (prop === 'createRoom') return `!room${++rooms}:example.org`;
        if (prop === 'joinedMembers') return [];
        return undefined;
      };
    },
  });
}

export interface HarnessOptions {
  homeserverUrl?: string;
  rateLimitPerMinute?: number;
  sharedSecret?: string;
  api?: ProvisioningApiOptions;
}

export class ProvisioningHarness {
  readonly matrixCalls: Array<{ method: string; args: unknown[] }> = [];
  private constructor(
    readonly db: Database, readonly bridge: Bridge, readonly connector: ScriptedConnector,
    readonly as: TributaryAppService, readonly api: ProvisioningApi, readonly baseUrl: string,
  ) {}

  static async start(opts: HarnessOptions = {}): Promise<ProvisioningHarness> {
    const db = await openDatabase({ type: 'sqlite', uri: ':memory:' });
    await db.migrate();
    const config = parseConfig(makeConfigSchema('fake', z.object({})), {
      homeserver: { domain: 'example.org', address: opts.homeserverUrl ?? 'http://127.0.0.1:9' },
      permissions: { '*': 'relay', 'example.org': 'user' },
      provisioning: { shared_secret: opts.sharedSecret ?? SECRET, rate_limit_per_minute: opts.rateLimitPerMinute ?? 0 },
      bridge: { personal_space: false, management_room_notices: false, double_puppet: { enabled: false } },
    });
    const connector = new ScriptedConnector();
    const bridge = new Bridge(config as never, db, connector);
    const as = new TributaryAppService({ homeserverToken: 'hs-token-for-tests-0123', maxBodyBytes: 1 << 20, handlers: { onTransaction: async () => undefined } });
    const api = mountProvisioning(as, bridge, opts.api)!;
    await as.listen(0, '127.0.0.1', 64);
    const port = ((as as unknown as { server: http.Server }).server.address() as AddressInfo).port;
    const h = new ProvisioningHarness(db, bridge, connector, as, api, `http://127.0.0.1:${port}`);
    Object.assign(bridge, { api: recordingMatrixApi(h.matrixCalls) });
    return h;
  }

  /**
   * Calls `/_matrix/provision/v3<path>` as `as` (shared secret + user_id by default) and checks the
   * response against the OpenAPI file.
   */
  call<T = Record<string, unknown>>(method: string, path: string, opts: { as?: string | null; token?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiReply<T>> {
    const as = opts.as === undefined ? ALICE : opts.as;
    const sep = path.includes('?') ? '&' : '?';
    const full = `/_matrix/provision/v3${path}${as ? `${sep}user_id=${encodeURIComponent(as)}` : ''}`;
    return callProvisioning<T>(this.baseUrl, method, full, { token: opts.token === null ? undefined : (opts.token ?? SECRET), body: opts.body, headers: opts.headers });
  }

  async stop(): Promise<void> {
    this.api.stop();
    await this.bridge.stop();
    await this.as.close();
    await this.db.close();
  }
}
