import { z } from 'zod';
import {
  intIn, port, MiB, httpUrl, serverName, localpart, nonEmpty, localpartTemplate, mxcOrEmpty,
  SERVER_NAME_RE, USER_ID_RE,
} from './fields.js';

/**
 * The one configuration schema. Every field has a default and a one-line description: the
 * defaults make `{}` a complete config, and the descriptions become the comments of the
 * example YAML (example.ts). Objects are strict so a misspelt key is an error, not a silently
 * ignored setting. Sections use `.prefault({})` (not `.default`) so a missing section is
 * parsed like an empty one and its inner defaults apply.
 */

/** Bridge names end up in user ids, aliases and the command prefix. */
export const BRIDGE_NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

export const PERMISSION_LEVELS = ['relay', 'commands', 'user', 'admin'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** The literal a token field holds until `-g` replaces it (see fillGeneratedSecrets). */
export const GENERATE = 'generate';

function homeserverSection() {
  return z.strictObject({
    address: httpUrl().default('http://localhost:8008')
      .describe('URL the bridge uses to reach the homeserver (client-server API).'),
    domain: serverName().default('localhost')
      .describe('The homeserver\'s server name: the part after ":" in user ids.'),
    ping_on_start: z.boolean().default(true)
      .describe('Ping the homeserver through the appservice API at startup to check it can reach the bridge.'),
    max_upload_size_fallback: intIn(1).default(50 * MiB)
      .describe('Media size limit in bytes, used when the homeserver\'s media config endpoint fails.'),
    status_endpoint: httpUrl().nullable().default(null)
      .describe('URL to POST every login\'s bridge state to (authorised with the as_token), for a status dashboard; null: off.'),
  });
}

function appserviceSection(bridgeName: string) {
  return z.strictObject({
    address: httpUrl().default('http://localhost:29300')
      .describe('URL the homeserver uses to reach the bridge; goes into the registration as url.'),
    hostname: nonEmpty().default('127.0.0.1')
      .describe('Address the appservice HTTP listener binds to.'),
    port: port().default(29300)
      .describe('Port the appservice HTTP listener binds to.'),
    id: nonEmpty().default(bridgeName)
      .describe('Appservice id in the registration; unique per homeserver.'),
    bot: z.strictObject({
      username: localpart().default(`${bridgeName}bot`)
        .describe('Localpart of the bridge bot user.'),
      displayname: z.string().default(`${bridgeName} bridge bot`)
        .describe('Display name of the bridge bot; empty leaves it unset.'),
      avatar: mxcOrEmpty().default('')
        .describe('Avatar of the bridge bot as an mxc:// URI; empty leaves it unset.'),
    }).prefault({}).describe('The bridge bot: the user people talk to for commands and logins.'),
    as_token: nonEmpty().default(GENERATE)
      .describe('Token the bridge uses with the homeserver; "generate" is replaced by -g.'),
    hs_token: nonEmpty().default(GENERATE)
      .describe('Token the homeserver uses with the bridge; "generate" is replaced by -g.'),
    username_template: localpartTemplate('userid').default(`${bridgeName}_{userid}`)
      .describe('Localpart of ghost users; {userid} is the escaped remote user id.'),
    alias_template: localpartTemplate('roomid').default(`${bridgeName}_{roomid}`)
      .describe('Localpart of portal room aliases; {roomid} is the escaped remote chat id.'),
    max_body_bytes: intIn(1024).default(10 * MiB)
      .describe('Largest transaction body accepted from the homeserver, in bytes.'),
    ephemeral_events: z.boolean().default(true)
      .describe('Receive typing, receipts and presence in transactions (MSC2409); sets receive_ephemeral.'),
  });
}

function bridgeSection(bridgeName: string) {
  return z.strictObject({
    command_prefix: nonEmpty().default(`!${bridgeName}`)
      .describe('Prefix for bot commands in rooms other than the management room.'),
    personal_space: z.boolean().default(true)
      .describe('Put each user\'s portals into a personal space.'),
    management_room_notices: z.boolean().default(true)
      .describe('Send notices about login state changes to the management room.'),
    message_status_events: z.boolean().default(true)
      .describe('Send com.beeper.message_send_status events for bridged Matrix messages.'),
    message_error_notices: z.boolean().default(true)
      .describe('Send a notice to the room when a Matrix message cannot be bridged.'),
    delivery_receipts: z.boolean().default(false)
      .describe('Send a read receipt from the bridge bot when a message reaches the remote network.'),
    relay: z.strictObject({
      enabled: z.boolean().default(false)
        .describe('Allow relay mode: one logged-in user relays messages of users without a login.'),
      admin_only: z.boolean().default(true)
        .describe('Only bridge admins may set a room\'s relay user.'),
      message_format: z.string().includes('{message}', { error: 'must contain {message}' })
        .default('{sender_displayname}: {message}')
        .describe('Text sent for relayed messages; placeholders {sender_displayname} and {message}.'),
    }).prefault({}).describe('Relay mode.'),
    double_puppet: z.strictObject({
      enabled: z.boolean().default(true)
        .describe('Puppet users of this homeserver through the appservice token, so their remote messages appear as sent by them.'),
      as_token: z.string().min(1).default(GENERATE)
        .describe('Token of the double-puppet appservice (a second registration, written by -g, whose namespace covers this homeserver\'s users); "generate" is replaced by -g.'),
    }).prefault({}).describe('Double puppeting: a second registration lets the bridge act as local users.'),
    backfill: z.strictObject({
      enabled: z.boolean().default(true)
        .describe('Fetch message history from the remote network.'),
      max_initial_messages: intIn(0).default(50)
        .describe('Messages fetched when a portal room is created.'),
      max_catchup_messages: intIn(0).default(500)
        .describe('Messages fetched after a reconnect to fill the gap.'),
    }).prefault({}).describe('History backfill.'),
    disappearing_check_interval_seconds: intIn(1).default(10)
      .describe('How often to look for disappearing messages whose time is up, in seconds.'),
    portal_queue_size: intIn(1, 100_000).default(64)
      .describe('Events queued per portal before intake waits (backpressure; nothing is dropped).'),
    federate_rooms: z.boolean().default(true)
      .describe('Let portal rooms federate to other homeservers (m.federate).'),
  });
}

function databaseSection() {
  return z.strictObject({
    type: z.enum(['sqlite', 'postgres']).default('sqlite')
      .describe('Database engine: sqlite or postgres.'),
    uri: nonEmpty().default('tributary.db')
      .describe('sqlite: file path, relative to data_dir; postgres: a postgres:// URL.'),
    max_connections: intIn(1, 1000).default(10)
      .describe('Connection pool size.'),
  }).superRefine((db, ctx) => {
    if (db.type === 'postgres' && !/^postgres(?:ql)?:\/\//.test(db.uri)) {
      ctx.addIssue({ code: 'custom', path: ['uri'], input: db.uri, message: 'expected a postgres:// URL when type is postgres' });
    }
  });
}

const permissionKey = z.string().refine((k) => k === '*' || SERVER_NAME_RE.test(k) || USER_ID_RE.test(k), {
  error: 'expected "*", a server name (example.org) or a user id (@user:example.org)',
});

function permissionsSection() {
  return z.record(permissionKey, z.enum(PERMISSION_LEVELS)).default({ '*': 'relay' }).meta({
    description: 'Who may use the bridge, by user id, server name or "*"; the most specific key wins.\n'
      + 'Levels: relay (messages relayed by others) < commands < user (may log in) < admin.',
    commented: ['localhost: user', '"@admin:localhost": admin'],
  });
}

function encryptionSection() {
  return z.strictObject({
    allow: z.boolean().default(false)
      .describe('Allow end-to-bridge encryption in portal rooms.'),
    default: z.boolean().default(false)
      .describe('Enable encryption in new portal rooms.'),
    require: z.boolean().default(false)
      .describe('Refuse unencrypted messages in portal rooms.'),
    store_key_file: nonEmpty().default('crypto-store.key')
      .describe('File holding the key that encrypts the crypto store, relative to data_dir; generated once, keep it\n'
        + 'outside backups of the database. Losing it means new devices for the bot and every ghost.'),
    share_keys_with: z.enum(['cross-signed', 'verified', 'all']).default('cross-signed')
      .describe('Which devices get room keys: cross-signed (by their owner), verified (by the bridge) or all.'),
    decrypt_trust: z.enum(['untrusted', 'cross-signed-or-legacy', 'cross-signed']).default('untrusted')
      .describe('Which senders\' devices the bridge accepts messages from: untrusted (any), cross-signed-or-legacy\n'
        + '(cross-signed, or a user without cross-signing), cross-signed (only devices their owner cross-signed).'),
    max_live_devices: intIn(1).default(100)
      .describe('Most bridge devices (the bot and ghosts) kept open in memory; idle ones are closed and reopened from disk.'),
    rotation: z.strictObject({
      period_ms: intIn(60_000).default(604_800_000)
        .describe('Rotate the outbound group session after this many milliseconds.'),
      messages: intIn(1).default(100)
        .describe('Rotate the outbound group session after this many messages.'),
    }).prefault({}).describe('Megolm session rotation.'),
    undecryptable_notice_after_seconds: intIn(0).default(30)
      .describe('How long a portal waits for the missing room key of an encrypted message before telling the\n'
        + 'sender it could not be decrypted (later events of that portal wait behind it, so order is kept).\n'
        + 'A key that arrives later still gets the message bridged.'),
    late_key_max_hours: intIn(1).default(168)
      .describe('How long the bridge keeps waiting, after that notice, for a key that has not arrived; then the\n'
        + 'message is given up and the notice says so.'),
  }).superRefine((enc, ctx) => {
    if ((enc.default || enc.require) && !enc.allow) {
      ctx.addIssue({ code: 'custom', path: ['allow'], input: enc.allow, message: 'must be true when default or require is true' });
    }
  });
}

function loggingSection() {
  return z.strictObject({
    level: z.enum(LOG_LEVELS).default('info')
      .describe('Minimum level logged: trace, debug, info, warn or error.'),
  });
}

function metricsSection() {
  return z.strictObject({
    enabled: z.boolean().default(false)
      .describe('Serve Prometheus metrics on /metrics.'),
    hostname: nonEmpty().default('127.0.0.1')
      .describe('Address the metrics listener binds to.'),
    port: port().default(29301)
      .describe('Port the metrics listener binds to.'),
  });
}

function provisioningSection() {
  return z.strictObject({
    enabled: z.boolean().default(true)
      .describe('Serve the provisioning HTTP API on the appservice listener.'),
    prefix: z.string().regex(/^\/(?:.*[^/])?$/, { error: 'expected a path starting with "/" and not ending with "/"' })
      .default('/_matrix/provision')
      .describe('Path prefix of the provisioning API.'),
    shared_secret: z.string().refine((s) => s === GENERATE || s === 'disable' || s.length >= 16, {
      error: 'expected at least 16 characters, "generate" or "disable"',
    }).default(GENERATE)
      .describe('Secret for the provisioning API; "generate" is replaced by -g, "disable" turns secret auth off.'),
    rate_limit_per_minute: intIn(0).default(60)
      .describe('Requests per minute per client; 0 disables the limit.'),
    login_page: z.strictObject({
      enabled: z.boolean().default(true)
        .describe('Serve the login web page at /_tributary/login/ on the appservice listener (needs provisioning.enabled).'),
      homeserver_url: httpUrl().nullable().default(null)
        .describe('The homeserver\'s URL as people\'s browsers reach it, for signing in on the login page; null: homeserver.address.'),
    }).prefault({}).describe('The login web page: people sign in with their Matrix account and log in to the network in a browser.'),
  });
}

/** The core sections (everything except network), with bridge-name-dependent defaults. */
export function makeCoreSchema(bridgeName: string) {
  if (!BRIDGE_NAME_RE.test(bridgeName)) {
    throw new Error(`bridge name "${bridgeName}" must match ${BRIDGE_NAME_RE}`);
  }
  return z.strictObject({
    homeserver: homeserverSection().prefault({}).describe('How the bridge reaches the homeserver.'),
    appservice: appserviceSection(bridgeName).prefault({}).describe('The appservice: how the homeserver reaches the bridge, and its registration.'),
    bridge: bridgeSection(bridgeName).prefault({}).describe('Bridge behaviour common to all networks.'),
    permissions: permissionsSection(),
    encryption: encryptionSection().prefault({}).describe('End-to-bridge encryption (Olm/Megolm between Matrix clients and the bridge).'),
    database: databaseSection().prefault({}).describe('The bridge database.'),
    data_dir: nonEmpty().default('./data')
      .describe('Directory for the SQLite database and crypto store; relative to the working directory.'),
    provisioning: provisioningSection().prefault({}).describe('The provisioning HTTP API (logins and portals for integrations).'),
    metrics: metricsSection().prefault({}).describe('Prometheus metrics.'),
    logging: loggingSection().prefault({}).describe('Logging.'),
  });
}

export type CoreConfigSchema = ReturnType<typeof makeCoreSchema>;

/** The validated configuration without the connector's `network` section. */
export type CoreConfig = z.output<CoreConfigSchema>;

/** A full configuration; `N` is the connector's network config type. */
export type BridgeConfig<N = Record<string, unknown>> = CoreConfig & { network: N };

/**
 * The full schema for one bridge: the core sections plus `network`, the connector's own
 * zod object. It is made strict at its top level; connectors should use `z.strictObject` for
 * nested objects too, and give every field a default and a description like the core does.
 */
export function makeConfigSchema<Shape extends z.core.$ZodShape, Cfg extends z.core.$ZodObjectConfig>(
  bridgeName: string,
  network: z.ZodObject<Shape, Cfg>,
) {
  const strictNetwork = network.strict();
  return makeCoreSchema(bridgeName).extend({
    network: strictNetwork.prefault(() => ({}) as z.input<typeof strictNetwork>)
      .describe('Settings of the remote network connector.'),
  });
}

/** The schema makeConfigSchema returns for a network section with fields `Shape`. */
export type ConfigSchema<Shape extends z.core.$ZodShape = z.core.$ZodShape> =
  ReturnType<typeof makeConfigSchema<Shape, z.core.$ZodObjectConfig>>;
