/** One thing wrong with a configuration: where (`appservice.port`) and what. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/**
 * Thrown for any configuration that cannot be used: a missing or unparsable file, a value
 * that fails the schema, an unknown key or an unknown environment override. The message
 * lists every problem at once, one per line as `  - <path>: <what is wrong>`, so an operator
 * fixes the file in one pass instead of one error per restart.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(summary: string, problems: readonly ConfigProblem[] = []) {
    super(problems.length === 0 ? summary : `${summary}\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => (p.path ? `  - ${p.path}: ${p.message}` : `  - ${p.message}`)).join('\n');
}

/** Bad command-line arguments; the message ends with the usage text. */
export class CliUsageError extends Error {
  readonly usage: string;

  constructor(problem: string, usage: string) {
    super(`${problem}\n\n${usage}`);
    this.name = 'CliUsageError';
    this.usage = usage;
  }
}
