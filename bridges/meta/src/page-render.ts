/**
 * The emulator's inbox and login pages: the same facts `parsePageConfig` reads, in our own
 * markup (a minimal page in the module-payload shape, not a copy of Meta's HTML).
 */
import type { MetaPlatform } from './cookies.js';

export interface RenderPageInput {
  platform: MetaPlatform;
  fbDtsg: string;
  lsd: string;
  versionId: string;
  accountId: string;
  appId: string;
  userName: string;
  dgwAppId: string;
  deviceId: string;
  syncParams: Record<string, string>;
  /** A step program (`[1, ...]`) to embed as the page's initial LightSpeed table. */
  initialProgram?: unknown;
}

/** JSON for inside a `<script>`: no `<` at all, so no `</script>` can end it early. */
function scriptJSON(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderPageConfig(input: RenderPageInput): string {
  const define: unknown[] = [
    ['DTSGInitialData', [], { token: input.fbDtsg }, 258],
    ['LSD', [], { token: input.lsd }, 323],
    ['CurrentUserInitialData', [], { ACCOUNT_ID: input.accountId, USER_ID: input.accountId, NAME: input.userName, APP_ID: input.appId }, 270],
    ['DGWWebConfig', [], { appId: input.dgwAppId }, 6001],
    [input.platform === 'instagram' ? 'IGDMqttWebDeviceID' : 'MqttWebDeviceID', [], { clientID: input.deviceId }, 5003],
    ['LSPlatformMessengerSyncParams', [], input.syncParams, 5793],
  ];
  if (input.platform === 'instagram') {
    define.push(['PolarisViewer', [], { data: { id: input.accountId, full_name: input.userName } }, 6002]);
  }
  const serverJS = { require: [['ScheduledServerJS', 'handle', null, [{ __bbox: { define } }]]] };
  const scripts = [`<script type="application/json" data-sjs>${scriptJSON(serverJS)}</script>`];
  if (input.initialProgram !== undefined) {
    const payload = JSON.stringify({ step: input.initialProgram });
    const request = { dependencies: [], experiment_value: null, payload, target: null };
    const key = input.platform === 'instagram' ? 'lightspeed_web_request_for_igd' : 'lightspeed_web_request';
    const prefetch = { require: [['RelayPrefetchedStreamCache', 'next', [], ['adp_inbox_preloader', { __bbox: { complete: true, result: { data: { viewer: { [key]: request } } } } }]]] };
    scripts.push(`<script type="application/json" data-sjs>${scriptJSON(prefetch)}</script>`);
  }
  scripts.push(`<script>__d("LSVersion",[],(function(a,b,c,d,e,f){e.exports="${input.versionId.replace(/\D/g, '')}"}),66);</script>`);
  const title = input.platform === 'instagram' ? 'Instagram • Chats' : 'Messenger';
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body><div id="inbox">${escapeHtml(input.userName)}</div>\n${scripts.join('\n')}\n</body></html>\n`;
}

/** A login page: a form and, on Messenger, the anonymous user's `"USER_ID":"0"`. */
export function renderLoginPage(platform: MetaPlatform): string {
  const anonymous = { require: [['ScheduledServerJS', 'handle', null, [{ __bbox: { define: [['CurrentUserInitialData', [], { ACCOUNT_ID: '0', USER_ID: '0', APP_ID: '0' }, 270]] } }]]] };
  const form = platform === 'instagram'
    ? '<form id="loginForm" method="post"><input name="username"><input name="password" type="password"></form>'
    : '<form id="login_form" method="post"><input name="email"><input name="pass" type="password"></form>';
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Log in</title></head>\n<body>${form}\n<script type="application/json" data-sjs>${scriptJSON(anonymous)}</script>\n</body></html>\n`;
}

/** A checkpoint page (served at /checkpoint/ or Instagram's /challenge/). */
export function renderCheckpointPage(platform: MetaPlatform): string {
  const what = platform === 'instagram' ? 'challenge' : 'checkpoint';
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Security ${what}</title></head>\n<body><p>Please confirm your identity in the app.</p></body></html>\n`;
}
