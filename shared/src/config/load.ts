import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.js';
import { configErrorMap, toProblems } from './issues.js';
import { collectEnvOverrides, applyEnvOverrides } from './env.js';

export interface ParseOptions {
  /** Where the raw config came from, for the error summary (a file path). */
  source?: string;
}

/**
 * Validates a raw config (parsed YAML, or `{}` for all defaults) after applying TRIBUTARY_*
 * overrides from `env`. Pure: `env` defaults to none, so pass `process.env` explicitly.
 * Throws ConfigError listing every problem; returns the config with all defaults filled in.
 */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, env: NodeJS.ProcessEnv = {}, opts: ParseOptions = {}): z.output<S> {
  const { overrides, problems: envProblems } = collectEnvOverrides(schema, env);
  const applied = applyEnvOverrides(raw ?? {}, overrides);
  const problems: ConfigProblem[] = [...envProblems, ...applied.problems];
  const result = schema.safeParse(applied.value, { reportInput: true, error: configErrorMap });
  if (!result.success) problems.push(...toProblems(result.error.issues, applied.sources));
  if (problems.length > 0 || !result.success) {
    const where = opts.source ? ` in ${opts.source}` : '';
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    throw new ConfigError(`Invalid configuration${where} (${count}):`, problems);
  }
  return result.data;
}

/** Parses YAML text into a raw config, as a ConfigError naming line and column on bad syntax. */
export function parseConfigYaml(text: string, source = 'config'): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const at = pos ? `line ${pos.line}, column ${pos.col}` : '';
      return { path: at, message: e.message.split('\n')[0] ?? e.message };
    });
    throw new ConfigError(`${source} is not valid YAML:`, problems);
  }
  return doc.toJS() as unknown;
}

/**
 * Reads and validates a YAML config file. `env` defaults to `process.env`, so TRIBUTARY_*
 * overrides apply in production.
 */
export function loadConfig<S extends z.ZodType>(schema: S, path: string, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(`Config file ${absolute} does not exist. Run with \`-c ${path} -e\` to write an example config there, then edit it.`);
    }
    throw new ConfigError(`Cannot read config file ${absolute}: ${(err as Error).message}`);
  }
  return parseConfig(schema, parseConfigYaml(text, absolute), env, { source: absolute });
}
