/**
 * Login steps on the wire, in the shape mautrix's provisioning clients read: the step's parameters
 * sit under a key named after its type (`user_input`, `cookies`, `display_and_wait`, `complete`).
 * A QR step carries the raw QR payload in `display_and_wait.data`; the client renders it.
 * Also the checks a submitted step's values must pass before the connector sees them.
 */
import type { LoginCookieField, LoginInputField, LoginStep } from '../network/index.js';
import { ApiError } from './errors.js';

export function stepToJson(loginProcessId: string, step: LoginStep): Record<string, unknown> {
  const base = { login_id: loginProcessId, type: step.type, step_id: step.stepId, instructions: step.instructions };
  switch (step.type) {
    case 'user_input':
      return { ...base, user_input: { fields: step.fields.map(inputFieldJson) } };
    case 'cookies':
      return { ...base, cookies: { url: step.url, fields: step.fields.map(cookieFieldJson) } };
    case 'display_and_wait':
      return {
        ...base,
        display_and_wait: { type: step.display.type, ...(step.display.data !== undefined ? { data: step.display.data } : {}) },
      };
    case 'complete':
      return { ...base, complete: { user_login_id: step.complete.userLoginId, remote_name: step.complete.remoteName } };
  }
}

function inputFieldJson(f: LoginInputField): Record<string, unknown> {
  return {
    type: f.type, id: f.id, name: f.name,
    ...(f.description ? { description: f.description } : {}),
    ...(f.pattern ? { pattern: f.pattern } : {}),
  };
}

function cookieFieldJson(f: LoginCookieField): Record<string, unknown> {
  const source = f.source.type === 'cookie'
    ? { type: 'cookie', name: f.source.name, cookie_domain: f.source.domain }
    : { type: f.source.type, name: f.source.name };
  return { id: f.id, required: f.required, sources: [source], ...(f.pattern ? { pattern: f.pattern } : {}) };
}

function matches(pattern: string | undefined, value: string): boolean {
  if (!pattern) return true;
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return true; // a connector's broken pattern is not the caller's fault; the connector still validates
  }
}

/**
 * Checks submitted values against the step's fields: no unknown fields, every required field
 * given and non-empty, patterns matched. Errors name the field, never the value.
 */
export function checkStepValues(step: LoginStep, values: Record<string, string>): void {
  if (step.type !== 'user_input' && step.type !== 'cookies') return;
  const fields: Array<{ id: string; required: boolean; pattern?: string; label: string }> = step.type === 'user_input'
    ? step.fields.map((f) => ({ id: f.id, required: true, pattern: f.pattern, label: f.name }))
    : step.fields.map((f) => ({ id: f.id, required: f.required, pattern: f.pattern, label: f.source.name }));
  const known = new Set(fields.map((f) => f.id));
  const unknown = Object.keys(values).filter((k) => !known.has(k));
  if (unknown.length) throw new ApiError(400, 'M_BAD_JSON', `Unknown field(s) for this step: ${unknown.slice(0, 5).map((k) => k.slice(0, 64)).join(', ')}`);
  for (const f of fields) {
    const v = values[f.id];
    if (v === undefined || v === '') {
      if (f.required) throw new ApiError(400, 'M_MISSING_PARAM', `Field "${f.id}" (${f.label}) is required`);
      continue;
    }
    if (!matches(f.pattern, v)) throw new ApiError(400, 'M_INVALID_PARAM', `Field "${f.id}" (${f.label}) does not have the expected format`);
  }
}
