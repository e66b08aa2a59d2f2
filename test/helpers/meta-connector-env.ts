/**
 * The real Meta connector (Messenger or Instagram flavour) with its MetaClient against the Meta
 * emulator and an in-process sandbox network (see meta-env.ts), logins recorded by RecordingLogin:
 * for connector-tier tests without the core.
 */
import assert from 'node:assert/strict';
import { plain } from '../../shared/src/matrix/format/index.js';
import {
  type BridgeHandle, type LoginStep, type MatrixMessage, type NewLoginData, type PortalKey, type RemoteEvent, type RemoteUserId, type UserHandle,
} from '../../shared/src/network/index.js';
import { MetaConnector } from '../../bridges/meta/src/connector/connector.js';
import { metaConfigSchema, type MetaConfig } from '../../bridges/meta/src/connector/config.js';
import type { MetaAPI } from '../../bridges/meta/src/connector/meta-api.js';
import { MESSENGER_NAME } from '../../bridges/messenger/src/connector.js';
import { INSTAGRAM_NAME } from '../../bridges/instagram/src/connector.js';
import type { MetaPlatform } from '../../bridges/meta/src/cookies.js';
import { RecordingLogin } from './fake-login.js';
import { MetaEnv, USER, until } from './meta-env.js';

export { USER, GROUP_1, until } from './meta-env.js';

export class MetaConnectorEnv extends MetaEnv {
  connector!: MetaConnector;
  logins: RecordingLogin[] = [];
  apis: MetaAPI[] = [];
  now = () => Date.now();

  readonly user: UserHandle = {
    mxid: '@alice:example.org',
    newLogin: async (data: NewLoginData) => {
      const login = new RecordingLogin(data.id, data.remoteName);
      Object.assign(login.metadata, data.metadata);
      this.logins.push(login);
      return login;
    },
  };

  constructor(platform: MetaPlatform = 'messenger') {
    super(platform);
  }

  override async start(): Promise<void> {
    await super.start();
    this.logins = [];
    this.apis = [];
    this.connector = new MetaConnector({ platform: this.platform, name: this.platform === 'messenger' ? MESSENGER_NAME : INSTAGRAM_NAME, now: () => this.now() });
    const config = metaConfigSchema.parse({
      emulator_url: this.emulator.url, reconnect: { min_ms: 20, max_ms: 100 }, rate_limit: { burst: 1000, per_second: 1000 },
    });
    const bridge: BridgeHandle<MetaConfig> = {
      networkConfig: config, log: this.log.child({ module: 'connector' }), serverName: 'example.org', db: undefined as never,
      ghostUserId: (u: RemoteUserId) => `@${this.platform}_${u}:example.org`, getLogin: () => undefined,
    };
    this.connector.init(bridge);
  }

  override async stop(): Promise<void> {
    for (const api of this.apis) await api.disconnect();
    await super.stop();
  }

  /** The directory of an API (what the connector knows of the mailbox). */
  dir(api: MetaAPI): MetaAPI['dir'] {
    return api.dir;
  }

  /** A cookie header for an account, in this flavour's cookie names. */
  async cookieHeader(account = 'me'): Promise<string> {
    const token = await this.token(account);
    const id = USER[account as keyof typeof USER];
    return this.platform === 'messenger'
      ? `xs=${token}; c_user=${id}; datr=datr-value-123`
      : `sessionid=${token}; ds_user_id=${id}; csrftoken=csrf-value-123; mid=mid-value; ig_did=did-value`;
  }

  /** Logs in through the cookie flow and connects the login's API; waits for CONNECTED. */
  async login(): Promise<{ login: RecordingLogin; api: MetaAPI }> {
    const proc = this.connector.createLogin(this.user, 'cookies');
    const step = await proc.start();
    assert.equal(step.type, 'user_input');
    const done = await proc.submitUserInput!({ cookies: await this.cookieHeader() });
    assert.equal(done.type, 'complete');
    assert.equal((done as Extract<LoginStep, { type: 'complete' }>).complete.userLoginId, USER.me);
    const login = this.logins.at(-1)!;
    const api = this.connector.loadUserLogin(login) as MetaAPI;
    this.apis.push(api);
    api.connect();
    await until('connected', () => login.lastState() === 'CONNECTED');
    return { login, api };
  }
}

export const ofType = <T extends RemoteEvent['type']>(login: RecordingLogin, type: T) =>
  login.queued.filter((e): e is Extract<RemoteEvent, { type: T }> => e.type === type);

let seq = 0;
/** A Matrix text message as the core hands it to a connector. */
export function matrixText(portal: PortalKey, text: string, extra: Partial<MatrixMessage> = {}): MatrixMessage {
  const n = ++seq;
  return {
    portal, roomId: '!room:example.org', eventId: `$ev${n}-${Date.now()}`, sender: '@alice:example.org', timestamp: Date.now(),
    msgtype: 'm.text', text: plain(text), txnId: `txn-${n}-${Date.now()}`, content: { msgtype: 'm.text', body: text }, ...extra,
  };
}

export const enc = encodeURIComponent;
export interface ControlMessage {
  id: string; sender: string; ts: number; deleted: boolean; edit_count: number;
  content: { kind: string; text?: string; media_id?: string; caption?: { text: string } };
  reactions: Array<{ user_id: string; emoji: string }>; read_by?: string[];
}
