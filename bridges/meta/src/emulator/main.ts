/**
 * The Meta gateway emulator as its own process, in front of a running sandbox network:
 *   node --conditions=source --import tsx bridges/meta/src/emulator/main.ts \
 *     --flavour messenger|instagram --sandbox http://127.0.0.1:29400 [--port 29410] [--host 127.0.0.1]
 *     [--encrypted dm:alice:me ...] (sandbox chats that are end-to-end encrypted on this Meta)
 *     [--stranger dave ...] (sandbox accounts whose DMs are message requests, Messenger flavour)
 * Prints one JSON line {"listening": "<url>", "gateway": "<ws url>"} on stdout when ready; logs go
 * to stderr. Development and tests only.
 */
import { parseArgs } from 'node:util';
import { configureLogging } from '@tributary/core/logging';

const log = configureLogging({ destination: process.stderr });

function fail(message: string): never {
  log.fatal(message);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        flavour: { type: 'string', default: 'messenger' },
        sandbox: { type: 'string' },
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        encrypted: { type: 'string', multiple: true, default: [] },
        stranger: { type: 'string', multiple: true, default: [] },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  const flavour = values.flavour;
  if (flavour !== 'messenger' && flavour !== 'instagram') fail('--flavour must be messenger or instagram');
  if (!values.sandbox || !/^https?:\/\//.test(values.sandbox)) fail('--sandbox must be the sandbox network URL (http://host:port)');
  const port = Number(values.port);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) fail('--port must be an integer from 0 to 65535');
  const { startMetaEmulator } = await import('./server.js');
  const emulator = await startMetaEmulator({ flavour, sandboxUrl: values.sandbox, port, host: values.host, encryptedChats: values.encrypted, strangers: values.stranger });
  process.stdout.write(`${JSON.stringify({ listening: emulator.url, gateway: emulator.gatewayUrl })}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'meta emulator stopping');
    emulator.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'meta emulator failed to start');
  process.exit(1);
});
