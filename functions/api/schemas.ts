import { z } from 'zod';
import { SAGA_STATUSES } from '../../lib/domain/saga-event';
import { parseIsoBound } from '../../lib/query/dates';
import { SORT_VALUES } from '../../lib/query/search-criteria';

/**
 * The API's request and response schemas: requests are validated with them at
 * the boundary, and the OpenAPI document is generated from the same objects.
 */

const STATUS_LIST = SAGA_STATUSES.join(', ');

function text(max: number, description: string) {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\u0000') && value.isWellFormed(), 'must be well-formed text')
    .meta({ description });
}

export const sagaStatusSchema = z
  .enum(SAGA_STATUSES, { error: `must be one of ${STATUS_LIST}` })
  .meta({ id: 'SagaStatus', description: 'Saga or step status.' });

/** Query values are case-insensitive where they name a status. */
const statusParam = z.preprocess(
  (value) => (typeof value === 'string' ? value.toUpperCase() : value),
  sagaStatusSchema,
);

function dateParam(bound: 'start' | 'end', description: string) {
  return z
    .string()
    .transform((value, ctx) => {
      const date = parseIsoBound(value, bound);
      if (!date) {
        ctx.addIssue({
          code: 'custom',
          message:
            'must be an ISO 8601 date (2026-11-25) or date-time (2026-11-25T09:00:00Z) between the years 1900 and 9999',
        });
        return z.NEVER;
      }
      return date;
    })
    .meta({ description, example: bound === 'start' ? '2026-11-01' : '2026-11-25T12:00:00Z' });
}

/** An integer query value; converted before validation (a coerced schema would be documented as nullable). */
function integerParam(min: number, max: number, description: string) {
  return z
    .preprocess(
      (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
      z
        .number({ error: 'must be an integer' })
        .int('must be an integer')
        .min(min, `must be at least ${min}`)
        .max(max, `must be at most ${max}`),
    )
    .meta({ description });
}

export const sagaIdParams = z.object({ sagaId: text(100, 'The saga id.') });

export const searchQuerySchema = z.object({
  orderId: text(100, 'Sagas of this order.').optional(),
  sagaType: text(50, 'Sagas of this type, e.g. ORDER_CREATION.').optional(),
  type: text(50, 'Short form of sagaType (the seed API).').optional(),
  status: statusParam.optional().meta({ description: `Current status: one of ${STATUS_LIST}.` }),
  fromDate: dateParam(
    'start',
    'Sagas started at or after this instant; a date alone means its midnight UTC.',
  ).optional(),
  toDate: dateParam(
    'end',
    'Sagas started before this instant; a date alone includes that whole UTC day.',
  ).optional(),
  traceId: text(100, 'Sagas with a step of this trace id (metadata.traceId).').optional(),
  step: text(100, 'Sagas that went through a step of this name.').optional(),
  stuckForSeconds: integerParam(
    1,
    10 * 365 * 86_400,
    'Sagas still STARTED or IN_PROGRESS whose last event is older than this many seconds.',
  ).optional(),
  page: integerParam(0, 100_000, 'Zero-based page number (offset paging). Not with cursor.').optional(),
  size: integerParam(1, 100, 'Page size, 1 to 100.').default(20),
  sort: z
    .enum(SORT_VALUES, { error: `must be one of ${SORT_VALUES.join(' | ')}` })
    .meta({ description: 'Sort order; the default is startedAt,desc.' })
    .optional(),
  cursor: z
    .string()
    .meta({ description: 'nextCursor of the previous page (keyset paging): same speed at any depth.' })
    .optional(),
  includeArchived: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((value) => value === 'true')
    .meta({
      description:
        'true: archived sagas (cold storage) match too, through the archive index, merged into the same order ' +
        'and paging (both styles). They can be matched by orderId, sagaType/type, status, fromDate, toDate and ' +
        'stuckForSeconds; traceId, step and meta.* are refused with it (their steps are in cold storage). ' +
        'A 400 when the API has no archive configured.',
    })
    .optional(),
});

/** `meta.<key>=<value>` parameters, validated one by one. */
export const metadataKeySchema = text(100, 'Metadata key.');
export const metadataValueSchema = text(1_000, 'Metadata value.');
export const METADATA_PARAM_PREFIX = 'meta.';
export const MAX_METADATA_FILTERS = 5;

export const statisticsQuerySchema = z.object({
  sagaType: text(50, 'Only sagas of this type.').optional(),
  fromDate: dateParam(
    'start',
    'Start of the period (on startedAt); default 24 hours before toDate.',
  ).optional(),
  toDate: dateParam('end', 'End of the period, exclusive; default now.').optional(),
});

export const statusOverrideBodySchema = z
  .object({
    status: sagaStatusSchema,
    reason: z
      .string({ error: 'is required: say why the status is forced' })
      .trim()
      .min(1, 'must not be empty: say why the status is forced')
      .max(2_000, 'must be at most 2000 characters'),
  })
  .strict()
  .meta({ id: 'StatusOverrideRequest' });

const isoTimestamp = z.string().meta({ format: 'date-time', example: '2026-11-25T09:00:00.000Z' });
const jsonObject = z.record(z.string(), z.unknown());

/** Where a saga is served from: hot tables or cold storage. Present on every saga, hot ones included. */
const archiveFields = {
  archived: z.boolean().meta({
    description:
      'true: the saga left the hot tables and was read back from cold storage (S3), exactly as it was ' +
      'answered before archiving; false: served from the hot tables.',
  }),
  archivedAt: isoTimestamp.nullable().meta({
    description:
      'When the saga was archived; for a hot saga that a late event brought back, when its earlier ' +
      'timeline was archived (its steps are then read from both). Null for a saga never archived.',
  }),
};

export const sagaSchema = z
  .object({
    sagaId: z.string(),
    sagaType: z.string(),
    orderId: z.string(),
    currentStatus: z.string(),
    lastStep: z.string(),
    lastTraceId: z.string().nullable(),
    startedAt: isoTimestamp,
    updatedAt: isoTimestamp,
    stepCount: z.number().int(),
    statusOverriddenAt: isoTimestamp.nullable().meta({
      description: 'When an operator last forced the status (a newer producer event takes over again).',
    }),
    ...archiveFields,
  })
  .meta({ id: 'Saga' });

export const stepSchema = z
  .object({
    id: z.number().int(),
    eventId: z.string(),
    step: z.string(),
    status: z.string(),
    producerService: z.string().nullable(),
    traceId: z.string().nullable(),
    metadata: jsonObject.nullable(),
    recordedAt: isoTimestamp,
    eventTimestamp: isoTimestamp,
  })
  .meta({ id: 'Step' });

export const statusOverrideSchema = z
  .object({
    id: z.number().int(),
    previousStatus: z.string(),
    status: z.string(),
    reason: z.string(),
    principal: z.string().meta({ description: 'The IAM principal (ARN) that forced the status.' }),
    principalAccount: z.string().nullable(),
    requestId: z.string().nullable(),
    overriddenAt: isoTimestamp,
  })
  .meta({ id: 'StatusOverride' });

export const sagaStepsSchema = z
  .object({
    sagaId: z.string(),
    steps: z.array(stepSchema).meta({ description: 'Producer events in event-time order.' }),
    statusOverrides: z
      .array(statusOverrideSchema)
      .meta({ description: 'Operator status overrides, oldest first (audit entries, not steps).' }),
    ...archiveFields,
  })
  .meta({ id: 'SagaSteps' });

export const searchResultSchema = z
  .object({
    content: z.array(sagaSchema),
    page: z.object({
      number: z.number().int().nullable().meta({ description: 'Null when paging by cursor.' }),
      size: z.number().int(),
      totalElements: z.number().int().nullable().meta({ description: 'Null when paging by cursor.' }),
      totalPages: z.number().int().nullable().meta({ description: 'Null when paging by cursor.' }),
    }),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as cursor for the next page; null at the end.' }),
  })
  .meta({ id: 'SagaSearchResult' });

const countsSchema = z.record(z.string(), z.number().int());

export const statisticsSchema = z
  .object({
    period: z.object({ from: isoTimestamp, to: isoTimestamp }),
    sagaType: z.string().nullable(),
    total: z.number().int(),
    byStatus: countsSchema,
    byType: countsSchema,
    byTypeAndStatus: z.record(z.string(), countsSchema),
    failureRate: z.number().meta({ description: 'Share of the sagas that went through FAILED.' }),
    compensationRate: z.number().meta({ description: 'Share of the sagas that reached COMPENSATED.' }),
    avgDurationSeconds: z.number().nullable(),
    durationSeconds: z
      .object({
        count: z.number().int(),
        p50: z.number().nullable(),
        p95: z.number().nullable(),
        p99: z.number().nullable(),
      })
      .meta({ description: 'From the first step to the terminal status, over sagas in a terminal status.' }),
  })
  .meta({ id: 'SagaStatistics' });

export const statusOverrideOutcomeSchema = z
  .object({
    sagaId: z.string(),
    previousStatus: z.string(),
    currentStatus: z.string(),
    updatedAt: isoTimestamp,
    override: statusOverrideSchema,
  })
  .meta({ id: 'StatusOverrideOutcome' });

const REPLAY_STATUSES = ['REPLAYED', 'ALREADY_STORED', 'FAILED', 'SKIPPED', 'NOT_FOUND'] as const;

export const replayResultSchema = z
  .object({
    eventId: z.string().nullable().meta({
      description:
        'Null only for a dead letter asked for by id whose value never decoded far enough to name its event.',
    }),
    status: z.enum(REPLAY_STATUSES).meta({
      description:
        'REPLAYED: stored by this request; ALREADY_STORED: it was stored before (a repeated request succeeds); ' +
        'FAILED: failed again and stays pending (see reason); SKIPPED: another redrive holds it right now, retry; ' +
        'NOT_FOUND: no dead letter of this event and not stored.',
    }),
    reason: z
      .string()
      .optional()
      .meta({ description: 'Why it failed or was skipped: a dead-letter reason, LOCKED, NOT_FOUND…' }),
    message: z.string().optional().meta({ description: 'What failed, for FAILED.' }),
    deadLetterIds: z
      .array(z.string())
      .meta({ description: 'The dead-letter rows of this event the request looked at.' }),
  })
  .meta({ id: 'ReplayResult' });

export const replayResponseSchema = z
  .object({
    requested: z.number().int().meta({ description: 'Distinct event (or dead-letter) ids requested.' }),
    successful: z.number().int().meta({ description: 'REPLAYED and ALREADY_STORED.' }),
    failed: z.number().int().meta({ description: 'FAILED and NOT_FOUND.' }),
    skipped: z.number().int().meta({ description: 'SKIPPED (held by another redrive: retry).' }),
    dryRun: z.boolean().meta({ description: 'Nothing was changed: the outcome a real replay would have.' }),
    results: z
      .array(replayResultSchema)
      .meta({ description: 'One per requested event (or dead letter), in request order.' }),
  })
  .meta({ id: 'ReplayResponse' });

export const deadLetterSchema = z
  .object({
    id: z.string(),
    topic: z.string(),
    partition: z.number().int(),
    offset: z.number().int(),
    kafkaTimestamp: isoTimestamp.nullable(),
    key: z.string().nullable().meta({ description: 'The Kafka record key, base64.' }),
    value: z.string().nullable().meta({ description: 'The Kafka record value exactly as received, base64.' }),
    headers: z.array(z.object({ key: z.string(), value: z.string() })),
    eventId: z.string().nullable().meta({ description: 'When the value could be decoded that far.' }),
    sagaId: z.string().nullable(),
    reason: z.string().meta({ description: 'Why the record is a dead letter (its last failure).' }),
    reasonMessage: z.string(),
    status: z.string().meta({ description: 'PENDING or REPLAYED.' }),
    attempts: z.number().int().meta({ description: 'Redrive attempts so far.' }),
    lastError: z.string().nullable(),
    source: z.string().meta({ description: 'Who stored it: consumer, or redrive-s3 for a discarded batch.' }),
    createdAt: isoTimestamp,
    updatedAt: isoTimestamp,
    resolvedAt: isoTimestamp.nullable(),
  })
  .meta({ id: 'DeadLetter' });

export const deadLetterPageSchema = z
  .object({
    content: z.array(deadLetterSchema),
    page: z.object({
      number: z.number().int(),
      size: z.number().int(),
      totalElements: z.number().int(),
      totalPages: z.number().int(),
    }),
  })
  .meta({ id: 'DeadLetterPage' });

export const healthSchema = z
  .object({
    status: z.literal('UP'),
    database: z.literal('UP'),
    checkedAt: isoTimestamp,
  })
  .meta({ id: 'Health' });

export const errorSchema = z
  .object({
    error: z.enum([
      'BAD_REQUEST',
      'FORBIDDEN',
      'NOT_FOUND',
      'METHOD_NOT_ALLOWED',
      'CONFLICT',
      'INTERNAL_ERROR',
      'SERVICE_UNAVAILABLE',
    ]),
    message: z.string(),
    timestamp: isoTimestamp,
    path: z.string(),
    details: z.unknown().meta({ description: 'Machine-readable context, e.g. the parameter at fault.' }),
  })
  .meta({ id: 'Error' });

/** The OpenAPI document is any JSON object. */
export const openApiDocumentSchema = z.record(z.string(), z.unknown());
