import { stringify } from 'yaml';
import { ConfigError } from './errors.js';
import { GENERATE, type CoreConfig } from './schema.js';
import { encodeLocalpart, decodeLocalpart } from './localpart.js';

export { generateToken, fillGeneratedSecrets, assertSecretsGenerated } from './secrets.js';

/**
 * The appservice registration Synapse reads (app_service_config_files), built from the
 * config, plus the user ids that follow from it. The unstable flags are the ones end-to-bridge
 * encryption needs (research/matrix-libraries-and-e2ee.md section 5).
 */

export interface Namespace {
  regex: string;
  exclusive: boolean;
}

export interface Registration {
  id: string;
  url: string;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  rate_limited: false;
  receive_ephemeral: boolean;
  /** matrix-appservice and bot-sdk read only the unstable ephemeral key. */
  'de.sorunome.msc2409.push_ephemeral': boolean;
  /** Transaction extensions: OTK counts and device lists for appservice users. */
  'org.matrix.msc3202': true;
  /** Appservice device management (creating ghost devices without /login). */
  'io.element.msc4190': boolean;
  namespaces: {
    users: Namespace[];
    aliases: Namespace[];
    rooms: Namespace[];
  };
}

export interface RegistrationOptions {
  /** Overrides appservice.address as the URL the homeserver calls. */
  url?: string;
  /** Set false for homeservers older than Synapse 1.121 that reject the flag. Default true. */
  msc4190?: boolean;
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function templateParts(template: string, placeholder: string): [string, string] {
  const [before = '', after = ''] = template.split(`{${placeholder}}`);
  return [before, after];
}

/** `^@whatsapp_.+:example\.org$` from `whatsapp_{userid}`. */
function namespaceRegex(sigil: string, template: string, placeholder: string, domain: string): string {
  const [before, after] = templateParts(template, placeholder);
  return `^${sigil}${escapeRegex(before)}.+${escapeRegex(after)}:${escapeRegex(domain)}$`;
}

export function buildRegistration(config: CoreConfig, opts: RegistrationOptions = {}): Registration {
  const { appservice, homeserver } = config;
  for (const key of ['as_token', 'hs_token'] as const) {
    if (appservice[key] === GENERATE) {
      throw new ConfigError('Cannot build the registration:', [{ path: `appservice.${key}`, message: 'still "generate"; fill in secrets first (fillGeneratedSecrets)' }]);
    }
  }
  const ephemeral = appservice.ephemeral_events;
  return {
    id: appservice.id,
    url: opts.url ?? appservice.address,
    as_token: appservice.as_token,
    hs_token: appservice.hs_token,
    sender_localpart: appservice.bot.username,
    rate_limited: false,
    receive_ephemeral: ephemeral,
    'de.sorunome.msc2409.push_ephemeral': ephemeral,
    'org.matrix.msc3202': true,
    'io.element.msc4190': opts.msc4190 ?? true,
    namespaces: {
      users: [
        { regex: `^@${escapeRegex(appservice.bot.username)}:${escapeRegex(homeserver.domain)}$`, exclusive: true },
        { regex: namespaceRegex('@', appservice.username_template, 'userid', homeserver.domain), exclusive: true },
      ],
      aliases: [
        { regex: namespaceRegex('#', appservice.alias_template, 'roomid', homeserver.domain), exclusive: true },
      ],
      rooms: [],
    },
  };
}

/**
 * The double-puppet registration: no URL (the homeserver pushes nothing to it), a non-exclusive
 * namespace over every user of this homeserver, and its own as_token, which the bridge uses to
 * act as a local user whose remote account is logged in. Add it to Synapse beside the main one.
 */
export interface DoublePuppetRegistration {
  id: string;
  url: null;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  rate_limited: false;
  namespaces: { users: Namespace[]; aliases: Namespace[]; rooms: Namespace[] };
}

export function buildDoublePuppetRegistration(config: CoreConfig): DoublePuppetRegistration {
  const token = config.bridge.double_puppet.as_token;
  if (token === GENERATE) {
    throw new ConfigError('Cannot build the double-puppet registration:', [{ path: 'bridge.double_puppet.as_token', message: 'still "generate"; fill in secrets first' }]);
  }
  return {
    id: `${config.appservice.id}-doublepuppet`,
    url: null,
    as_token: token,
    // Unused (nothing is pushed), but Synapse requires one; derived so it is stable and unique.
    hs_token: `${token.slice(0, 16)}-unused-${config.appservice.id}`,
    sender_localpart: `${config.appservice.bot.username}-doublepuppet`,
    rate_limited: false,
    namespaces: { users: [{ regex: `@.*:${escapeRegex(config.homeserver.domain)}`, exclusive: false }], aliases: [], rooms: [] },
  };
}

export function renderRegistrationYaml(reg: Registration | DoublePuppetRegistration): string {
  const header = [
    `# Appservice registration for ${reg.id}, generated from its config (-g).`,
    '# Add this file to app_service_config_files in homeserver.yaml; it holds secrets.',
  ].join('\n');
  return `${header}\n${stringify(reg, { lineWidth: 0 })}`;
}

export function botUserId(config: CoreConfig): string {
  return `@${config.appservice.bot.username}:${config.homeserver.domain}`;
}

/** Longest user id the spec allows, in bytes. */
const MAX_USER_ID_BYTES = 255;

/** The Matrix user id of the ghost for a remote user id; throws if the id is empty or too long. */
export function ghostUserId(config: CoreConfig, remoteUserId: string): string {
  if (remoteUserId === '') throw new Error('ghostUserId: empty remote user id');
  const [before, after] = templateParts(config.appservice.username_template, 'userid');
  const mxid = `@${before}${encodeLocalpart(remoteUserId)}${after}:${config.homeserver.domain}`;
  if (Buffer.byteLength(mxid) > MAX_USER_ID_BYTES) {
    throw new Error(`ghostUserId: user id for remote id of ${remoteUserId.length} characters exceeds ${MAX_USER_ID_BYTES} bytes`);
  }
  return mxid;
}

/** The remote user id a ghost user id stands for, or undefined if it is not one of ours. */
export function parseGhostUserId(config: CoreConfig, mxid: string): string | undefined {
  const suffix = `:${config.homeserver.domain}`;
  if (!mxid.startsWith('@') || !mxid.endsWith(suffix)) return undefined;
  const localpart = mxid.slice(1, -suffix.length);
  const [before, after] = templateParts(config.appservice.username_template, 'userid');
  if (localpart.length <= before.length + after.length) return undefined;
  if (!localpart.startsWith(before) || !localpart.endsWith(after)) return undefined;
  const encoded = localpart.slice(before.length, localpart.length - after.length);
  const id = decodeLocalpart(encoded);
  return id === '' ? undefined : id;
}
