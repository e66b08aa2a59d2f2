/** The message converter shared by the Messenger and Instagram connectors, both directions. */
export * from './meta-ids.js';
export * from './meta-message.js';
export * from './meta-mentions.js';
export { parseMetaText, MAX_META_TEXT } from './meta-text.js';
export { formatMetaText, EVERYONE_TEXT, type MetaFormatOptions, type MetaOutgoingText } from './meta-format.js';
export * from './to-matrix-common.js';
export { convertMetaMedia, mediaKindOf, mediaSourceOf, type MetaMediaKind } from './to-matrix-media.js';
export { convertMetaXma, canonicalXmaUrl, isXma, isLinkPreviewXma, xmaKindOf, XMA_LABELS, type XmaKind } from './to-matrix-xma.js';
export { convertMetaMessage, convertMetaEdit, metaFormattedText, withForwardedPrefix, UNSENT_NOTICE, FORWARDED_PREFIX, THUMBS_UP } from './to-matrix.js';
export * from './to-remote-events.js';
export * from './from-matrix-media.js';
export * from './from-matrix.js';
export * from './from-matrix-actions.js';
