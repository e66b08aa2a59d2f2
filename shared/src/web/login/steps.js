/* global URL */
/**
 * The login steps as parts of the page. `renderStep(step, ctx)` returns `{ node, update }`:
 * `update(step)` takes a newer step of the same kind in place (a rotated QR code) and answers
 * false when the part must be built again. What a step asks for comes from the step itself (its
 * instructions, fields, descriptions, cookie sources); the only fixed text is generic help.
 *
 * ctx: { submit(values): Promise, qrImage(data): Promise<Blob>, error(message) }
 */
import { el, uniqueId } from './dom.js';

/** Input type and autocomplete hint by field type. */
const INPUTS = {
  phone_number: { type: 'tel', autocomplete: 'tel' },
  email: { type: 'email', autocomplete: 'email' },
  password: { type: 'password', autocomplete: 'off' },
  token: { type: 'password', autocomplete: 'off' },
  code: { type: 'text', autocomplete: 'one-time-code' },
  username: { type: 'text', autocomplete: 'off' },
  text: { type: 'text', autocomplete: 'off' },
};

export function renderStep(step, ctx) {
  switch (step.type) {
    case 'user_input': return userInputView(step, ctx);
    case 'cookies': return cookiesView(step, ctx);
    case 'display_and_wait': return displayView(step, ctx);
    default: return { node: el('p', { text: step.instructions || 'Continue on your device.' }), update: () => false };
  }
}

const instructions = (step) => (step.instructions ? el('p', { class: 'instructions', text: step.instructions }) : null);

/** A pattern the bridge also checks; a pattern this browser cannot compile is left to the bridge. */
function matches(pattern, value) {
  if (!pattern) return true;
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return true;
  }
}

/**
 * A form of fields. `fields`: [{ id, label, control, pattern, required, hintText }]. On submit:
 * values checked (required, pattern), then `ctx.submit`; errors from the bridge that leave the
 * step open are shown and the form stays.
 */
function fieldForm(fields, ctx, submitLabel) {
  const button = el('button', { type: 'submit', text: submitLabel });
  const form = el('form', {},
    fields.map((f) => el('div', { class: 'field' },
      el('label', { for: f.control.id }, f.label, f.required ? el('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null),
      f.control,
      f.hint ?? null)),
    el('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = {};
    for (const f of fields) {
      const value = f.control.value.trim();
      f.control.removeAttribute('aria-invalid');
      if (!value) {
        if (!f.required) continue;
        return invalid(f, `${f.label} is required.`);
      }
      if (!matches(f.pattern, value)) {
        return invalid(f, `${f.label} does not have the expected format.${f.hintText ? ` ${f.hintText}` : ''}`);
      }
      values[f.id] = value;
    }
    button.disabled = true;
    try {
      await ctx.submit(values);
    } catch (err) {
      ctx.error(err.message);
    } finally {
      button.disabled = false;
    }
  });
  function invalid(f, message) {
    f.control.setAttribute('aria-invalid', 'true');
    ctx.error(message);
    f.control.focus();
  }
  return form;
}

function userInputView(step, ctx) {
  const fields = step.user_input.fields.map((field) => {
    const id = uniqueId(`field-${field.id}`);
    const kind = INPUTS[field.type] ?? INPUTS.text;
    const hint = field.description ? el('p', { class: 'hint', id: `${id}-hint`, text: field.description }) : undefined;
    const control = el('input', {
      id, name: field.id, type: kind.type, autocomplete: kind.autocomplete, required: true, spellcheck: 'false',
      autocapitalize: 'none', 'aria-describedby': hint ? hint.id : undefined,
    });
    return { id: field.id, label: capitalise(field.name || field.id), control, hint, hintText: field.description, pattern: field.pattern, required: true };
  });
  return { node: el('div', {}, instructions(step), fieldForm(fields, ctx, 'Continue')), update: () => false };
}

/** Generic help for finding a value in one's own browser, by where the value lives. */
function sourceHelp(source, site) {
  const tools = 'open the browser\'s developer tools (F12, or Ctrl+Shift+I; on a Mac Cmd+Option+I)';
  const on = site ? ` while signed in at ${site}` : '';
  switch (source?.type) {
    case 'cookie':
      return `The cookie "${source.name}"${source.cookie_domain ? ` of ${source.cookie_domain}` : ''}: ${tools}${on}, `
        + `then Application > Cookies (Chrome, Edge) or Storage > Cookies (Firefox), and copy the value of "${source.name}".`;
    case 'local_storage':
      return `The local storage entry "${source.name}": ${tools}${on}, then Application > Local storage (Chrome, Edge) `
        + `or Storage > Local storage (Firefox), and copy the value of "${source.name}".`;
    case 'request_header':
      return `The request header "${source.name}": ${tools}${on}, open the Network tab, reload the page, `
        + `select a request to the site and copy the value of its "${source.name}" header.`;
    default:
      return undefined;
  }
}

function cookiesView(step, ctx) {
  const site = step.cookies.url;
  const fields = step.cookies.fields.map((field) => {
    const source = field.sources?.[0];
    const id = uniqueId(`cookie-${field.id}`);
    const help = sourceHelp(source, site);
    const hint = help ? el('p', { class: 'hint', id: `${id}-hint`, text: help }) : undefined;
    const control = el('textarea', {
      id, name: field.id, rows: '2', required: field.required, spellcheck: 'false', autocomplete: 'off',
      autocapitalize: 'none', 'aria-describedby': hint ? hint.id : undefined,
    });
    return { id: field.id, label: source?.name ?? field.id, control, hint, pattern: field.pattern, required: field.required };
  });
  const intro = el('p', { class: 'hint' },
    'These values sign the bridge in as you; they go to this bridge only. ',
    site ? ['Sign in at ', el('a', { href: site, target: '_blank', rel: 'noopener noreferrer', class: 'cookie-site', text: site }), ' in this browser first.'] : null);
  return { node: el('div', {}, instructions(step), intro, fieldForm(fields, ctx, 'Log in')), update: () => false };
}

/** "ABCD1234" -> "ABCD-1234", as phones show pairing codes; other codes as they are. */
function formatCode(code) {
  return /^[A-Za-z0-9]{8}$/.test(code) ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}

function displayView(step, ctx) {
  const kind = step.display_and_wait.type;
  const waiting = el('p', { class: 'waiting' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Waiting for you to finish on your phone…');
  const text = instructions(step);
  if (kind === 'qr') {
    const img = el('img', {
      class: 'qr', id: 'qr-image', width: '320', height: '320',
      alt: 'QR code to scan with your phone. It is replaced by a new one every so often.',
    });
    const qr = qrUpdater(img, ctx);
    qr.show(step.display_and_wait.data);
    const node = el('div', {}, text, el('div', { class: 'qr-frame' }, img), waiting);
    return {
      node,
      update(next) {
        if (next.display_and_wait?.type !== 'qr') return false;
        if (text && next.instructions) text.textContent = next.instructions;
        qr.show(next.display_and_wait.data);
        return true;
      },
    };
  }
  if (kind === 'code') {
    const code = formatCode(step.display_and_wait.data ?? '');
    const spelt = code.split('').filter((c) => c !== '-').join(' ');
    const codeNode = el('p', { class: 'pairing-code', id: 'pairing-code', 'aria-label': `Code: ${spelt}`, text: code });
    return { node: el('div', {}, text, codeNode, waiting), update: () => false };
  }
  return { node: el('div', {}, text, waiting), update: () => false };
}

/**
 * Draws QR payloads into `img`, newest wins; each image is an object URL, freed when replaced.
 * `data-qr-shown` counts the codes drawn so far (tests and screen readers can tell it changed).
 */
function qrUpdater(img, ctx) {
  let wanted = 0;
  let shown = 0;
  let current;
  let lastData;
  return {
    async show(data) {
      // A display_and_wait answer that times out repeats the step: nothing to redraw.
      if (!data || data === lastData) return;
      lastData = data;
      const seq = ++wanted;
      let blob;
      try {
        blob = await ctx.qrImage(data);
      } catch (err) {
        if (seq === wanted) ctx.error(`The QR code could not be drawn: ${err.message}`);
        return;
      }
      if (seq !== wanted) return;
      const url = URL.createObjectURL(blob);
      img.addEventListener('load', () => {
        if (current) URL.revokeObjectURL(current);
        current = url;
        img.dataset.qrShown = String(++shown);
      }, { once: true });
      img.src = url;
    },
  };
}

function capitalise(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
