/* global fetch, sessionStorage, setTimeout, clearTimeout, location, URL */
/**
 * The page's two servers: the bridge (its provisioning API, same origin) and the person's
 * homeserver (password sign-in, sign-out; Synapse answers CORS). Every call carries the Matrix
 * access token as `Authorization: Bearer`; the token is kept in sessionStorage only, so it ends
 * with the tab and never travels in a URL or a cookie.
 */

export class ApiError extends Error {
  /** `status` 0: the server could not be reached. */
  constructor(status, errcode, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errcode = errcode;
  }
}

const TOKEN_KEY = 'tributary.login.token';
const OWNED_KEY = 'tributary.login.owned';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  },
  /** Whether the page made the token (password sign-in), and so should log it out on sign-out. */
  get owned() {
    return sessionStorage.getItem(OWNED_KEY) === '1';
  },
  save(token, owned) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (owned) sessionStorage.setItem(OWNED_KEY, '1');
    else sessionStorage.removeItem(OWNED_KEY);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(OWNED_KEY);
  },
};

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

async function send(url, { method = 'GET', token, body, signal } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await fetch(url, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, 'M_CONNECTION_FAILED', `Cannot reach ${new URL(url, location.href).host}; check your connection and try again.`);
  }
}

async function readJson(res) {
  const text = await res.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return { error: `Unexpected answer (HTTP ${res.status})` };
  }
}

/** A JSON call; 429 is retried after the time the server asks for (a few times), other errors throw ApiError. */
async function call(url, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await send(url, opts);
    const body = await readJson(res);
    if (res.ok) return body;
    if (res.status === 429 && attempt < 3) {
      await sleep(Math.min(Number(body.retry_after_ms) || 1000, 30_000), opts.signal);
      continue;
    }
    throw new ApiError(res.status, body.errcode ?? 'M_UNKNOWN', body.error ?? `HTTP ${res.status}`);
  }
}

/** The bridge's description of itself (config.json beside this page). */
export function loadConfig() {
  return call('config.json');
}

/** The homeserver: password sign-in and sign-out. */
export const homeserver = {
  async passwordLogin(hsUrl, user, password, deviceName) {
    const body = await call(`${hsUrl}/_matrix/client/v3/login`, {
      method: 'POST',
      body: {
        type: 'm.login.password', identifier: { type: 'm.id.user', user }, password,
        initial_device_display_name: deviceName,
      },
    });
    if (typeof body.access_token !== 'string') throw new ApiError(502, 'M_UNKNOWN', 'The homeserver did not return an access token');
    return { token: body.access_token, userId: body.user_id };
  },
  async logout(hsUrl, token) {
    await call(`${hsUrl}/_matrix/client/v3/logout`, { method: 'POST', token, body: {} });
  },
};

const enc = encodeURIComponent;

/** The bridge's provisioning API, as the signed-in person. */
export class BridgeApi {
  constructor(baseUrl, token) {
    this.base = baseUrl;
    this.token = token;
  }

  get(path, signal) {
    return call(`${this.base}${path}`, { token: this.token, signal });
  }

  post(path, body, signal) {
    return call(`${this.base}${path}`, { method: 'POST', token: this.token, body: body ?? {}, signal });
  }

  whoami() { return this.get('/whoami'); }
  flows() { return this.get('/login/flows'); }
  logins() { return this.get('/logins'); }
  start(flowId) { return this.post(`/login/start/${enc(flowId)}`); }
  cancel(processId) { return this.post(`/login/cancel/${enc(processId)}`); }
  logout(loginId) { return this.post(`/logout/${enc(loginId)}`); }

  /** Submits `step`: field values for user_input and cookies, nothing for display_and_wait. */
  submit(step, values, signal) {
    const path = `/login/step/${enc(step.login_id)}/${enc(step.step_id)}/${enc(step.type)}`;
    return call(`${this.base}${path}`, { method: 'POST', token: this.token, signal, body: values });
  }

  /** The QR code for `data` as an SVG blob, drawn by the bridge (qr.svg beside this page). */
  async qrImage(data, signal) {
    const res = await send('qr.svg', { method: 'POST', token: this.token, body: { data }, signal });
    if (!res.ok) {
      const body = await readJson(res);
      throw new ApiError(res.status, body.errcode ?? 'M_UNKNOWN', body.error ?? `HTTP ${res.status}`);
    }
    return res.blob();
  }
}
