/**
 * A poll's state in the bridged poll's message metadata, so votes that arrive after a restart can
 * still be decrypted and counted. The poll's part gets `{ poll: WAPollMetadata }` (name, options,
 * secret) when it is bridged; every tally edit replaces that with the same plus `votes`, the
 * current vote of each voter, so the metadata always holds what the last tally showed.
 */
import { z } from 'zod';
import type { proto } from 'baileys';
import type { WAPollMetadata } from '../msgconv/wa-poll.js';

/** One voter's current vote; `options` are the base64 SHA-256 hashes of the chosen option names. */
export interface StoredPollVote {
  voter: string;
  /** The vote message's id (a repeated delivery of it is not counted twice). */
  id: string;
  /** When it was cast (ms); an older vote arriving later does not replace it. */
  at: number;
  options: string[];
}

export interface StoredPoll extends WAPollMetadata {
  votes?: StoredPollVote[];
}

/** What a poll record needs back from the metadata. */
export interface RestoredPoll {
  meta: WAPollMetadata;
  secret: Uint8Array;
  pollUpdates: proto.IPollUpdate[];
  voteIds: string[];
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** WhatsApp message secrets are 32 bytes. */
const SECRET_BYTES = 32;

const storedSchema = z.object({
  poll: z.object({
    name: z.string(),
    options: z.array(z.string()).max(100),
    selectableCount: z.number().int().min(0),
    messageSecret: z.string().regex(BASE64),
    votes: z.array(z.object({
      voter: z.string().min(1),
      id: z.string(),
      at: z.number(),
      options: z.array(z.string().regex(BASE64)).max(100),
    })).max(10_000).optional(),
  }),
});

/** The metadata a tally edit writes: the poll and every voter's current vote. */
export function pollStateMetadata(meta: WAPollMetadata, updates: readonly proto.IPollUpdate[]): { poll: StoredPoll } {
  const votes: StoredPollVote[] = [];
  for (const u of updates) {
    const voter = u.pollUpdateMessageKey?.remoteJid;
    if (!voter) continue;
    votes.push({
      voter,
      id: u.pollUpdateMessageKey?.id ?? '',
      at: Number(u.senderTimestampMs ?? 0),
      options: (u.vote?.selectedOptions ?? []).map((o) => Buffer.from(o).toString('base64')),
    });
  }
  return { poll: { ...meta, votes } };
}

/** The poll in a message's metadata; undefined when there is none or it is not a usable poll. */
export function restorePoll(metadata: unknown): RestoredPoll | undefined {
  const parsed = storedSchema.safeParse(metadata);
  if (!parsed.success) return undefined;
  const { votes = [], ...meta } = parsed.data.poll;
  const secret = new Uint8Array(Buffer.from(meta.messageSecret, 'base64'));
  if (secret.length !== SECRET_BYTES) return undefined;
  const pollUpdates: proto.IPollUpdate[] = votes.map((v) => ({
    pollUpdateMessageKey: { remoteJid: v.voter, fromMe: false, id: v.id },
    // Buffers, not plain Uint8Arrays: Baileys' aggregation matches options by `hash.toString()`.
    vote: { selectedOptions: v.options.map((o) => Buffer.from(o, 'base64')) },
    senderTimestampMs: v.at,
  }));
  return { meta, secret, pollUpdates, voteIds: votes.map((v) => v.id).filter(Boolean) };
}
