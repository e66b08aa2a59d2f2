/**
 * Typed rows for the LightSpeed stored procedures a bridge needs. A stored procedure call in a
 * response is positional: `[5, "insertMessage", arg0, arg1, ...]`; the argument positions below
 * are protocol facts (as documented by mautrix-meta's table definitions), the row shapes ours:
 * only the columns a bridge uses, ids as decimal strings, times as numbers.
 *
 * A required column that is absent or of the wrong kind makes the call a `bad-row` error; an
 * optional one of the wrong kind is left out with a warning naming the column (never the value).
 */
export type ColumnKind = 'i64' | 'int' | 'str' | 'bool';
interface Column<K extends ColumnKind = ColumnKind, R extends boolean = boolean> {
  index: number;
  kind: K;
  required: R;
}
type KindType = { i64: string; int: number; str: string; bool: boolean };

const req = <K extends ColumnKind>(index: number, kind: K): Column<K, true> => ({ index, kind, required: true });
const opt = <K extends ColumnKind>(index: number, kind: K): Column<K, false> => ({ index, kind, required: false });

/** The row type a column spec describes: required columns always present, optional ones maybe. */
export type RowOf<S extends Record<string, Column>> = {
  [K in keyof S as S[K]['required'] extends true ? K : never]: KindType[S[K]['kind']];
} & {
  [K in keyof S as S[K]['required'] extends true ? never : K]?: KindType[S[K]['kind']];
};

const messageColumns = {
  text: opt(0, 'str'),
  authorityLevel: opt(2, 'int'),
  threadKey: req(3, 'i64'),
  timestampMs: req(5, 'int'),
  messageId: req(8, 'str'),
  offlineThreadingId: opt(9, 'str'),
  senderId: req(10, 'i64'),
  stickerId: opt(11, 'i64'),
  isAdminMessage: opt(12, 'bool'),
  sendStatus: opt(15, 'int'),
  isUnsent: opt(17, 'bool'),
  unsentTimestampMs: opt(18, 'int'),
  mentionOffsets: opt(19, 'str'),
  mentionLengths: opt(20, 'str'),
  mentionIds: opt(21, 'str'),
  mentionTypes: opt(22, 'str'),
  replySourceId: opt(23, 'str'),
  replySourceType: opt(24, 'int'),
  replyToUserId: opt(29, 'i64'),
  isForwarded: opt(43, 'bool'),
  textHasLinks: opt(50, 'bool'),
  editCount: opt(68, 'int'),
};

export const TABLES = {
  LSInsertMessage: { sp: 'insertMessage', columns: messageColumns },
  LSUpsertMessage: { sp: 'upsertMessage', columns: messageColumns },
  LSEditMessage: {
    sp: 'editMessage',
    columns: { messageId: req(0, 'str'), authorityLevel: opt(1, 'int'), text: opt(2, 'str'), editCount: opt(3, 'int') },
  },
  LSDeleteMessage: { sp: 'deleteMessage', columns: { threadKey: req(0, 'i64'), messageId: req(1, 'str') } },
  LSUpsertReaction: {
    sp: 'upsertReaction',
    columns: { threadKey: req(0, 'i64'), timestampMs: opt(1, 'int'), messageId: req(2, 'str'), actorId: req(3, 'i64'), reaction: req(4, 'str'), authorityLevel: opt(5, 'int') },
  },
  LSDeleteReaction: { sp: 'deleteReaction', columns: { threadKey: req(0, 'i64'), messageId: req(1, 'str'), actorId: req(2, 'i64') } },
  LSDeleteThenInsertThread: {
    sp: 'deleteThenInsertThread',
    columns: {
      lastActivityTimestampMs: opt(0, 'int'),
      lastReadWatermarkTimestampMs: opt(1, 'int'),
      snippet: opt(2, 'str'),
      threadName: opt(3, 'str'),
      threadPictureUrl: opt(4, 'str'),
      authorityLevel: opt(6, 'int'),
      threadKey: req(7, 'i64'),
      mailboxType: opt(8, 'int'),
      threadType: opt(9, 'int'),
      folderName: opt(10, 'str'),
      muteExpireTimeMs: opt(14, 'int'),
      parentThreadKey: opt(35, 'i64'),
      threadDescription: opt(64, 'str'),
      syncGroup: opt(66, 'int'),
      memberCount: opt(77, 'int'),
    },
  },
  /** Meta's procedure for a thread's new name is "syncUpdateThreadName". */
  LSSyncUpdateThreadName: { sp: 'syncUpdateThreadName', columns: { threadName: opt(0, 'str'), threadKey: req(1, 'i64') } },
  LSSetThreadImageURL: {
    sp: 'setThreadImageURL',
    columns: { threadKey: req(0, 'i64'), imageUrl: opt(1, 'str'), imageFallbackUrl: opt(2, 'str'), imageUrlExpiryTimeMs: opt(3, 'int'), isCustomThreadPicture: opt(4, 'bool') },
  },
  LSAddParticipantIdToGroupThread: {
    sp: 'addParticipantIdToGroupThread',
    columns: {
      threadKey: req(0, 'i64'),
      contactId: req(1, 'i64'),
      readWatermarkTimestampMs: opt(2, 'int'),
      readActionTimestampMs: opt(3, 'int'),
      deliveredWatermarkTimestampMs: opt(4, 'int'),
      nickname: opt(5, 'str'),
      isAdmin: opt(6, 'bool'),
      authorityLevel: opt(9, 'int'),
      isSuperAdmin: opt(13, 'bool'),
    },
  },
  LSRemoveParticipantFromThread: { sp: 'removeParticipantFromThread', columns: { threadKey: req(0, 'i64'), participantId: req(1, 'i64') } },
  /** Meta moved a thread to end-to-end encryption: its messages now travel outside LightSpeed (see thread-types.ts). */
  LSMoveThreadToE2EECutoverFolder: { sp: 'moveThreadToE2EECutoverFolder', columns: { threadKey: req(0, 'i64') } },
  LSUpdateReadReceipt: {
    sp: 'updateReadReceipt',
    columns: { readWatermarkTimestampMs: req(0, 'int'), threadKey: req(1, 'i64'), contactId: req(2, 'i64'), readActionTimestampMs: opt(3, 'int') },
  },
  LSUpdateTypingIndicator: { sp: 'updateTypingIndicator', columns: { threadKey: req(0, 'i64'), senderId: req(1, 'i64'), isTyping: req(2, 'bool') } },
  LSVerifyContactRowExists: {
    sp: 'verifyContactRowExists',
    columns: {
      contactId: req(0, 'i64'),
      profilePictureUrl: opt(2, 'str'),
      name: opt(3, 'str'),
      contactType: opt(4, 'int'),
      profilePictureFallbackUrl: opt(5, 'str'),
      isBlocked: opt(10, 'bool'),
      canViewerMessage: opt(12, 'bool'),
      isSelf: opt(13, 'bool'),
      authorityLevel: opt(14, 'int'),
      secondaryName: opt(20, 'str'),
      firstName: opt(21, 'str'),
    },
  },
  LSUpsertSyncGroupThreadsRange: {
    sp: 'upsertSyncGroupThreadsRange',
    columns: {
      syncGroup: req(0, 'int'),
      parentThreadKey: req(1, 'i64'),
      minLastActivityTimestampMs: opt(2, 'int'),
      hasMoreBefore: opt(3, 'bool'),
      isLoadingBefore: opt(4, 'bool'),
      minThreadKey: opt(5, 'i64'),
    },
  },
  LSExecuteFirstBlockForSyncTransaction: {
    sp: 'executeFirstBlockForSyncTransaction',
    columns: {
      databaseId: req(0, 'int'),
      epochId: opt(1, 'i64'),
      currentCursor: opt(2, 'str'),
      nextCursor: opt(3, 'str'),
      syncStatus: opt(4, 'int'),
      sendSyncParams: opt(5, 'bool'),
      minTimeToSyncTimestampMs: opt(6, 'int'),
      canIgnoreTimestamp: opt(7, 'bool'),
      syncChannel: opt(8, 'int'),
    },
  },
  /** A task the server has done (fact: `removeTask(taskId)`). */
  LSRemoveTask: { sp: 'removeTask', columns: { taskId: req(0, 'i64') } },
  /**
   * A task the server refused. Ours: the research names no failure procedure, so this is the
   * convention of Tributary's emulator (code: a short reason such as edit-limit-reached or not_found; message: for people).
   */
  LSTaskFailed: { sp: 'taskFailed', columns: { taskId: req(0, 'i64'), code: req(1, 'str'), message: opt(2, 'str') } },
  LSInsertAttachment: {
    sp: 'insertAttachment',
    columns: {
      filename: opt(1, 'str'),
      filesize: opt(2, 'int'),
      hasMedia: opt(3, 'bool'),
      playableUrl: opt(5, 'str'),
      playableUrlMimeType: opt(8, 'str'),
      previewUrl: opt(10, 'str'),
      previewUrlMimeType: opt(13, 'str'),
      previewWidth: opt(16, 'int'),
      previewHeight: opt(17, 'int'),
      playableDurationMs: opt(25, 'int'),
      attachmentIndex: opt(26, 'int'),
      threadKey: req(32, 'i64'),
      attachmentType: opt(34, 'int'),
      attachmentMimeType: opt(35, 'str'),
      timestampMs: opt(36, 'int'),
      messageId: req(37, 'str'),
      offlineAttachmentId: opt(38, 'str'),
      attachmentFbid: opt(39, 'str'),
      hasXma: opt(40, 'bool'),
      imageUrl: opt(62, 'str'),
      actionUrl: opt(65, 'str'),
      titleText: opt(66, 'str'),
      subtitleText: opt(67, 'str'),
    },
  },
  /**
   * A call-to-action of an XMA attachment, joined to it by attachmentFbid (facts: procedure
   * "insertAttachmentCta" and these columns). A shared location is an XMA whose CTA type is
   * "xma_live_location_sharing" with "<lat>,<long>" as its native URL (empty while live).
   */
  LSInsertAttachmentCta: {
    sp: 'insertAttachmentCta',
    columns: {
      ctaId: opt(0, 'i64'),
      attachmentFbid: opt(1, 'str'),
      attachmentIndex: opt(2, 'int'),
      threadKey: req(3, 'i64'),
      messageId: req(5, 'str'),
      title: opt(6, 'str'),
      type: opt(7, 'str'),
      actionUrl: opt(9, 'str'),
      nativeUrl: opt(10, 'str'),
      targetId: opt(15, 'i64'),
    },
  },
  LSInsertBlobAttachment: {
    sp: 'insertBlobAttachment',
    columns: {
      filename: opt(0, 'str'),
      filesize: opt(1, 'int'),
      hasMedia: opt(2, 'bool'),
      playableUrl: opt(3, 'str'),
      playableUrlMimeType: opt(6, 'str'),
      previewUrl: opt(8, 'str'),
      previewUrlMimeType: opt(11, 'str'),
      previewWidth: opt(14, 'int'),
      previewHeight: opt(15, 'int'),
      playableDurationMs: opt(22, 'int'),
      attachmentIndex: opt(23, 'int'),
      threadKey: req(27, 'i64'),
      attachmentType: opt(29, 'int'),
      attachmentMimeType: opt(30, 'str'),
      timestampMs: opt(31, 'int'),
      messageId: req(32, 'str'),
      offlineAttachmentId: opt(33, 'str'),
      attachmentFbid: opt(34, 'str'),
    },
  },
} as const satisfies Record<string, { sp: string; columns: Record<string, Column> }>;

export type LSTableName = keyof typeof TABLES;
export type LSRow<T extends LSTableName> = RowOf<(typeof TABLES)[T]['columns']>;
export type LSTables = { [T in LSTableName]?: Array<LSRow<T>> };

/** Procedure name as called in a program (`insertMessage`, also accepted as `LSInsertMessage`). */
const BY_PROCEDURE = new Map<string, LSTableName>(
  (Object.keys(TABLES) as LSTableName[]).flatMap((t) => [[TABLES[t].sp, t] as const, [t, t] as const]),
);

export function tableForProcedure(name: string): LSTableName | undefined {
  return BY_PROCEDURE.get(name);
}

/** Sync cursors a response moves forward, per database (the bridge stores them). */
export function syncCursorUpdates(tables: LSTables): Array<{ database: number; cursor: string | null; sendSyncParams: boolean }> {
  return (tables.LSExecuteFirstBlockForSyncTransaction ?? []).map((row) => ({
    database: row.databaseId,
    cursor: row.nextCursor ?? null,
    sendSyncParams: row.sendSyncParams ?? false,
  }));
}
