import { z } from 'zod';
import { LIMITS, PHONE_RE, accountIdSchema, extensionFieldsSchema, formattedTextSchema } from '../wire.js';

/** Bodies of the control API (docs/sandbox.md). Unknown fields are ignored. */

const id = z.string().min(1).max(LIMITS.idLength);
const as = id;
const name = z.string().trim().min(1).max(LIMITS.nameLength);
const text = z.string().min(1).max(LIMITS.textLength);
const base64 = z.string().regex(/^[A-Za-z0-9+/=_-]*$/, 'not base64');

export const createAccountBody = z.object({
  id: accountIdSchema,
  name,
  phone: z.string().regex(PHONE_RE, 'phone must look like +15551234567').optional(),
  password: z.string().min(1).max(200).optional(),
  avatar: id.nullable().optional(),
});

export const presenceBody = z.object({ online: z.boolean() });
export const disconnectBody = z.object({ refuse_ms: z.number().int().min(0).max(3_600_000).optional() });
export const logoutBody = z.object({ reason: z.string().max(200).optional() });
export const createGroupBody = z.object({
  name, creator: id, members: z.array(id).max(LIMITS.groupMembers), topic: z.string().max(LIMITS.topicLength).optional(),
});
export const createDmBody = z.object({ a: id, b: id });

const imageSpec = z.object({
  /** The bytes; without them a test PNG is generated. */
  base64: base64.optional(),
  generate: z.object({
    width: z.number().int().min(1).max(2048).optional(),
    height: z.number().int().min(1).max(2048).optional(),
    color: z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]).optional(),
  }).optional(),
  mimetype: z.string().min(1).max(255).optional(),
  filename: z.string().min(1).max(255).optional(),
  caption: z.string().max(LIMITS.textLength).optional(),
});
const mediaSpec = z.object({
  kind: z.enum(['image', 'video', 'audio', 'file']),
  base64,
  mimetype: z.string().min(1).max(255),
  filename: z.string().min(1).max(255).optional(),
  caption: z.string().max(LIMITS.textLength).optional(),
  duration_ms: z.number().int().min(0).optional(),
});

/** Exactly one of text / formatted / notice / image / media / location / extension. */
export const sendMessageBody = z.object({
  as,
  text: text.optional(),
  formatted: formattedTextSchema.optional(),
  notice: text.optional(),
  image: imageSpec.optional(),
  media: mediaSpec.optional(),
  location: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180), name: z.string().max(LIMITS.nameLength).optional() }).optional(),
  /** Network-specific content: `{network, payload, fallback}`. */
  extension: extensionFieldsSchema.optional(),
  reply_to: id.optional(),
}).refine((b) => [b.text, b.formatted, b.notice, b.image, b.media, b.location, b.extension].filter((v) => v !== undefined).length === 1, {
  message: 'give exactly one of text, formatted, notice, image, media, location, extension',
});

/** Exactly one of text / formatted / extension (the last only for extension messages). */
export const editBody = z.object({ as, text: text.optional(), formatted: formattedTextSchema.optional(), extension: extensionFieldsSchema.optional() })
  .refine((b) => [b.text, b.formatted, b.extension].filter((v) => v !== undefined).length === 1, { message: 'give exactly one of text, formatted, extension' });
export const reactBody = z.object({ as, emoji: z.string().min(1).max(LIMITS.emojiLength) });
export const asBody = z.object({ as });
export const readBody = z.object({ as, message: id });
export const typingBody = z.object({ as, typing: z.boolean() });
export const membersBody = z.object({ as, add: id.optional(), remove: id.optional() })
  .refine((b) => (b.add === undefined) !== (b.remove === undefined), { message: 'give exactly one of add, remove' });
export const patchChatBody = z.object({
  as,
  name: name.optional(),
  topic: z.string().max(LIMITS.topicLength).optional(),
  avatar: id.nullable().optional(),
  disappear_ms: z.number().int().nullable().optional(),
});
export const approveBody = z.object({ account: id });
/** Without `as` the change is made by the group's owner. */
export const roleBody = z.object({ as: as.optional(), user: id, role: z.enum(['member', 'admin']) });
