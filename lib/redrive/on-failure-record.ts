import { z } from 'zod';
import type { KafkaEvent, KafkaRecord } from '../ingest/kafka-event';
import { compareRefs, kafkaEventSchema } from '../ingest/kafka-event';

/**
 * Conditions AWS documents for a discarded Kafka batch. The field stays an open
 * string: a condition added later must not make the batch unreadable.
 */
export const KNOWN_ON_FAILURE_CONDITIONS = [
  'RetryAttemptsExhausted',
  'MaximumPayloadSizeExceeded',
  'RecordAgeExceeded',
] as const;

// Offsets are documented as decimal strings; numbers are accepted too.
const offset = z.union([
  z.string().regex(/^\d+$/, 'must be a decimal offset'),
  z.number().int().nonnegative(),
]);

/**
 * The JSON document Lambda writes to an S3 on-failure destination for a Kafka
 * event source mapping batch it gave up on ("Capturing discarded batches for
 * Amazon MSK and self-managed Apache Kafka event sources"): the invocation
 * metadata, `KafkaBatchInfo`, and `payload`, the whole invocation event as a
 * JSON string. Every documented field is required; fields AWS may add later
 * are ignored.
 */
export const onFailureRecordSchema = z.object({
  requestContext: z.object({
    requestId: z.string(),
    functionArn: z.string(),
    condition: z.string().min(1),
    approximateInvokeCount: z.number().int().nonnegative(),
  }),
  // null when the batch never reached the function (MaximumPayloadSizeExceeded).
  responseContext: z
    .object({
      statusCode: z.number().int(),
      executedVersion: z.string().nullish(),
      functionError: z.string().nullish(),
    })
    .nullable(),
  version: z.string(),
  timestamp: z.iso.datetime({ offset: true }),
  KafkaBatchInfo: z.object({
    batchSize: z.number().int().nonnegative(),
    eventSourceArn: z.string(),
    bootstrapServers: z.string(),
    payloadSize: z.number().int().nonnegative(),
    recordsInfo: z.record(
      z.string(),
      z.object({
        firstRecordOffset: offset,
        lastRecordOffset: offset,
        firstRecordTimestamp: z.string(),
        lastRecordTimestamp: z.string(),
      }),
    ),
  }),
  // Only S3 destinations carry it; absent when the batch was too large to keep.
  payload: z.string().optional(),
});
export type OnFailureRecord = z.output<typeof onFailureRecordSchema>;

export type OnFailureProblem = 'MALFORMED_ON_FAILURE_RECORD' | 'PAYLOAD_MISSING';

export type ParsedOnFailureRecord =
  | {
      readonly ok: true;
      readonly record: OnFailureRecord;
      readonly event: KafkaEvent;
      /** The batch's records in partition/offset order, each Kafka record once. */
      readonly records: readonly KafkaRecord[];
    }
  | {
      readonly ok: false;
      readonly reason: OnFailureProblem;
      readonly message: string;
      /** The metadata, when only the payload was unusable. */
      readonly record?: OnFailureRecord;
    };

function describe(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(document)'}: ${issue.message}`;
    })
    .join('; ');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Records of an event in Kafka order, a record listed twice kept once. */
export function distinctRecordsInOrder(event: KafkaEvent): KafkaRecord[] {
  const seen = new Set<string>();
  return Object.values(event.records)
    .flat()
    .sort(compareRefs)
    .filter((record) => {
      const key = JSON.stringify([record.topic, record.partition, record.offset]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/**
 * Reads an on-failure record strictly. Anything unusable is a result naming
 * the field, never an exception: one bad object must not stop a redrive run.
 */
export function parseOnFailureRecord(text: string): ParsedOnFailureRecord {
  const document = parseJson(text);
  if (!document.ok) {
    return {
      ok: false,
      reason: 'MALFORMED_ON_FAILURE_RECORD',
      message: `not JSON: ${document.message}`,
    };
  }
  const parsed = onFailureRecordSchema.safeParse(document.value);
  if (!parsed.success) {
    return { ok: false, reason: 'MALFORMED_ON_FAILURE_RECORD', message: describe(parsed.error, '') };
  }
  const record = parsed.data;
  if (record.payload === undefined) {
    const ranges = Object.entries(record.KafkaBatchInfo.recordsInfo)
      .map(([partition, info]) => `${partition} offsets ${info.firstRecordOffset}..${info.lastRecordOffset}`)
      .join(', ');
    return {
      ok: false,
      reason: 'PAYLOAD_MISSING',
      message: `the record (condition ${record.requestContext.condition}) holds no payload; read ${ranges || 'the batch'} from Kafka again`,
      record,
    };
  }
  const payload = parseJson(record.payload);
  if (!payload.ok) {
    return {
      ok: false,
      reason: 'MALFORMED_ON_FAILURE_RECORD',
      message: `payload is not JSON: ${payload.message}`,
      record,
    };
  }
  const event = kafkaEventSchema.safeParse(payload.value);
  if (!event.success) {
    return {
      ok: false,
      reason: 'MALFORMED_ON_FAILURE_RECORD',
      message: `payload is not a Kafka event: ${describe(event.error, 'payload')}`,
      record,
    };
  }
  return { ok: true, record, event: event.data, records: distinctRecordsInOrder(event.data) };
}
