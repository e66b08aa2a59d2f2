import { parseArgs } from 'node:util';
import { CliUsageError } from './errors.js';

/**
 * Command-line flags, mautrix-style:
 *   -c/--config <path>          config file (default config.yaml)
 *   -e/--generate-example [p]   write the example config to p, or to the -c path; then exit
 *   -g/--generate-registration  fill "generate" secrets in the config, write the registration
 *                               to the -r path; then exit
 *   -r/--registration <path>    registration file (default registration.yaml)
 *   -h/--help
 */

export type CliMode = 'run' | 'example' | 'registration' | 'help';

export interface CliArgs {
  mode: CliMode;
  /** Config file to read (run, registration) and to fill with secrets (registration). */
  config: string;
  /** Where -g writes the registration. */
  registration: string;
  /** Where -e writes the example config: its argument if given, else the config path. */
  example: string;
}

export function usageText(bridgeName: string): string {
  return [
    `Usage: ${bridgeName} [options]`,
    '',
    'Options:',
    '  -c, --config <path>             config file to use (default: config.yaml)',
    '  -e, --generate-example [path]   write an example config to path (default: the -c path) and exit',
    '  -g, --generate-registration     generate secrets in the config, write the appservice',
    '                                  registration to the -r path, and exit',
    '  -r, --registration <path>       registration file (default: registration.yaml)',
    '  -h, --help                      show this help and exit',
    '',
    'Config values can be overridden with TRIBUTARY_<SECTION>__<KEY>=value,',
    'e.g. TRIBUTARY_APPSERVICE__PORT=29333.',
  ].join('\n');
}

/** Parses `process.argv.slice(2)`. Throws CliUsageError (message includes usage) on bad input. */
export function parseCliArgs(argv: string[], bridgeName = 'tributary'): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', default: 'config.yaml' },
        registration: { type: 'string', short: 'r', default: 'registration.yaml' },
        'generate-example': { type: 'boolean', short: 'e', default: false },
        'generate-registration': { type: 'boolean', short: 'g', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    // node's messages name the flag; its unknown-option text then goes on about positionals.
    const message = (err as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new CliUsageError(unknown ? `Unknown option '${unknown[1] ?? ''}'.` : message, usageText(bridgeName));
  }
  const { values, positionals } = parsed;
  const example = values['generate-example'];
  const registration = values['generate-registration'];
  if (example && registration) {
    throw new CliUsageError('Use either -e or -g, not both.', usageText(bridgeName));
  }
  // The only positional allowed is the path after -e.
  if (positionals.length > (example ? 1 : 0)) {
    throw new CliUsageError(`Unexpected argument '${positionals[example ? 1 : 0] ?? ''}'.`, usageText(bridgeName));
  }
  for (const [flag, value] of [['--config', values.config], ['--registration', values.registration]] as const) {
    if (value === '') throw new CliUsageError(`${flag} needs a non-empty path.`, usageText(bridgeName));
  }
  const mode: CliMode = values.help ? 'help' : example ? 'example' : registration ? 'registration' : 'run';
  return {
    mode,
    config: values.config,
    registration: values.registration,
    example: positionals[0] ?? values.config,
  };
}
