/**
 * LID -> phone-number resolution for one login: the bridge's own table first (it survives
 * restarts and holds every pair the bridge has seen), then Baileys' LID store on the live socket
 * (which also knows pairs learnt from Signal sessions). A pair found only in Baileys is copied
 * into the table, so it is known before the next socket is up.
 */
import { isLidUser, isPnUser, jidNormalizedUser } from 'baileys';
import type { Logger } from '@tributary/core/logging';
import type { WAClientPort } from '../client/port.js';
import type { LidMap, LidPnPair } from '../db/lid-map.js';
import type { LidResolver } from './ids.js';

/** The part of Baileys' socket (not in WAClientPort) that holds its own LID store, when present. */
interface SignalLidStore {
  signalRepository?: { lidMapping?: { getPNForLID?(lid: string): Promise<string | null | undefined> } };
}

/** A pair as Baileys reports it (`lid-mapping.update`, history `lidPnMappings`); fields may be missing. */
export interface LidPnLike {
  lid?: string | null;
  pn?: string | null;
}

/** Keeps the pairs that are a user LID and a user phone-number JID; drops the rest. */
export function validLidPairs(pairs: readonly LidPnLike[]): LidPnPair[] {
  const out: LidPnPair[] = [];
  for (const p of pairs) {
    if (!p.lid || !p.pn) continue;
    const lid = jidNormalizedUser(p.lid);
    const pn = jidNormalizedUser(p.pn);
    if (lid && pn && isLidUser(lid) && isPnUser(pn)) out.push({ lid, pn });
  }
  return out;
}

export class WALidResolver implements LidRecorder {
  /** Pairs learnt this session, so a hot LID does not hit the database every time. */
  private readonly cache = new Map<string, string>();

  constructor(
    readonly map: LidMap,
    private readonly socket: () => WAClientPort | undefined,
    private readonly log?: Logger,
  ) {}

  async pnForLid(lidJid: string): Promise<string | undefined> {
    const lid = jidNormalizedUser(lidJid);
    if (!lid || !isLidUser(lid)) return undefined;
    const cached = this.cache.get(lid);
    if (cached) return cached;
    const stored = await this.map.getPn(lid);
    if (stored) {
      this.cache.set(lid, stored);
      return stored;
    }
    const fromSocket = await this.fromSocket(lid);
    if (fromSocket) {
      await this.record([{ lid, pn: fromSocket }]);
      return jidNormalizedUser(fromSocket);
    }
    return undefined;
  }

  /** Stores pairs seen in events; invalid ones are skipped. Never throws. */
  async record(pairs: readonly LidPnLike[]): Promise<void> {
    const valid = validLidPairs(pairs);
    if (valid.length === 0) return;
    try {
      await this.map.setMany(valid);
      for (const { lid, pn } of valid) this.cache.set(lid, pn);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, count: valid.length }, 'storing LID mappings failed');
    }
  }

  private async fromSocket(lid: string): Promise<string | undefined> {
    const store = (this.socket() as SignalLidStore | undefined)?.signalRepository?.lidMapping;
    if (typeof store?.getPNForLID !== 'function') return undefined;
    try {
      const pn = await store.getPNForLID(lid);
      const user = pn ? jidNormalizedUser(pn) : undefined;
      return user && isPnUser(user) ? user : undefined;
    } catch (err) {
      this.log?.debug({ err: (err as Error).message }, 'Baileys LID lookup failed');
      return undefined;
    }
  }
}

/** A LidResolver that can also learn pairs (WALidResolver is one). */
export interface LidRecorder extends LidResolver {
  record(pairs: readonly LidPnLike[]): Promise<void>;
}

/**
 * Records the LID pairs an event carries (`lid-mapping.update`, history `lidPnMappings`, message
 * keys' `…Alt` fields) when the resolver can learn; does nothing otherwise. Never throws.
 */
export function recordLidMappings(resolver: LidResolver, pairs: readonly LidPnLike[] | undefined): Promise<void> {
  const recorder = resolver as Partial<LidRecorder>;
  if (!pairs || pairs.length === 0 || typeof recorder.record !== 'function') return Promise.resolve();
  return recorder.record(pairs);
}

/** Subscribes the resolver to a socket's mapping events; returns the unsubscribe function. */
export function attachLidRecorder(resolver: WALidResolver, sock: WAClientPort): () => void {
  const onMapping = (m: LidPnLike) => void recordLidMappings(resolver, [m]);
  const onHistory = (h: { lidPnMappings?: LidPnLike[] }) => void recordLidMappings(resolver, h.lidPnMappings);
  sock.ev.on('lid-mapping.update', onMapping);
  sock.ev.on('messaging-history.set', onHistory);
  return () => {
    sock.ev.off('lid-mapping.update', onMapping);
    sock.ev.off('messaging-history.set', onHistory);
  };
}
