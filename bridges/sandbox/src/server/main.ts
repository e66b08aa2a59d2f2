/**
 * The sandbox network as its own process, so it outlives bridge restarts and kills:
 *   node --conditions=source --import tsx bridges/sandbox/src/server/main.ts --port 29400 \
 *     [--host 127.0.0.1] [--state file] [--seed demo] [--control-token T] [--max-media-bytes N]
 * Prints one JSON line {"listening": "<url>"} on stdout when ready; logs go to stderr.
 */
import { parseArgs } from 'node:util';
import { configureLogging } from '@tributary/core/logging';

// Configured before the server modules load: their module-level loggers bind to this root.
const log = configureLogging({ destination: process.stderr });

function fail(message: string): never {
  log.fatal(message);
  process.exit(2);
}

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) fail(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '29400' },
        host: { type: 'string', default: '127.0.0.1' },
        state: { type: 'string' },
        seed: { type: 'string' },
        'control-token': { type: 'string' },
        'max-media-bytes': { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.seed !== undefined && values.seed !== 'demo') fail('--seed accepts only "demo"');
  const { startSandboxServer } = await import('./server.js');
  const server = await startSandboxServer({
    port: intOption(values.port, 'port', 0, 65535),
    host: values.host,
    statePath: values.state,
    seed: values.seed === 'demo' ? 'demo' : undefined,
    controlToken: values['control-token'] ?? process.env.SANDBOX_CONTROL_TOKEN,
    maxMediaBytes: intOption(values['max-media-bytes'], 'max-media-bytes', 1, 2 ** 31),
  });
  // The one startup line on stdout; supervisors wait for it.
  process.stdout.write(`${JSON.stringify({ listening: server.url })}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'sandbox network stopping');
    server.close().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, 'sandbox network shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'sandbox network failed to start');
  process.exit(1);
});
