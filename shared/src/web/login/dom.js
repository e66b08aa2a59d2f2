/* global document, Node */
/**
 * A tiny DOM builder. Text always goes in as text nodes (never as HTML), so nothing a network,
 * a homeserver or the person typed can become markup.
 */

/**
 * el('button', { class: 'x', onclick: fn, 'aria-label': 'y' }, 'text', child)
 * Attributes: `class`, `text`, `dataset` ({...}), `on<event>` (a listener), anything else as an
 * attribute (true: present, false/null/undefined: left out).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const byId = (id) => document.getElementById(id);

let counter = 0;
/** A page-unique element id, for label/aria-describedby pairs. */
export const uniqueId = (prefix) => `${prefix}-${++counter}`;

/** Shows or hides elements by id. */
export function show(...ids) {
  for (const id of ids) byId(id).hidden = false;
}
export function hide(...ids) {
  for (const id of ids) byId(id).hidden = true;
}
