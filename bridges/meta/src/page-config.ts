/**
 * The inbox page's configuration (Messenger: facebook.com/messages or messenger.com; Instagram:
 * instagram.com/direct/inbox/). Facts (research 3.2 and the public module format): the page's
 * `<script type="application/json">` tags hold server-JS payloads whose `__bbox.define` entries are
 * `[moduleName, dependencies, value, id]`; the modules we read are DTSGInitialData (fb_dtsg), LSD,
 * CurrentUserInitialData (ACCOUNT_ID, USER_ID, NAME, APP_ID), DGWWebConfig (appId),
 * MqttWebDeviceID / IGDMqttWebDeviceID (clientID), PolarisViewer (Instagram's viewer) and
 * LSPlatformMessengerSyncParams; the LightSpeed schema version is the export of the `LSVersion`
 * JS module; an initial LightSpeed table comes as a `lightspeed_web_request` payload; a page with
 * `"USER_ID":"0"` belongs to nobody (not logged in).
 *
 * Parsing is bounded (page size, nesting) and fails only with a `MetaPageError` whose code says
 * what the page is: a login page, a checkpoint, a consent screen, or a page missing fields.
 * Errors name fields, never values (fb_dtsg and lsd are session tokens).
 */
import { MetaError } from './errors.js';
import type { MetaPlatform } from './cookies.js';
import { parseLSResponse } from './lightspeed/response.js';
import type { LSTables } from './lightspeed/tables.js';

export type MetaPageErrorCode =
  /** The page is the login form: the cookies are not (or no longer) a session. */
  | 'login-required'
  /** Meta wants the person to pass a security checkpoint in a browser first. */
  | 'checkpoint'
  /** Instagram's challenge (the same thing under its name). */
  | 'challenge'
  /** A terms or privacy consent screen must be accepted in a browser first. */
  | 'consent'
  /** A logged-in page without a field the client needs (Meta changed the page?). */
  | 'missing-field'
  /** Not HTML we can read (too large, broken JSON in every payload, ...). */
  | 'malformed';

export class MetaPageError extends MetaError<MetaPageErrorCode> {
  readonly area = 'page-config' as const;
  /** For `missing-field`: the names of the missing fields. */
  readonly missing: readonly string[];

  constructor(code: MetaPageErrorCode, message: string, missing: string[] = []) {
    super(code, message);
    this.missing = missing;
  }
}

export interface MetaPageConfig {
  platform: MetaPlatform;
  /** DTSGInitialData.token: the CSRF token of form posts. Never log it. */
  fbDtsg: string;
  /** LSD.token (header x-fb-lsd); absent on some pages. Never log it. */
  lsd: string | undefined;
  /** The LightSpeed schema version (decimal), from the LSVersion module. */
  versionId: string;
  /** The logged-in account (CurrentUserInitialData.ACCOUNT_ID, or PolarisViewer's id). */
  accountId: string;
  /** CurrentUserInitialData.APP_ID: the app_id of LightSpeed requests. */
  appId: string;
  userName: string | undefined;
  /** DGWWebConfig.appId: the x-dgw-appid of the gateway socket. */
  dgwAppId: string;
  /** MqttWebDeviceID.clientID (IGDMqttWebDeviceID on Instagram): the x-dgw-deviceid. */
  deviceId: string;
  /** LSPlatformMessengerSyncParams: sync params per database family (JSON text values). */
  syncParams: Record<string, string>;
  /** The LightSpeed table the page embeds, interpreted; undefined when the page has none. */
  initialTables: LSTables | undefined;
}

export interface ParsePageInput {
  platform: MetaPlatform;
  html: string;
  /** The URL the page was finally served from (after redirects): login and checkpoint pages are told by it. */
  url: string;
}

export const MAX_PAGE_CHARS = 16 * 1024 * 1024;
const MAX_WALK_DEPTH = 256;
const LS_VERSION_RE = /__d\("LSVersion"[^)]+\)\{e\.exports="(\d{1,19})"\}/;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the page is, told by where it was served from and its markers (before reading fields). */
function classify(input: ParsePageInput): MetaPageError | undefined {
  let path: string;
  try {
    path = new URL(input.url).pathname.toLowerCase();
  } catch {
    path = '';
  }
  const label = input.platform === 'messenger' ? 'Messenger' : 'Instagram';
  if (path.startsWith('/checkpoint')) return new MetaPageError('checkpoint', `${label} asks for a security checkpoint: open it in a browser, pass it, then copy the cookies again`);
  if (path.startsWith('/challenge')) return new MetaPageError('challenge', `${label} asks for a security challenge: open it in a browser, pass it, then copy the cookies again`);
  if (path.includes('/consent')) return new MetaPageError('consent', `${label} asks to accept its terms: open it in a browser, accept them, then copy the cookies again`);
  const loginPath = path.startsWith('/login') || path.startsWith('/accounts/login');
  const loginForm = /<form\b[^>]*\bid="login_?form"/i.test(input.html);
  const nobody = input.platform === 'messenger' && input.html.includes('"USER_ID":"0"');
  if (loginPath || loginForm || nobody) {
    return new MetaPageError('login-required', `${label} shows its login page: the cookies are not a logged-in session (expired or logged out); copy them again`);
  }
  return undefined;
}

interface Collected {
  defines: Map<string, Record<string, Json>>;
  lightspeedPayloads: string[];
}

/** Walks a parsed payload collecting `define` entries and embedded LightSpeed payloads. */
function walk(node: Json, out: Collected, depth: number): void {
  if (depth > MAX_WALK_DEPTH) return;
  if (Array.isArray(node)) {
    for (const child of node) walk(child, out, depth + 1);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'define' && Array.isArray(value)) {
      for (const entry of value) {
        if (Array.isArray(entry) && typeof entry[0] === 'string' && isObject(entry[2]) && !out.defines.has(entry[0])) out.defines.set(entry[0], entry[2]);
      }
    }
    if ((key === 'lightspeed_web_request' || key === 'lightspeed_web_request_for_igd') && isObject(value) && typeof value.payload === 'string') {
      out.lightspeedPayloads.push(value.payload);
    }
    walk(value, out, depth + 1);
  }
}

function scriptContents(html: string): string[] {
  const out: string[] = [];
  const re = /<script\b([^>]*)>([\s\S]*?)<\/script>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const body = m[2]!.trim();
    if (/type="application\/json"/i.test(m[1]!) && body.startsWith('{')) out.push(body);
  }
  return out;
}

const str = (v: Json | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
const numeric = (v: string | undefined): string | undefined => (v !== undefined && /^\d{1,20}$/.test(v) && v !== '0' ? v : undefined);

/** Reads the page's configuration; throws `MetaPageError` for every page that is not a usable inbox. */
export function parsePageConfig(input: ParsePageInput): MetaPageConfig {
  if (typeof input.html !== 'string' || input.html.length > MAX_PAGE_CHARS) throw new MetaPageError('malformed', `the page is not text of at most ${MAX_PAGE_CHARS} characters`);
  const kind = classify(input);
  if (kind) throw kind;
  const collected: Collected = { defines: new Map(), lightspeedPayloads: [] };
  let parsedAny = false;
  for (const text of scriptContents(input.html)) {
    let data: Json;
    try {
      data = JSON.parse(text) as Json;
    } catch {
      continue; // a page has many payloads; one we cannot read is not fatal
    }
    parsedAny = true;
    walk(data, collected, 0);
  }
  if (!parsedAny) throw new MetaPageError('malformed', 'the page has no readable module payloads');
  const d = (name: string) => collected.defines.get(name);
  const user = d('CurrentUserInitialData');
  const viewer = d('PolarisViewer');
  const viewerData = isObject(viewer?.data) ? viewer.data : undefined;
  const device = d('MqttWebDeviceID') ?? d('IGDMqttWebDeviceID');
  const fields = {
    fb_dtsg: str(d('DTSGInitialData')?.token),
    versionId: LS_VERSION_RE.exec(input.html)?.[1],
    accountId: numeric(str(user?.ACCOUNT_ID) ?? str(user?.USER_ID) ?? str(viewerData?.id)),
    appId: numeric(str(user?.APP_ID)),
    'DGWWebConfig.appId': numeric(str(d('DGWWebConfig')?.appId)),
    deviceId: str(device?.clientID),
  };
  const missing = Object.entries(fields).filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length) {
    throw new MetaPageError('missing-field', `the ${input.platform} inbox page lacks ${missing.join(', ')} (has Meta changed its page?)`, missing);
  }
  const syncParams: Record<string, string> = {};
  for (const [k, v] of Object.entries(d('LSPlatformMessengerSyncParams') ?? {})) if (typeof v === 'string') syncParams[k] = v;
  let initialTables: LSTables | undefined;
  for (const payload of collected.lightspeedPayloads) {
    // The embedded payload is the `{name, step}` of a response; wrap it as one.
    let tables: LSTables;
    try {
      tables = parseLSResponse(JSON.stringify({ payload })).result.tables;
    } catch (err) {
      throw new MetaPageError('malformed', `the page's embedded LightSpeed table cannot be read (${(err as Error).message})`);
    }
    initialTables = mergeTables(initialTables ?? {}, tables);
  }
  return {
    platform: input.platform,
    fbDtsg: fields.fb_dtsg!,
    lsd: str(d('LSD')?.token),
    versionId: fields.versionId!,
    accountId: fields.accountId!,
    appId: fields.appId!,
    userName: str(user?.NAME) ?? str(viewerData?.full_name) ?? str(viewerData?.username),
    dgwAppId: fields['DGWWebConfig.appId']!,
    deviceId: fields.deviceId!,
    syncParams,
    initialTables,
  };
}

export function mergeTables(into: LSTables, from: LSTables): LSTables {
  const out = into as Record<string, unknown[]>;
  for (const [name, rows] of Object.entries(from) as Array<[string, unknown[]]>) (out[name] ??= []).push(...rows);
  return into;
}

export { renderPageConfig, renderLoginPage, type RenderPageInput } from './page-render.js';
