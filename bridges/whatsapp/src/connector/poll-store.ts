/**
 * Poll votes. WhatsApp encrypts each vote with the poll's `messageSecret`, and Baileys leaves
 * decrypting them to us: the store keeps, per poll message id, what decryption needs (the secret
 * and who created the poll) and the current vote of each voter. Each vote becomes an edit of the
 * bridged poll whose text carries the running totals.
 *
 * The store is a bounded map in memory; the poll's message metadata holds the same (the secret
 * from when the poll is bridged, the votes from each tally edit, see poll-metadata.ts), so a vote
 * for a poll the map does not hold (after a restart, or evicted) reads the poll back from there.
 * A vote for a poll found in neither, or one that does not decrypt, is logged at debug and skipped.
 */
import { partId, type MessageId, type PortalKey, type RemoteEvent, type RemoteSender } from '@tributary/core/network/index';
import {
  decryptPollVote, getAggregateVotesInPollMessage, isLidUser, jidNormalizedUser, normalizeMessageContent, updateMessageWithPollUpdate,
  type BaileysEventMap, type proto, type WAMessage, type WAMessageKey,
} from 'baileys';
import { messageSecretOf } from '../msgconv/to-matrix.js';
import { pollCreationOf, pollMetadata, pollTallyContent, type WAPollMetadata, type WAPollTally } from '../msgconv/wa-poll.js';
import type { WAEventHandler } from './handle-whatsapp.js';
import { jidFromUserId, makeMessageId } from './ids.js';
import { msOf } from './handle-whatsapp-history.js';
import { pollStateMetadata, restorePoll, type RestoredPoll } from './poll-metadata.js';

export interface PollRecord {
  /** The poll creation's message id. */
  id: string;
  /** JIDs that may stand for the creator in the vote key derivation, the likeliest first. */
  creatorJids: string[];
  secret: Uint8Array;
  meta: WAPollMetadata;
  /** The bridged poll, and its sender: the tally edit must come from whoever sent the poll. */
  portal: PortalKey;
  target: MessageId;
  sender: RemoteSender;
  /** The current vote of each voter (Baileys' shape; the key's remoteJid is the voter's user id). */
  pollUpdates: proto.IPollUpdate[];
  /** Vote message ids already applied. */
  seen: Set<string>;
}

export type PollInfo = Omit<PollRecord, 'pollUpdates' | 'seen'>;

export class PollStore {
  private readonly polls = new Map<string, PollRecord>();
  constructor(private readonly max = 2048) {}

  /** Records a poll (again: the votes already counted are kept). */
  remember(info: PollInfo): PollRecord {
    const old = this.polls.get(info.id);
    const rec: PollRecord = { ...info, pollUpdates: old?.pollUpdates ?? [], seen: old?.seen ?? new Set() };
    this.polls.delete(info.id);
    this.polls.set(info.id, rec);
    if (this.polls.size > this.max) this.polls.delete(this.polls.keys().next().value as string);
    return rec;
  }

  /** Records a poll read back from its message metadata, with the votes counted before. */
  restore(info: PollInfo, stored: Pick<RestoredPoll, 'pollUpdates' | 'voteIds'>): PollRecord {
    const rec = this.remember(info);
    rec.pollUpdates = stored.pollUpdates;
    for (const id of stored.voteIds) rec.seen.add(id);
    return rec;
  }

  /** The poll with this message id, or undefined when unknown. */
  get(id: string): PollRecord | undefined {
    return this.polls.get(id);
  }

  /**
   * Decrypts a vote, trying each creator/voter JID pair (LID and phone-number addressing); undefined
   * when none authenticates.
   */
  static decrypt(rec: PollRecord, enc: proto.Message.IPollEncValue, voterJids: string[]): proto.Message.PollVoteMessage | undefined {
    if (!enc.encPayload || !enc.encIv) return undefined;
    for (const pollCreatorJid of rec.creatorJids) {
      for (const voterJid of voterJids) {
        try {
          return decryptPollVote(enc, { pollCreatorJid, pollMsgId: rec.id, pollEncKey: rec.secret, voterJid });
        } catch {
          // wrong pair (GCM authentication failed): try the next
        }
      }
    }
    return undefined;
  }

  /**
   * Makes `selected` the voter's current vote (an empty one withdraws it). False when this vote was
   * already applied or is older than the voter's current one.
   */
  static vote(rec: PollRecord, voteId: string, voter: string, selected: Uint8Array[], timestampMs: number): boolean {
    if (rec.seen.has(voteId)) return false;
    rec.seen.add(voteId);
    const current = rec.pollUpdates.find((u) => u.pollUpdateMessageKey?.remoteJid === voter);
    if (current && Number(current.senderTimestampMs ?? 0) > timestampMs) return false;
    const update: proto.IPollUpdate = {
      pollUpdateMessageKey: { remoteJid: voter, fromMe: false, id: voteId },
      vote: { selectedOptions: selected },
      senderTimestampMs: timestampMs,
    };
    // Baileys replaces the author's previous vote and drops an empty one.
    const holder: Pick<WAMessage, 'pollUpdates'> = { pollUpdates: rec.pollUpdates };
    updateMessageWithPollUpdate(holder, update);
    if (!current && !selected.length) return false;
    rec.pollUpdates = holder.pollUpdates ?? [];
    return true;
  }

  /** The running totals, aggregated by Baileys (options are matched by the SHA-256 of their name). */
  static tally(rec: PollRecord): WAPollTally {
    const message: proto.IMessage = { pollCreationMessage: { options: rec.meta.options.map((optionName) => ({ optionName })) } };
    const agg = getAggregateVotesInPollMessage({ message, pollUpdates: rec.pollUpdates });
    return {
      name: rec.meta.name,
      selectableCount: rec.meta.selectableCount,
      options: rec.meta.options.map((name) => ({ name, votes: agg.find((a) => a.name === name)?.voters.length ?? 0 })),
    };
  }
}

type Handler = Pick<WAEventHandler, 'login' | 'lids' | 'polls' | 'portalOf' | 'keySender' | 'socket'>;

function uniq(jids: Array<string | null | undefined>): string[] {
  return [...new Set(jids.filter((j): j is string => Boolean(j)).map((j) => jidNormalizedUser(j)))];
}

function ownJids(h: Handler): string[] {
  let user: { id?: string; lid?: string } | undefined;
  try {
    user = h.socket().user as { id?: string; lid?: string } | undefined;
  } catch {
    user = undefined;
  }
  return uniq([user?.id, `${h.login.id}@s.whatsapp.net`, user?.lid]);
}

/** JIDs that may name a message's author (phone number first, as Baileys' getKeyAuthor). */
async function authorJids(h: Handler, key: WAMessageKey): Promise<string[]> {
  if (key.fromMe) return ownJids(h);
  const jids = key.participant ? [key.participantAlt, key.participant] : [key.remoteJidAlt, key.remoteJid];
  const out = uniq(jids);
  for (const j of [...out]) {
    if (!isLidUser(j)) continue;
    const pn = await h.lids.pnForLid(j);
    if (pn) out.unshift(jidNormalizedUser(pn));
  }
  return uniq(out);
}

/** Records a poll creation (live or from history); returns the record, if the message is a poll with a secret. */
export async function rememberPoll(h: Handler, portal: PortalKey, msg: WAMessage, sender: RemoteSender): Promise<PollRecord | undefined> {
  const poll = pollCreationOf(normalizeMessageContent(msg.message));
  const secret = messageSecretOf(msg.message);
  if (!poll || !secret || !msg.key?.id) return undefined;
  return h.polls.remember({
    id: msg.key.id,
    creatorJids: await authorJids(h, msg.key),
    secret,
    meta: pollMetadata(poll, secret),
    portal,
    target: makeMessageId(portal.id, sender.user, msg.key.id),
    sender,
  });
}

/**
 * A poll the store does not hold, read back from its bridged message's metadata. The poll is found
 * from the vote: its chat, and the poll key (which Baileys puts in our point of view) for the sender.
 */
async function loadPoll(h: Handler, vote: WAMessage, pollKey: WAMessageKey): Promise<PollRecord | undefined> {
  if (!pollKey.id) return undefined;
  const portal = await h.portalOf(vote.key.remoteJid, vote.key.remoteJidAlt);
  const sender = await h.keySender(pollKey);
  if (!portal || !sender) return undefined;
  const target = makeMessageId(portal.id, sender.user, pollKey.id);
  const stored = restorePoll(await h.login.getMessageMetadata(portal, target));
  if (!stored) return undefined;
  const creatorJids = uniq([...(await authorJids(h, pollKey)), sender.isFromMe ? undefined : jidFromUserId(sender.user)]);
  return h.polls.restore({ id: pollKey.id, creatorJids, secret: stored.secret, meta: stored.meta, portal, target, sender }, stored);
}

function tallyEdit(rec: PollRecord, timestamp: number): RemoteEvent {
  const tally = PollStore.tally(rec);
  // The state as of this vote (the record changes with the next one); it replaces the part's metadata.
  const metadata = pollStateMetadata(rec.meta, rec.pollUpdates);
  return {
    type: 'edit', portal: rec.portal, target: rec.target, sender: rec.sender, timestamp,
    convert: async (ctx) => ({ modifiedParts: [{ partId: partId(''), content: pollTallyContent(tally, ctx), metadata }] }),
  };
}

/** Decrypts and counts one pollUpdateMessage; the poll when its tally changed. */
async function applyVote(h: Handler, msg: WAMessage, update: proto.Message.IPollUpdateMessage): Promise<PollRecord | undefined> {
  const pollKey = update.pollCreationMessageKey;
  const pollId = pollKey?.id;
  const rec = pollId ? (h.polls.get(pollId) ?? (await loadPoll(h, msg, pollKey))) : undefined;
  const log = h.login.log;
  if (!rec || !update.vote) {
    log.debug({ poll: pollId, vote: msg.key.id }, 'poll vote for an unknown poll (no secret): skipped');
    return undefined;
  }
  const vote = PollStore.decrypt(rec, update.vote, await authorJids(h, msg.key));
  if (!vote) {
    log.debug({ poll: pollId, vote: msg.key.id }, 'poll vote did not decrypt: skipped');
    return undefined;
  }
  const voter = await h.keySender(msg.key);
  if (!voter || !msg.key.id) return undefined;
  const at = update.senderTimestampMs ? Number(update.senderTimestampMs) : msOf(msg.messageTimestamp);
  return PollStore.vote(rec, msg.key.id, String(voter.user), vote.selectedOptions ?? [], at) ? rec : undefined;
}

/** A live pollUpdateMessage -> an edit of the poll with the new totals (nothing when it cannot be read). */
export async function pollVoteEvents(h: Handler, msg: WAMessage, update: proto.Message.IPollUpdateMessage): Promise<RemoteEvent[]> {
  const rec = await applyVote(h, msg, update);
  const at = update.senderTimestampMs ? Number(update.senderTimestampMs) : msOf(msg.messageTimestamp);
  return rec ? [tallyEdit(rec, at)] : [];
}

/**
 * History sync: records the polls, counts their votes (the votes the phone already decrypted in
 * `pollUpdates`, and pollUpdateMessages), and returns one tally edit per poll with votes, to be
 * queued after the backfill.
 */
export async function historyPollEvents(h: Handler, set: Pick<BaileysEventMap['messaging-history.set'], 'messages'>): Promise<RemoteEvent[]> {
  const touched = new Map<string, { rec: PollRecord; at: number }>();
  const messages = [...(set.messages ?? [])].sort((a, b) => msOf(a.messageTimestamp) - msOf(b.messageTimestamp));
  for (const msg of messages) {
    if (!msg.key?.id) continue;
    const content = normalizeMessageContent(msg.message);
    try {
      if (pollCreationOf(content)) {
        const portal = await h.portalOf(msg.key.remoteJid, msg.key.remoteJidAlt);
        const sender = await h.keySender(msg.key);
        const rec = portal && sender ? await rememberPoll(h, portal, msg, sender) : undefined;
        for (const u of rec ? (msg.pollUpdates ?? []) : []) {
          const voter = u.pollUpdateMessageKey ? await h.keySender(u.pollUpdateMessageKey) : undefined;
          const at = Number(u.senderTimestampMs ?? 0);
          if (rec && voter && PollStore.vote(rec, u.pollUpdateMessageKey?.id ?? `${voter.user}|${at}`, String(voter.user), u.vote?.selectedOptions ?? [], at)) {
            touched.set(rec.id, { rec, at });
          }
        }
      } else if (content?.pollUpdateMessage) {
        const rec = await applyVote(h, msg, content.pollUpdateMessage);
        if (rec) touched.set(rec.id, { rec, at: msOf(msg.messageTimestamp) });
      }
    } catch (err) {
      h.login.log.debug({ err, id: msg.key.id }, 'history poll message skipped');
    }
  }
  return [...touched.values()].map(({ rec, at }) => tallyEdit(rec, at));
}
