import { deadLetterListQuerySchema, replayRequestSchema } from '../../../lib/redrive/options';
import { defineRoute } from '../router';
import { deadLetterPageSchema, errorSchema, replayResponseSchema } from '../schemas';
import { iamPrincipalOf } from './status-override';

const forbidden = { description: 'The caller is not an IAM principal.', schema: errorSchema };

export const replayRoute = defineRoute({
  method: 'POST',
  path: '/internal/v1/sagas/replay',
  operationId: 'replayDeadLetters',
  summary: 'Replay dead letters of these events (operators)',
  description:
    "Re-runs the pending dead letters of each event through the consume function's ingest path (same " +
    'validation, same locks as the redrive function). Fix the cause first (register the schema, raise ' +
    'MAX_CLOCK_SKEW_SECONDS…): a dead letter that fails again stays pending with its new reason. Records that ' +
    'never decoded far enough to have an event id are replayed by `deadLetterIds` instead. Safe to repeat: a ' +
    'stored event answers ALREADY_STORED. dryRun: true runs the same statements and rolls them back. Whole ' +
    "batches in the S3 dead-letter bucket are the redrive function's job (`npm run redrive`).",
  tags: ['admin'],
  auth: 'iam',
  body: replayRequestSchema.meta({ id: 'ReplayRequest' }),
  responses: {
    200: { description: 'One result per requested event.', schema: replayResponseSchema },
    400: { description: 'The body is invalid (the message names the field).', schema: errorSchema },
    403: forbidden,
    503: {
      description:
        'The database or the schema registry became unavailable; what was replayed stays replayed: retry.',
      schema: errorSchema,
    },
  },
  handle: async ({ body, event }, deps) => {
    const principal = iamPrincipalOf(event);
    const response = await deps.deadLetters.replay(body);
    deps.logger.info('dead letters replayed', {
      principal: principal.arn,
      dryRun: response.dryRun,
      requested: response.requested,
      successful: response.successful,
      failed: response.failed,
      skipped: response.skipped,
    });
    return { body: response };
  },
});

export const listDeadLettersRoute = defineRoute({
  method: 'GET',
  path: '/internal/v1/dead-letters',
  operationId: 'listDeadLetters',
  summary: 'List dead letters (operators)',
  description:
    'Kafka records the tracker could not apply, with their raw bytes (base64) and reason. Default: the PENDING ' +
    'ones, newest first; filter by reason, status (PENDING, REPLAYED, ALL), source, eventId, sagaId and ' +
    'creation time; page and size as in the saga search.',
  tags: ['admin'],
  auth: 'iam',
  query: deadLetterListQuerySchema,
  responses: {
    200: { description: 'A page of dead letters.', schema: deadLetterPageSchema },
    400: { description: 'A parameter is invalid (the message names it).', schema: errorSchema },
    403: forbidden,
    503: { description: 'The database is unavailable; retry later.', schema: errorSchema },
  },
  handle: async ({ query, event }, deps) => {
    iamPrincipalOf(event);
    return { body: await deps.deadLetters.list(query) };
  },
});
