import { z } from 'zod';
import { describeIssues } from '../domain/saga-event';

/**
 * One NDJSON line per saga: `{"archive_format":1,"saga":{…},"steps":[…]}`.
 * `saga` is the saga_instance row and `steps` its saga_steps rows in event
 * time order, each exactly as PostgreSQL renders the row as JSON in a UTC
 * session: every column, timestamps as ISO 8601 with the microseconds
 * timestamptz keeps (`2026-08-27T09:00:00.123456+00:00`), bytea as `\x…` hex,
 * metadata as its JSON. Columns added to the tables later are carried along.
 */
export const ARCHIVE_FORMAT_VERSION = 1;

/** PostgreSQL's JSON rendering of a timestamptz in UTC (fractional digits trimmed). */
export const PG_UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$/;

const timestamp = z.string().regex(PG_UTC_TIMESTAMP, 'must be a PostgreSQL UTC timestamp');

export const archivedSagaRowSchema = z.looseObject({
  saga_id: z.string(),
  saga_type: z.string(),
  order_id: z.string(),
  current_status: z.string(),
  last_step: z.string(),
  last_trace_id: z.string().nullable(),
  started_at: timestamp,
  updated_at: timestamp,
  created_at: timestamp,
  step_count: z.int(),
  last_recorded_at: timestamp,
  last_event_timestamp: timestamp,
  last_event_id: z.string(),
  failed_at: timestamp.nullable(),
  compensated_at: timestamp.nullable(),
});

export const archivedStepRowSchema = z.looseObject({
  id: z.int(),
  saga_id: z.string(),
  event_id: z.string(),
  step: z.string(),
  status: z.string(),
  producer_service: z.string().nullable(),
  trace_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  recorded_at: timestamp,
  created_at: timestamp,
  event_timestamp: timestamp,
  saga_type: z.string(),
  order_id: z.string(),
});

/** A saga_instance row as archived: every column; timestamps as PostgreSQL UTC text. */
export type ArchivedSagaRow = z.output<typeof archivedSagaRowSchema>;
/** A saga_steps row as archived: every column; timestamps as PostgreSQL UTC text. */
export type ArchivedStepRow = z.output<typeof archivedStepRowSchema>;

const lineSchema = z.strictObject({
  archive_format: z.literal(ARCHIVE_FORMAT_VERSION),
  saga: archivedSagaRowSchema,
  steps: z.array(archivedStepRowSchema),
});

export interface ArchiveLine {
  readonly saga: ArchivedSagaRow;
  readonly steps: readonly ArchivedStepRow[];
}

/** Parses one decompressed member; the message of any failure says what is wrong. */
export function parseArchiveLine(text: string, expectedSagaId: string): ArchiveLine {
  if (!text.endsWith('\n') || text.indexOf('\n') !== text.length - 1)
    throw new Error('a saga member must hold exactly one line');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`the line is not JSON: ${(error as Error).message}`);
  }
  const parsed = lineSchema.safeParse(json);
  if (!parsed.success) throw new Error(`the line is not an archived saga: ${describeIssues(parsed.error)}`);
  const { saga, steps } = parsed.data;
  if (saga.saga_id !== expectedSagaId) throw new Error(`the line holds saga ${saga.saga_id}`);
  const stranger = steps.find((step) => step.saga_id !== expectedSagaId);
  if (stranger) throw new Error(`step ${stranger.event_id} belongs to saga ${stranger.saga_id}`);
  return { saga, steps };
}
