/**
 * The socket lifecycle of one WhatsApp login. Baileys sockets are single-use: each close ends the
 * socket for good, so this class makes a new one when the close is recoverable, and stops for good
 * when it is not. It reports what happens as bridge states and a few plain events; the connector
 * attaches its own event handlers to every socket it is told about ('socket').
 */
import { EventEmitter } from 'node:events';
import makeWASocket, {
  DisconnectReason, type AuthenticationCreds, type AuthenticationState, type ConnectionState,
  type UserFacingSocketConfig,
} from 'baileys';
import type { Logger } from '@tributary/core/logging';
import type { BridgeStateUpdate } from '@tributary/core/network/index';
import type { WAClientPort } from './port.js';

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with full jitter: uniform in [0, min(maxMs, minMs * 2^attempt)), so logins
 * dropped together do not all come back in the same instant. `attempt` counts from 0.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.minMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * ceiling);
}

/** What to do after a socket closed. */
export type DisconnectAction =
  | { kind: 'restart'; statusCode: number }
  | { kind: 'logged_out'; statusCode: number; state: BridgeStateUpdate }
  | { kind: 'replaced'; statusCode: number; state: BridgeStateUpdate }
  | { kind: 'fatal'; statusCode: number; state: BridgeStateUpdate }
  | { kind: 'reconnect'; statusCode: number | undefined; state: BridgeStateUpdate };

/** The HTTP-like status code Baileys puts on a close (a Boom's `output.statusCode`), if any. */
export function disconnectStatusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const output = (error as { output?: unknown }).output;
  if (typeof output !== 'object' || output === null) return undefined;
  const code = (output as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Baileys turns any failure of the websocket itself into a Boom whose message starts like this and
 * whose status code is guessed (500 when the error has no `E...` code). Such a failure says
 * nothing about the session, so it is always treated as transient, never as a bad session.
 */
function isTransportError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WebSocket Error');
}

/** Maps a close to the next step and the bridge state the person sees. Pure. */
export function classifyDisconnect(error: unknown): DisconnectAction {
  const statusCode = disconnectStatusCode(error);
  if (isTransportError(error)) {
    return { kind: 'reconnect', statusCode, state: lost() };
  }
  switch (statusCode) {
    case DisconnectReason.restartRequired:
      return { kind: 'restart', statusCode };
    case DisconnectReason.loggedOut:
      return {
        kind: 'logged_out', statusCode,
        state: { stateEvent: 'LOGGED_OUT', error: 'wa-logged-out', message: 'Logged out from WhatsApp (removed on the phone); log in again' },
      };
    case DisconnectReason.connectionReplaced:
      return {
        kind: 'replaced', statusCode,
        state: {
          stateEvent: 'UNKNOWN_ERROR', error: 'wa-connection-replaced',
          message: 'Another client connected with this WhatsApp session; the bridge stopped to avoid a fight',
        },
      };
    case DisconnectReason.badSession:
      return {
        kind: 'fatal', statusCode,
        state: { stateEvent: 'BAD_CREDENTIALS', error: 'wa-bad-session', message: 'The stored WhatsApp session is corrupt or no longer valid; log in again' },
      };
    case DisconnectReason.multideviceMismatch:
      return {
        kind: 'fatal', statusCode,
        state: { stateEvent: 'BAD_CREDENTIALS', error: 'wa-multidevice-mismatch', message: 'WhatsApp rejected this linked device; log in again' },
      };
    case DisconnectReason.forbidden:
      return {
        kind: 'fatal', statusCode,
        state: { stateEvent: 'BAD_CREDENTIALS', error: 'wa-forbidden', message: 'WhatsApp refused this account (it may be banned or restricted)' },
      };
    case DisconnectReason.unavailableService:
      return {
        kind: 'reconnect', statusCode,
        state: { stateEvent: 'TRANSIENT_DISCONNECT', error: 'wa-service-unavailable', message: 'WhatsApp is unavailable; reconnecting' },
      };
    default:
      return { kind: 'reconnect', statusCode, state: lost() };
  }
}

function lost(): BridgeStateUpdate {
  return { stateEvent: 'TRANSIENT_DISCONNECT', error: 'wa-connection-lost', message: 'Connection to WhatsApp lost; reconnecting' };
}

/** Makes one socket; `makeWASocket` in production, a wrapper or a fake in tests. */
export type MakeWASocket = (config: UserFacingSocketConfig) => WAClientPort;

export interface WAConnectionOptions {
  auth: AuthenticationState;
  /** Persists `auth.creds` (Baileys has already merged the update into it). Calls are serialised. */
  saveCreds: (update: Partial<AuthenticationCreds>) => Promise<void> | void;
  makeSocket?: MakeWASocket;
  /** Overrides Baileys' `wss://web.whatsapp.com/ws/chat` (tests point it at 127.0.0.1). */
  socketUrl?: string;
  /** Our logger; Baileys gets a child of it at `baileysLogLevel`. */
  logger: Logger;
  /** Level of the child logger handed to Baileys; default 'warn' (Baileys is chatty below that). */
  baileysLogLevel?: string;
  backoff: BackoffOptions;
  random?: () => number;
  /** Further socket options (browser, getMessage, cachedGroupMetadata, history sync ...). */
  socketConfig?: Omit<UserFacingSocketConfig, 'auth' | 'logger' | 'waWebSocketUrl'>;
  /**
   * How many 515 "restart required" closes in a row (without an 'open' between them) get an
   * immediate new socket; past that they wait for backoff like any other close. Default 3.
   */
  maxImmediateRestarts?: number;
}

export interface WAConnectionEvents {
  /** Every bridge state change of this login. */
  state: [BridgeStateUpdate];
  /** A QR code to show (pairing); a new one replaces the last. */
  qr: [string];
  /** A new socket exists: attach event handlers to it. Emitted before it can report anything. */
  socket: [WAClientPort];
  /** The socket is logged in and usable. */
  open: [WAClientPort];
  /** Pairing finished (the phone scanned the QR or typed the code); a restart follows. */
  paired: [];
  /** The phone removed this device (401). The connection has stopped. */
  logged_out: [BridgeStateUpdate];
  /** Another client took over the session (440). The connection has stopped. */
  replaced: [BridgeStateUpdate];
  /** Bad session, device mismatch or forbidden. The connection has stopped. */
  fatal: [BridgeStateUpdate];
}

/** One login's socket lifecycle. */
export class WAConnection extends EventEmitter<WAConnectionEvents> {
  private readonly opts: WAConnectionOptions;
  private readonly makeSocket: MakeWASocket;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly baileysLog: Logger;
  private sock: WAClientPort | undefined;
  private detach: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Failed connection attempts since the last 'open'; drives the backoff. */
  private attempt = 0;
  private restartsInRow = 0;
  private credsChain: Promise<void> = Promise.resolve();

  constructor(opts: WAConnectionOptions) {
    super();
    this.opts = opts;
    this.makeSocket = opts.makeSocket ?? ((config) => makeWASocket(config));
    this.random = opts.random ?? Math.random;
    this.log = opts.logger;
    this.baileysLog = opts.logger.child({ lib: 'baileys' }, { level: opts.baileysLogLevel ?? 'warn' });
  }

  /** The live socket, if one exists (it may still be connecting). */
  current(): WAClientPort | undefined {
    return this.sock;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** True while a backoff timer is waiting to make the next socket. */
  get reconnectPending(): boolean {
    return this.timer !== undefined;
  }

  /** Starts connecting. Does nothing when already started. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.restartsInRow = 0;
    this.setState({ stateEvent: 'CONNECTING', message: 'Connecting to WhatsApp' });
    this.connect();
  }

  /**
   * Ends the socket and any pending reconnect, and waits for pending credential saves. Emits no
   * state: the caller decides what stopping means. Safe to call more than once.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.clearTimer();
    await this.dropSocket();
    await this.credsChain;
  }

  private connect(): void {
    this.timer = undefined;
    if (!this.running) return;
    let sock: WAClientPort;
    try {
      sock = this.makeSocket({
        markOnlineOnConnect: false,
        ...this.opts.socketConfig,
        auth: this.opts.auth,
        logger: this.baileysLog,
        ...(this.opts.socketUrl !== undefined ? { waWebSocketUrl: this.opts.socketUrl } : {}),
      });
    } catch (err) {
      this.log.warn({ err: describe(err) }, 'could not create a WhatsApp socket');
      this.handleClose(err);
      return;
    }
    this.sock = sock;
    const onUpdate = (update: Partial<ConnectionState>) => {
      if (this.sock === sock) this.onConnectionUpdate(sock, update);
    };
    const onCreds = (update: Partial<AuthenticationCreds>) => this.queueSaveCreds(update);
    sock.ev.on('connection.update', onUpdate);
    sock.ev.on('creds.update', onCreds);
    this.detach = () => {
      sock.ev.off('connection.update', onUpdate);
      sock.ev.off('creds.update', onCreds);
    };
    this.emit('socket', sock);
  }

  private onConnectionUpdate(sock: WAClientPort, update: Partial<ConnectionState>): void {
    if (update.qr) this.emit('qr', update.qr);
    if (update.isNewLogin) {
      this.log.info('WhatsApp pairing complete');
      this.emit('paired');
    }
    if (update.connection === 'open') {
      this.attempt = 0;
      this.restartsInRow = 0;
      this.setState({ stateEvent: 'CONNECTED', message: 'Connected to WhatsApp' });
      this.emit('open', sock);
    } else if (update.connection === 'close') {
      // This socket is finished; keep its creds listener until it has ended, since Baileys may
      // still report credentials while closing.
      this.sock = undefined;
      this.handleClose(update.lastDisconnect?.error, sock);
    }
  }

  private handleClose(error: unknown, closed?: WAClientPort): void {
    const action = classifyDisconnect(error);
    const detach = this.detach;
    this.detach = undefined;
    if (closed) {
      // The socket reported its own close (or a test said so); make sure it is really ended.
      void closed.end(undefined).catch(() => undefined).finally(() => {
        releaseWaiters(closed);
        detach?.();
      });
    }
    if (!this.running) return;
    this.log.info({ statusCode: action.statusCode, kind: action.kind, reason: describe(error) }, 'WhatsApp socket closed');
    switch (action.kind) {
      case 'restart': {
        const immediate = this.restartsInRow < (this.opts.maxImmediateRestarts ?? 3);
        this.restartsInRow++;
        if (immediate) {
          this.connect();
        } else {
          this.scheduleReconnect(lost());
        }
        return;
      }
      case 'logged_out':
        this.finish(action.state, 'logged_out');
        return;
      case 'replaced':
        this.finish(action.state, 'replaced');
        return;
      case 'fatal':
        this.finish(action.state, 'fatal');
        return;
      case 'reconnect':
        this.scheduleReconnect(action.state);
        return;
    }
  }

  private scheduleReconnect(state: BridgeStateUpdate): void {
    const attempt = this.attempt++;
    const delayMs = backoffDelay(attempt, this.opts.backoff, this.random);
    this.setState({ ...state, info: { ...state.info, attempt: attempt + 1, retryInMs: delayMs } });
    this.clearTimer();
    this.timer = setTimeout(() => this.connect(), delayMs);
  }

  private finish(state: BridgeStateUpdate, event: 'logged_out' | 'replaced' | 'fatal'): void {
    this.running = false;
    this.clearTimer();
    this.setState(state);
    this.emit(event, state);
  }

  private setState(state: BridgeStateUpdate): void {
    this.emit('state', state);
  }

  private queueSaveCreds(update: Partial<AuthenticationCreds>): void {
    this.credsChain = this.credsChain
      .then(() => this.opts.saveCreds(update))
      .catch((err: unknown) => this.log.error({ err: describe(err) }, 'saving WhatsApp credentials failed'));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async dropSocket(): Promise<void> {
    const sock = this.sock;
    const detach = this.detach;
    this.sock = undefined;
    this.detach = undefined;
    if (!sock) {
      detach?.();
      return;
    }
    try {
      await sock.end(undefined);
    } catch (err) {
      this.log.debug({ err: describe(err) }, 'ending the WhatsApp socket failed');
    } finally {
      releaseWaiters(sock);
      detach?.();
    }
  }
}

/**
 * Baileys' `end()` removes the websocket client's 'close' listeners before closing it, so a
 * handshake step or query still waiting on that socket only gives up at its own timeout
 * (`connectTimeoutMs`, `defaultQueryTimeoutMs`), and its timer keeps the process alive after stop.
 * Those waiters also listen for 'error': one 'error' on the ENDED socket's client wakes them at
 * once, and Baileys' own error handler ignores it because the socket is already closed. Only
 * sockets that have a client (the real one) are touched; fakes have none.
 */
function releaseWaiters(sock: WAClientPort): void {
  const ws = (sock as { ws?: unknown }).ws;
  if (ws instanceof EventEmitter && ws.listenerCount('error') > 0) {
    ws.emit('error', new Error('socket ended'));
  }
}

/** A short, secret-free description of a close reason for logs. */
function describe(err: unknown): string | undefined {
  if (err === undefined || err === null) return undefined;
  if (err instanceof Error) return err.message.slice(0, 200);
  return typeof err === 'string' ? err.slice(0, 200) : 'non-error value';
}
