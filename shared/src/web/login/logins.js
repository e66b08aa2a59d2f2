/**
 * The person's logins on this bridge with their connection state, and a log-out button each.
 */
import { el } from './dom.js';

const STATE_LABELS = {
  STARTING: 'Starting',
  CONNECTING: 'Connecting',
  CONNECTED: 'Connected',
  BACKFILLING: 'Syncing history',
  TRANSIENT_DISCONNECT: 'Reconnecting',
  BAD_CREDENTIALS: 'Signed out by the network',
  LOGGED_OUT: 'Logged out',
  UNKNOWN_ERROR: 'Error',
};

/** States that change by themselves soon; the page checks again quickly while one is shown. */
export const SETTLING_STATES = new Set(['STARTING', 'CONNECTING', 'BACKFILLING', 'TRANSIENT_DISCONNECT']);

export const stateLabel = (state) => STATE_LABELS[state] ?? state;

/**
 * Renders `logins` (the `logins` array of GET /logins) into the list `ul`; `onLogout(login, button)`
 * runs when its button is pressed.
 */
export function renderLogins(ul, empty, logins, onLogout) {
  empty.hidden = logins.length > 0;
  ul.replaceChildren(...logins.map((login) => {
    const name = login.name || login.id;
    const state = login.state?.state_event ?? 'STARTING';
    const detail = login.state?.message ?? login.state?.error;
    const button = el('button', { type: 'button', class: 'secondary', 'aria-label': `Log out of ${name}`, text: 'Log out' });
    button.addEventListener('click', () => onLogout(login, button));
    return el('li', { dataset: { loginId: login.id } },
      el('div', { class: 'login-info' },
        el('div', {},
          el('span', { class: 'login-name', text: name }),
          el('span', { class: 'state', dataset: { state }, text: stateLabel(state) })),
        el('div', { class: 'login-meta', text: detail ? `${login.id} · ${detail}` : login.id })),
      button);
  }));
}
