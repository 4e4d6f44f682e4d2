import { z } from 'zod';
import { BadRequestError, DEAD_LETTER_REASONS } from '../errors';
import type { RedriveSource } from './report';

export const MAX_REDRIVE_LIMIT = 10_000;
export const DEFAULT_REDRIVE_LIMIT = 100;

const eventId = z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
const deadLetterId = z
  .union([z.number().int().positive(), z.string().regex(/^[1-9]\d{0,18}$/, 'must be a dead-letter id')])
  .transform(String);
const timestamp = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-11-25T00:00:00Z' })
  .transform((text) => new Date(text));

/**
 * The JSON payload of the redrive function (`aws lambda invoke --payload …`).
 * Unknown options are rejected: a misspelt filter must not widen the run.
 */
export const redriveOptionsSchema = z
  .strictObject({
    /** `table` (per-record dead letters), `s3` (discarded batches), or both (default). */
    source: z.union([z.enum(['table', 's3', 'both']), z.array(z.enum(['table', 's3'])).min(1)]).optional(),
    /** Runs the whole replay in a transaction that is rolled back: the report says what would happen. */
    dryRun: z.boolean().default(false),
    /** At most this many table dead letters, and this many S3 objects. */
    limit: z.number().int().positive().max(MAX_REDRIVE_LIMIT).default(DEFAULT_REDRIVE_LIMIT),
    /** Only dead letters of these events (table rows; S3 batches holding any of them). */
    eventIds: z.array(eventId).min(1).max(1000).optional(),
    /** Only these dead-letter table rows. */
    ids: z.array(deadLetterId).min(1).max(MAX_REDRIVE_LIMIT).optional(),
    /** Only these S3 objects (keys in the dead-letter bucket). */
    keys: z.array(z.string().min(1).max(1024)).min(1).max(1000).optional(),
    /** Only dead letters created (table) or written (S3) at or after this instant. */
    since: timestamp.optional(),
  })
  .superRefine((options, ctx) => {
    const sources = options.source === undefined ? undefined : sourcesOf(options.source);
    if (options.ids && sources && !sources.includes('table')) {
      ctx.addIssue({
        code: 'custom',
        path: ['ids'],
        message: 'selects table dead letters; source excludes table',
      });
    }
    if (options.keys && sources && !sources.includes('s3')) {
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'selects S3 objects; source excludes s3' });
    }
  });

export type RedriveOptionsInput = z.input<typeof redriveOptionsSchema>;

export interface RedriveOptions {
  /** Undefined: decided by the filters and the configuration (see `resolveSources`). */
  readonly sources: readonly RedriveSource[] | undefined;
  readonly dryRun: boolean;
  readonly limit: number;
  readonly eventIds?: readonly string[] | undefined;
  readonly ids?: readonly string[] | undefined;
  readonly keys?: readonly string[] | undefined;
  readonly since?: Date | undefined;
}

function sourcesOf(source: 'table' | 's3' | 'both' | readonly ('table' | 's3')[]): RedriveSource[] {
  if (source === 'both') return ['table', 's3'];
  if (typeof source === 'string') return [source];
  return [...new Set(source)];
}

/** Names each offending option, e.g. `limit: Too big: expected number to be <=10000`. */
export function describeOptionIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return `unknown option ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Validates options at the boundary; a bad option is a `BadRequestError` naming it. */
export function parseRedriveOptions(input: unknown): RedriveOptions {
  const parsed = redriveOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new BadRequestError(`invalid redrive options: ${describeOptionIssues(parsed.error)}`, {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
    });
  }
  const { source, ...rest } = parsed.data;
  return { ...rest, sources: source === undefined ? undefined : sourcesOf(source) };
}

/**
 * Which stores a run reads. Explicit `source` wins; otherwise `ids` means the
 * table and `keys` means S3, and a run without either reads both (S3 only
 * when a dead-letter bucket is configured).
 */
export function resolveSources(options: RedriveOptions, bucketConfigured: boolean): RedriveSource[] {
  if (options.sources) {
    if (options.sources.includes('s3') && !bucketConfigured) {
      throw new BadRequestError('invalid redrive options: source: s3 needs DLQ_BUCKET to be configured');
    }
    return [...options.sources];
  }
  const sources: RedriveSource[] = [];
  if (options.ids || !options.keys) sources.push('table');
  if (bucketConfigured && (options.keys || !options.ids)) sources.push('s3');
  if (options.keys && !bucketConfigured) {
    throw new BadRequestError('invalid redrive options: keys: no DLQ_BUCKET is configured');
  }
  return sources;
}

// ---- Request schemas of the admin API, kept next to the core they feed ----

/** Body of `POST /internal/v1/sagas/replay` (SPEC §4). */
export const replayRequestSchema = z
  .strictObject({
    eventIds: z
      .array(eventId)
      .min(1, 'must name at least one event')
      .max(1000, 'at most 1000 events per request')
      .optional()
      .meta({ description: 'The events whose pending dead letters to replay (repeats count once).' }),
    deadLetterIds: z
      .array(deadLetterId)
      .min(1, 'must name at least one dead letter')
      .max(1000, 'at most 1000 dead letters per request')
      .optional()
      .meta({
        description:
          'Instead of eventIds: dead-letter ids (`id` in GET /internal/v1/dead-letters). Also replays records ' +
          'that never decoded far enough to have an event id (e.g. UNKNOWN_SCHEMA_ID).',
      }),
    dryRun: z
      .boolean()
      .default(false)
      .meta({ description: 'Run the replay and roll it back: the answer says what a real one would do.' }),
  })
  .superRefine((request, ctx) => {
    if (!request.eventIds && !request.deadLetterIds)
      ctx.addIssue({ code: 'custom', path: ['eventIds'], message: 'is required (or deadLetterIds)' });
    if (request.eventIds && request.deadLetterIds)
      ctx.addIssue({
        code: 'custom',
        path: ['deadLetterIds'],
        message: 'cannot be combined with eventIds: give one of them',
      });
  });
export type ReplayRequest = z.output<typeof replayRequestSchema>;

export const DEAD_LETTER_STATUS_FILTERS = ['PENDING', 'REPLAYED', 'ALL'] as const;
export const DEAD_LETTER_SORTS = ['createdAt,desc', 'createdAt,asc'] as const;

// Query strings arrive as text; blank values mean "not given", numbers are converted before validation
// (z.coerce would turn a null into 0, and the OpenAPI document would call the parameter nullable).
const blankIsUnset = (value: unknown) => (value === '' ? undefined : value);
const textToNumber = (value: unknown) =>
  typeof value === 'string' && value.trim() !== '' ? Number(value) : blankIsUnset(value);
const integer = (min: number, max: number) =>
  z
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
const pageNumber = z
  .preprocess(textToNumber, integer(0, 100_000).default(0))
  .meta({ description: 'Zero-based page number.' });
const pageSize = z
  .preprocess(textToNumber, integer(1, 100).default(20))
  .meta({ description: 'Page size, 1 to 100.' });

/** Query of `GET /internal/v1/dead-letters`. */
export const deadLetterListQuerySchema = z.strictObject({
  reason: z
    .preprocess(blankIsUnset, z.enum(DEAD_LETTER_REASONS).optional())
    .meta({ description: 'Only dead letters whose (last) failure had this reason.' }),
  status: z
    .preprocess(blankIsUnset, z.enum(DEAD_LETTER_STATUS_FILTERS).default('PENDING'))
    .meta({ description: 'PENDING (waiting, the default), REPLAYED (applied since), or ALL.' }),
  source: z
    .preprocess(blankIsUnset, z.string().max(20).optional())
    .meta({ description: 'Who stored them: consumer, or redrive-s3 (records of a discarded batch).' }),
  eventId: z
    .preprocess(blankIsUnset, eventId.optional())
    .meta({ description: 'Dead letters of this event.' }),
  sagaId: z
    .preprocess(blankIsUnset, z.string().min(1).max(100).optional())
    .meta({ description: 'Dead letters of this saga.' }),
  fromDate: z
    .preprocess(blankIsUnset, timestamp.optional())
    .meta({ description: 'Created at or after this instant (ISO 8601 date-time).' }),
  toDate: z
    .preprocess(blankIsUnset, timestamp.optional())
    .meta({ description: 'Created before this instant (ISO 8601 date-time).' }),
  page: pageNumber,
  size: pageSize,
  sort: z
    .preprocess(blankIsUnset, z.enum(DEAD_LETTER_SORTS).default('createdAt,desc'))
    .meta({ description: 'createdAt,desc (default) or createdAt,asc.' }),
});
export type DeadLetterListQuery = z.output<typeof deadLetterListQuerySchema>;

function parseOrBadRequest<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new BadRequestError(`invalid ${what}: ${describeOptionIssues(parsed.error)}`, {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
    });
  }
  return parsed.data;
}

export function parseReplayRequest(body: unknown): ReplayRequest {
  return parseOrBadRequest(replayRequestSchema, body, 'replay request');
}

export function parseDeadLetterListQuery(query: unknown): DeadLetterListQuery {
  return parseOrBadRequest(deadLetterListQuerySchema, query, 'dead-letter query');
}
