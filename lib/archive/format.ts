import { z } from 'zod';
import { describeIssues } from '../domain/saga-event';

/**
 * One NDJSON line per saga: `{"archive_format":1,"saga":{…},"steps":[…]}`,
 * plus `"status_overrides":[…]` when an operator forced the saga's status.
 * `saga` is the saga_instance row, `steps` its saga_steps rows in event time
 * order and `status_overrides` its saga_status_override rows (the operators'
 * audit) oldest first, each exactly as PostgreSQL renders the row as JSON in
 * a UTC session: every column, timestamps as ISO 8601 with the microseconds
 * timestamptz keeps (`2026-08-27T09:00:00.123456+00:00`), bytea as `\x…` hex,
 * metadata as its JSON. Columns added to the tables later are carried along.
 * `status_overrides` is optional so lines without overrides stay exactly as
 * before it existed.
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
  status_overridden_at: timestamp.nullable().optional(),
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

export const archivedStatusOverrideRowSchema = z.looseObject({
  id: z.int(),
  saga_id: z.string(),
  previous_status: z.string(),
  new_status: z.string(),
  reason: z.string(),
  principal: z.string(),
  principal_account: z.string().nullable(),
  request_id: z.string().nullable(),
  overridden_at: timestamp,
});

/** A saga_instance row as archived: every column; timestamps as PostgreSQL UTC text. */
export type ArchivedSagaRow = z.output<typeof archivedSagaRowSchema>;
/** A saga_steps row as archived: every column; timestamps as PostgreSQL UTC text. */
export type ArchivedStepRow = z.output<typeof archivedStepRowSchema>;
/** A saga_status_override row (an operator's audit entry) as archived. */
export type ArchivedStatusOverrideRow = z.output<typeof archivedStatusOverrideRowSchema>;

const lineSchema = z.strictObject({
  archive_format: z.literal(ARCHIVE_FORMAT_VERSION),
  saga: archivedSagaRowSchema,
  steps: z.array(archivedStepRowSchema),
  status_overrides: z.array(archivedStatusOverrideRowSchema).optional(),
});

export interface ArchiveLine {
  readonly saga: ArchivedSagaRow;
  readonly steps: readonly ArchivedStepRow[];
  /** The operators' status overrides, oldest first (none for most sagas). */
  readonly statusOverrides: readonly ArchivedStatusOverrideRow[];
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
  const statusOverrides = parsed.data.status_overrides ?? [];
  if (saga.saga_id !== expectedSagaId) throw new Error(`the line holds saga ${saga.saga_id}`);
  const stranger = steps.find((step) => step.saga_id !== expectedSagaId);
  if (stranger) throw new Error(`step ${stranger.event_id} belongs to saga ${stranger.saga_id}`);
  const strangeAudit = statusOverrides.find((entry) => entry.saga_id !== expectedSagaId);
  if (strangeAudit)
    throw new Error(`status override ${strangeAudit.id} belongs to saga ${strangeAudit.saga_id}`);
  return { saga, steps, statusOverrides };
}
