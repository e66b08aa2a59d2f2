/**
 * Size limits of the sandbox wire protocol, shared by the server, the client and the schemas.
 * A module of its own so wire.ts and wire-content.ts can both use them without an import cycle.
 */
export const LIMITS = {
  textLength: 65_536,
  entities: 1_000,
  nameLength: 100,
  topicLength: 1_000,
  emojiLength: 32,
  idLength: 200,
  pageSize: 500,
  groupMembers: 1_024,
  /** Largest WebSocket frame either side accepts. */
  frameBytes: 1_048_576,
  /** Largest `payload` of extension content, as UTF-8 JSON. */
  extensionPayloadBytes: 65_536,
  /** Deepest nesting of arrays and objects inside an extension payload. */
  extensionPayloadDepth: 32,
} as const;
