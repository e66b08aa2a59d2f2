import { randomBytes } from 'node:crypto';
import { Document, parseDocument, isScalar, type Scalar } from 'yaml';
import { ConfigError, type ConfigProblem } from './errors.js';
import { GENERATE, type CoreConfig } from './schema.js';

/** The config keys whose literal value "generate" `-g` replaces with a fresh token. */
export const GENERATED_SECRET_PATHS = [
  ['appservice', 'as_token'],
  ['appservice', 'hs_token'],
  ['provisioning', 'shared_secret'],
  ['bridge', 'double_puppet', 'as_token'],
] as const;

/** 64 hex characters (256 bits) from the system CSPRNG. */
export function generateToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Replaces the value `generate` of the secret keys in a config file's text with fresh tokens.
 * Present values are spliced in place by their source range, so comments, quoting, order and
 * blank lines stay byte-for-byte; a key missing from the file (it defaults to "generate") is
 * added through the yaml Document API. Anything but a parse error leaves other keys alone.
 */
export function fillGeneratedSecrets(yamlText: string): { text: string; changed: boolean } {
  const doc = parseDocument(yamlText);
  if (doc.errors.length > 0) {
    throw new ConfigError('Config file is not valid YAML:', doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0] ?? e.message })));
  }
  const splices: { start: number; end: number; token: string }[] = [];
  const missing: (readonly string[])[] = [];
  for (const path of GENERATED_SECRET_PATHS) {
    const node = doc.getIn(path, true);
    if (node === undefined || (isScalar(node) && node.value === null && !doc.hasIn(path))) {
      missing.push(path);
      continue;
    }
    const range = isScalar(node) ? (node as Scalar).range : undefined;
    if (isScalar(node) && node.value === GENERATE && range) {
      splices.push({ start: range[0], end: range[1], token: generateToken() });
    }
  }
  let text = yamlText;
  for (const s of splices.sort((a, b) => b.start - a.start)) {
    text = text.slice(0, s.start) + s.token + text.slice(s.end);
  }
  if (missing.length === 0) return { text, changed: splices.length > 0 };

  const updated = parseDocument(text);
  if (updated.contents === null) {
    // Only comments (or nothing): append the keys rather than re-render the comments.
    const added = new Document({});
    for (const path of missing) added.setIn(path, generateToken());
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    return { text: `${text}${sep}${added.toString()}`, changed: true };
  }
  for (const path of missing) {
    try {
      updated.setIn(path, generateToken());
    } catch {
      // e.g. `appservice:` with no value: the parent is not a mapping we can add to.
      throw new ConfigError('Cannot fill in secrets:', [{ path: path.join('.'), message: `${path[0] ?? ''} is not a mapping` }]);
    }
  }
  return { text: updated.toString(), changed: true };
}

/**
 * Throws when a secret is still "generate" at run time: the bridge would otherwise start
 * with a token that is public knowledge.
 */
export function assertSecretsGenerated(config: CoreConfig): void {
  const problems: ConfigProblem[] = [];
  const hint = 'still "generate"; run with -g to generate the registration and fill in secrets';
  if (config.appservice.as_token === GENERATE) problems.push({ path: 'appservice.as_token', message: hint });
  if (config.appservice.hs_token === GENERATE) problems.push({ path: 'appservice.hs_token', message: hint });
  if (config.provisioning.enabled && config.provisioning.shared_secret === GENERATE) {
    problems.push({ path: 'provisioning.shared_secret', message: hint });
  }
  if (config.appservice.as_token === config.appservice.hs_token && config.appservice.as_token !== GENERATE) {
    problems.push({ path: 'appservice.hs_token', message: 'must differ from as_token' });
  }
  if (problems.length > 0) throw new ConfigError('Configuration is not ready to run:', problems);
}
