/** Matrix HTML <-> neutral formatted text (see formatted-text.ts for the shape). */
export {
  ENTITY_TYPES,
  compareEntities,
  isEntityType,
  isValidEntity,
  isWellFormed,
  normalizeEntities,
  plain,
  sortEntities,
  type EntityType,
  type FormattedText,
  type TextEntity,
} from './formatted-text.js';
export { htmlToFormatted } from './html-to-formatted.js';
export { formattedToHtml, formattedToPlain, type MatrixFormattedBody } from './formatted-to-html.js';
export { sanitizeHtml } from './sanitize-html.js';
export { ALLOWED_ATTRIBUTES, ALLOWED_TAGS } from './allowlist.js';
export { ALLOWED_LINK_SCHEMES, isMxcUri, isValidUserId, mentionUrl, mentionUserId, safeLinkUrl } from './links.js';
export { cleanText, escapeHtml, type ParseLimits } from './text-clean.js';
export { cleanFormattedText } from './clean-formatted.js';
