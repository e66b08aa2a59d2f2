/**
 * The person's Matrix client in e2e tests: a thin wrapper over matrix-js-sdk
 * (no crypto) with "wait until X is true" helpers that look at the current state
 * first and then at what arrives, so a test never races the sync loop.
 */
import * as sdk from 'matrix-js-sdk';
import type { RoomMessageEventContent } from 'matrix-js-sdk/lib/@types/events.js';
import { logger as sdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';

// Generous: these bound how long a failure takes to show, and CI machines are shared and slow.
const DEFAULT_TIMEOUT_MS = 40_000;

// matrix-js-sdk 37 calls Promise.withResolvers (Node >= 22); the machines run Node 20.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

/** A Logger that drops everything: tests read assertions, not sync chatter. */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  getChild: () => silentLogger,
};

/**
 * matrix-js-sdk's global logger is a loglevel logger (setLevel/disableAll exist at
 * runtime, not in its type). Child loggers copy its methodFactory when created,
 * so replacing the factory also silences children created from now on.
 */
export function silenceSdkLogging(logger: Logger = sdkLogger): void {
  const root = logger as unknown as {
    disableAll?: () => void;
    methodFactory?: unknown;
    rebuild?: () => void;
  };
  root.methodFactory = () => () => {};
  root.rebuild?.();
  root.disableAll?.();
}
silenceSdkLogging();

/**
 * Resolve with check()'s first non-undefined result: checked now, then again each time
 * `subscribe`'s callback fires. Rejects after timeoutMs with `what` in the message.
 */
export function waitUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined,
  subscribe: (recheck: () => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      fn();
    };
    const recheck = () => {
      if (done) return;
      let result: T | undefined;
      try {
        result = check();
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      if (result !== undefined) finish(() => resolve(result));
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))),
      timeoutMs,
    );
    // Listeners only fire asynchronously, so `unsubscribe` is set before finish() can run.
    const unsubscribe = subscribe(recheck);
    recheck();
  });
}

export class TestClient {
  private constructor(
    readonly client: sdk.MatrixClient,
    readonly userId: string,
  ) {}

  /** Create, start (initialSyncLimit 50, no crypto) and wait for the first sync (PREPARED). */
  static async start(baseUrl: string, userId: string, accessToken: string, deviceId?: string): Promise<TestClient> {
    const client = sdk.createClient({ baseUrl, userId, accessToken, deviceId, logger: silentLogger });
    return TestClient.startExisting(client, userId);
  }

  /** Start a client created elsewhere (e.g. with crypto already initialised) and wait for PREPARED. */
  static async startExisting(client: sdk.MatrixClient, userId: string): Promise<TestClient> {
    const tc = new TestClient(client, userId);
    let syncError: unknown;
    const prepared = waitUntil<true>(
      `the first sync (PREPARED) of ${userId}`,
      30_000,
      () => {
        // Surface the reason (bad token, server down) instead of a bare timeout.
        if (syncError !== undefined) throw syncError;
        return client.getSyncState() === sdk.SyncState.Prepared ? true : undefined;
      },
      (recheck) => {
        const onSync = (state: sdk.SyncState, _prev: sdk.SyncState | null, data?: sdk.SyncStateData) => {
          if (state === sdk.SyncState.Error && data?.error) syncError = data.error;
          recheck();
        };
        client.on(sdk.ClientEvent.Sync, onSync);
        return () => client.off(sdk.ClientEvent.Sync, onSync);
      },
    );
    await client.startClient({ initialSyncLimit: 50 });
    try {
      await prepared;
    } catch (err) {
      client.stopClient();
      throw err;
    }
    return tc;
  }

  /** The live timeline of a room this client knows (empty when it does not know the room). */
  timeline(roomId: string): sdk.MatrixEvent[] {
    return this.client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  }

  /** An event in roomId matching predicate, already in the live timeline or arriving later. */
  waitForEvent(
    roomId: string,
    predicate: (ev: sdk.MatrixEvent) => boolean,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<sdk.MatrixEvent> {
    let arrived: sdk.MatrixEvent | undefined;
    return waitUntil(
      `an event matching the predicate in ${roomId} (as ${this.userId})`,
      timeoutMs,
      () => arrived ?? this.timeline(roomId).find(predicate),
      (recheck) => {
        const onTimeline = (ev: sdk.MatrixEvent, room: sdk.Room | undefined) => {
          // Checked directly too: a limited sync can reset the timeline we scan.
          if (room?.roomId === roomId && predicate(ev)) arrived = ev;
          recheck();
        };
        this.client.on(sdk.RoomEvent.Timeline, onTimeline);
        return () => this.client.off(sdk.RoomEvent.Timeline, onTimeline);
      },
    );
  }

  /** The id of a room this user is invited to (optionally matching predicate). */
  waitForInvite(
    predicate: (roomId: string, inviter: string | undefined) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<string> {
    const inviterOf = (room: sdk.Room) => room.getMember(this.userId)?.events.member?.getSender();
    return waitUntil(
      `an invite for ${this.userId}`,
      timeoutMs,
      () =>
        this.client
          .getRooms()
          .find((room) => room.getMyMembership() === sdk.KnownMembership.Invite && predicate(room.roomId, inviterOf(room)))
          ?.roomId,
      (recheck) => {
        this.client.on(sdk.RoomEvent.MyMembership, recheck);
        this.client.on(sdk.ClientEvent.Room, recheck);
        return () => {
          this.client.off(sdk.RoomEvent.MyMembership, recheck);
          this.client.off(sdk.ClientEvent.Room, recheck);
        };
      },
    );
  }

  /** userId's membership in roomId becomes `membership` (join, invite, leave, ban, knock). */
  async waitForMembership(
    roomId: string,
    userId: string,
    membership: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<void> {
    await waitUntil(
      `${userId} to have membership "${membership}" in ${roomId} (as seen by ${this.userId})`,
      timeoutMs,
      () => (this.client.getRoom(roomId)?.getMember(userId)?.membership === membership ? true : undefined),
      (recheck) => {
        this.client.on(sdk.RoomMemberEvent.Membership, recheck);
        this.client.on(sdk.ClientEvent.Room, recheck);
        return () => {
          this.client.off(sdk.RoomMemberEvent.Membership, recheck);
          this.client.off(sdk.ClientEvent.Room, recheck);
        };
      },
    );
  }

  /** The current state event (eventType, stateKey) in roomId, once predicate accepts it. */
  waitForRoomState(
    roomId: string,
    eventType: string,
    stateKey: string,
    predicate: (ev: sdk.MatrixEvent) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<sdk.MatrixEvent> {
    return waitUntil(
      `state ${eventType}/${JSON.stringify(stateKey)} matching the predicate in ${roomId} (as ${this.userId})`,
      timeoutMs,
      () => {
        const state = this.client
          .getRoom(roomId)
          ?.getLiveTimeline()
          .getState(sdk.EventTimeline.FORWARDS);
        // getStateEvents is typed for known event types; any string works at runtime.
        const ev = state?.getStateEvents(eventType as keyof sdk.StateEvents, stateKey);
        return ev && predicate(ev) ? ev : undefined;
      },
      (recheck) => {
        this.client.on(sdk.RoomStateEvent.Events, recheck);
        this.client.on(sdk.ClientEvent.Room, recheck);
        return () => {
          this.client.off(sdk.RoomStateEvent.Events, recheck);
          this.client.off(sdk.ClientEvent.Room, recheck);
        };
      },
    );
  }

  /** Send m.text; `extra` is merged into the content. Resolves with the event id. */
  async sendText(roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> {
    const content = { msgtype: sdk.MsgType.Text, body, ...extra } as RoomMessageEventContent;
    return (await this.client.sendMessage(roomId, content)).event_id;
  }

  /** Send m.text with org.matrix.custom.html. Resolves with the event id. */
  async sendHtml(roomId: string, body: string, html: string): Promise<string> {
    return (await this.client.sendHtmlMessage(roomId, body, html)).event_id;
  }

  async stop(): Promise<void> {
    this.client.stopClient();
  }
}
