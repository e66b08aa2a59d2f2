/* global document, setTimeout, clearTimeout */
/**
 * The login page: sign in with a Matrix account (password at the homeserver, or a pasted access
 * token), then list the person's logins on this bridge, start a login flow and follow it, log
 * out. Everything after sign-in goes through the bridge's provisioning API with the token.
 */
import { ApiError, BridgeApi, homeserver, loadConfig, session } from './api.js';
import { byId, el, hide, show } from './dom.js';
import { LoginRun } from './login-run.js';
import { renderLogins, SETTLING_STATES } from './logins.js';

const state = {
  config: undefined,
  api: undefined,
  run: undefined,
  loginsTimer: undefined,
  /** Whether a listed login is in a state that changes by itself soon. */
  settling: false,
  /** Until when the list is refreshed often (just after a login completed). */
  fastUntil: 0,
  /** Bumped on sign-out, so answers to an older session are dropped. */
  generation: 0,
};

function showError(message) {
  hide('status');
  const box = byId('error');
  box.textContent = message;
  box.hidden = false;
}

function showStatus(message) {
  hide('error');
  const box = byId('status');
  box.textContent = message;
  box.hidden = false;
}

function clearMessages() {
  hide('error', 'status');
}

function describe(err) {
  if (err instanceof ApiError) return err.message;
  return 'Something went wrong; try again.';
}

async function boot() {
  try {
    state.config = await loadConfig();
  } catch (err) {
    hide('loading');
    showError(`The bridge did not answer: ${describe(err)}`);
    return;
  }
  const { network, server_name: serverName, homeserver_url: hsUrl } = state.config;
  document.title = `Log in to ${network.displayname}`;
  byId('title').textContent = `Log in to ${network.displayname}`;
  byId('subtitle').textContent = `Tributary ${network.displayname} bridge for ${serverName}`;
  byId('hs-name').textContent = hsUrl;
  byId('password-form').addEventListener('submit', onPasswordSignIn);
  byId('token-form').addEventListener('submit', onTokenSignIn);
  byId('sign-out').addEventListener('click', () => void signOut());
  byId('step-cancel').addEventListener('click', cancelRun);
  const token = session.token;
  if (token) await enter(token, { restoring: true });
  else showSignIn();
}

function showSignIn() {
  hide('loading', 'account', 'logins-section', 'flows-section', 'step-section');
  show('signin');
}

async function onPasswordSignIn(event) {
  event.preventDefault();
  clearMessages();
  const form = event.currentTarget;
  const user = byId('mx-user').value.trim();
  const password = byId('mx-password').value;
  setBusy(form, true);
  try {
    const deviceName = `${state.config.network.displayname} bridge login page`;
    const { token } = await homeserver.passwordLogin(state.config.homeserver_url, user, password, deviceName);
    byId('mx-password').value = '';
    await enter(token, { owned: true });
  } catch (err) {
    showError(`Sign-in failed: ${describe(err)}`);
    byId('mx-password').focus();
  } finally {
    setBusy(form, false);
  }
}

async function onTokenSignIn(event) {
  event.preventDefault();
  clearMessages();
  const form = event.currentTarget;
  const input = byId('mx-token');
  const token = input.value.trim();
  setBusy(form, true);
  try {
    if (await enter(token, { owned: false })) input.value = '';
    else input.focus();
  } finally {
    setBusy(form, false);
  }
}

function setBusy(form, busy) {
  for (const b of form.querySelectorAll('button')) b.disabled = busy;
}

/** Checks the token with the bridge (whoami) and shows the signed-in page; false if refused. */
async function enter(token, { owned = false, restoring = false } = {}) {
  const api = new BridgeApi(state.config.provisioning_url, token);
  let who;
  try {
    who = await api.whoami();
  } catch (err) {
    // A token this page made and the bridge refuses is of no further use: log it out.
    if (owned) homeserver.logout(state.config.homeserver_url, token).catch(() => undefined);
    session.clear();
    showSignIn();
    showError(signInError(err, restoring));
    return false;
  }
  if (!restoring) session.save(token, owned);
  state.api = api;
  byId('account-user').textContent = who.user_id;
  hide('loading', 'signin');
  show('account', 'logins-section', 'flows-section');
  renderLoginList(who.logins ?? []);
  scheduleLogins();
  await loadFlows();
  byId('logins-title').focus();
  return true;
}

function signInError(err, restoring) {
  if (!(err instanceof ApiError)) return `Sign-in failed: ${describe(err)}`;
  if (err.status === 401) {
    return restoring
      ? 'Your Matrix session has ended. Sign in again.'
      : `Sign-in failed: the access token was not accepted (${err.message}). Check that you copied all of it, or sign in with your password.`;
  }
  if (err.status === 403) return `This Matrix account cannot use this bridge: ${err.message}`;
  return `The bridge could not check your sign-in: ${err.message}`;
}

async function signOut(message = 'You are signed out.') {
  state.generation++;
  state.run?.cancel();
  state.run = undefined;
  clearTimeout(state.loginsTimer);
  const { token, owned } = session;
  session.clear();
  state.api = undefined;
  byId('logins').replaceChildren();
  byId('flows').replaceChildren();
  byId('step-body').replaceChildren();
  byId('account-user').textContent = '';
  // The token this page made at sign-in is logged out at the homeserver too; a pasted one is the
  // person's own and stays valid.
  if (owned && token) await homeserver.logout(state.config.homeserver_url, token).catch(() => undefined);
  showSignIn();
  showStatus(message);
  byId('signin-title').focus();
}

async function loadFlows() {
  const generation = state.generation;
  let flows;
  try {
    ({ flows } = await state.api.flows());
  } catch (err) {
    if (generation === state.generation) showError(`Could not load the ways to log in: ${describe(err)}`);
    return;
  }
  if (generation !== state.generation) return;
  byId('flows').replaceChildren(...flows.map((flow) => el('li', {},
    el('button', { type: 'button', class: 'flow-button', dataset: { flow: flow.id }, onclick: () => startRun(flow) },
      el('span', { class: 'flow-name', text: flow.name }),
      el('span', { class: 'flow-description', text: flow.description })))));
}

function startRun(flow) {
  clearMessages();
  state.run?.cancel();
  hide('flows-section');
  show('step-section');
  byId('step-title').textContent = flow.name;
  byId('step-body').replaceChildren(el('p', { class: 'muted', text: 'Starting…' }));
  byId('step-title').focus();
  const run = new LoginRun(state.api, flow, {
    render(node, _step, first) {
      if (state.run !== run) return;
      byId('step-body').replaceChildren(node);
      if (first) byId('step-title').focus();
    },
    complete(step) {
      if (state.run !== run) return;
      endRun();
      const name = step.complete?.remote_name || step.complete?.user_login_id || 'your account';
      showStatus(`Logged in as ${name}.`);
      state.fastUntil = Date.now() + 30_000;
      void refreshLogins().then(scheduleLogins);
      byId('logins-title').focus();
    },
    fail(err) {
      if (state.run !== run) return;
      endRun();
      if (err instanceof ApiError && err.status === 401) return void signOut('Your Matrix session has ended. Sign in again.');
      showError(`The login did not go through: ${describe(err)}\nStart again when you are ready.`);
      byId('flows-title').focus();
    },
    error(message) {
      if (state.run === run) showError(message);
    },
  });
  state.run = run;
  void run.start();
}

function endRun() {
  state.run = undefined;
  byId('step-body').replaceChildren();
  hide('step-section');
  show('flows-section');
}

function cancelRun() {
  state.run?.cancel();
  endRun();
  showStatus('The login was cancelled.');
  byId('flows').querySelector('button')?.focus();
}

function renderLoginList(logins) {
  state.settling = logins.some((l) => SETTLING_STATES.has(l.state?.state_event ?? 'STARTING'));
  renderLogins(byId('logins'), byId('logins-empty'), logins, (login, button) => void logOut(login, button));
}

async function refreshLogins() {
  const generation = state.generation;
  try {
    const { logins } = await state.api.logins();
    if (generation === state.generation) renderLoginList(logins);
  } catch (err) {
    if (generation !== state.generation) return;
    if (err instanceof ApiError && err.status === 401) await signOut('Your Matrix session has ended. Sign in again.');
  }
}

/** Refreshes the list every 30 s, every 3 s while a login is settling or has just been added. */
function scheduleLogins() {
  clearTimeout(state.loginsTimer);
  if (!state.api) return;
  const generation = state.generation;
  const fast = state.settling || Date.now() < state.fastUntil;
  state.loginsTimer = setTimeout(async () => {
    if (generation !== state.generation) return;
    if (!document.hidden) await refreshLogins();
    if (generation === state.generation) scheduleLogins();
  }, fast ? 3000 : 30_000);
}

async function logOut(login, button) {
  clearMessages();
  button.disabled = true;
  const name = login.name || login.id;
  try {
    await state.api.logout(login.id);
    showStatus(`Logged out of ${name}.`);
  } catch (err) {
    showError(`Could not log out of ${name}: ${describe(err)}`);
    button.disabled = false;
    return;
  }
  await refreshLogins();
  byId('logins-title').focus();
}

void boot();
