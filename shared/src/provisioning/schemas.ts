/**
 * Every path parameter, query parameter and body of the provisioning API, as zod schemas. A value
 * that does not fit is refused before any handler runs: 400 `M_INVALID_PARAM` for parameters,
 * 400 `M_BAD_JSON` for bodies. Error messages name the offending field, never echo its value
 * (bodies carry passwords and cookies).
 */
import { z } from 'zod';
import { ApiError } from './errors.js';

/** Printable text without control characters, for ids that come from URLs. */
const text = (max: number) => z.string().min(1).max(max).regex(/^[^\p{Cc}]+$/u, { error: 'must not contain control characters' });

export const flowId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'expected a login flow id' });
export const loginProcessId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected a login process id' });
export const stepId = text(128);
export const stepType = z.enum(['user_input', 'cookies', 'display_and_wait']);
export const loginId = text(255);
export const identifier = text(256);
export const groupType = z.literal('group', { error: 'the only group type is "group"' });

export const loginIdQuery = z.object({ login_id: loginId.optional() });

/** Field values of a user_input or cookies step, keyed by field id. */
export const stepValues = z.record(z.string().min(1).max(128), z.string().max(16_384))
  .refine((v) => Object.keys(v).length <= 64, { error: 'at most 64 fields' });

/** POST bodies that carry nothing: absent, or an empty object. */
export const emptyBody = z.strictObject({});

const memberList = z.array(text(255)).min(1).max(256);

/**
 * A group to create. `members` are remote user ids or their ghosts' Matrix ids. mautrix clients
 * send `participants` and `{name: {name}}` / `{topic: {topic}}` (room state contents); both
 * spellings are accepted.
 */
export const createGroupBody = z.strictObject({
  name: z.union([text(256), z.strictObject({ name: text(256) }).transform((n) => n.name)]).optional(),
  topic: z.union([z.string().max(1024), z.strictObject({ topic: z.string().max(1024) }).transform((t) => t.topic)]).optional(),
  members: memberList.optional(),
  participants: memberList.optional(),
  type: groupType.optional(),
}).superRefine((b, ctx) => {
  if (!b.members === !b.participants) ctx.addIssue({ code: 'custom', path: ['members'], message: 'give the members as either members or participants' });
}).transform((b) => ({ name: b.name, topic: b.topic, members: (b.members ?? b.participants)! }));

export type CreateGroupBody = z.output<typeof createGroupBody>;

function describe(error: z.ZodError): string {
  return error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(value)'}: ${i.message}`).join('; ');
}

/** Parses a path or query parameter set. */
export function parseParams<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const res = schema.safeParse(value);
  if (!res.success) throw new ApiError(400, 'M_INVALID_PARAM', `Invalid parameter: ${describe(res.error)}`);
  return res.data;
}

/** Parses a JSON body already read as a value. */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const res = schema.safeParse(value);
  if (!res.success) throw new ApiError(400, 'M_BAD_JSON', `Invalid request body: ${describe(res.error)}`);
  return res.data;
}
