import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type avro from 'avsc';
import type { z } from 'zod';
import type { WriterSchemas } from '../adapters/schema-registry';
import type { SagaEvent } from '../domain/saga-event';
import { describeIssues, sagaEventSchema } from '../domain/saga-event';
import { PermanentRecordError } from '../errors';
import type { KafkaRecord } from './kafka-event';
import { decodeBase64, headerText } from './kafka-event';

export const CONFLUENT_MAGIC_BYTE = 0;
const DECODE_SLICE = 200;
const CONFLUENT_HEADER_LENGTH = 5;
/** Header names producers use for the producing service, most specific first. */
const PRODUCER_HEADERS = ['producer-service', 'producerService', 'x-producer-service'];

export type DecodedRecord =
  | {
      readonly ok: true;
      readonly record: KafkaRecord;
      readonly event: SagaEvent;
      readonly producerService: string | null;
    }
  | {
      readonly ok: false;
      readonly record: KafkaRecord;
      readonly error: PermanentRecordError;
      /** The event id, when the value decoded far enough to show one. */
      readonly eventId: string | null;
    };

type Framing =
  | { kind: 'avro'; schemaId: number; body: Buffer }
  | { kind: 'json'; text: string }
  | { kind: 'invalid'; error: PermanentRecordError };

function isJsonStart(value: Buffer): boolean {
  const text = value.subarray(0, 64).toString('utf8').trimStart();
  return text.startsWith('{');
}

/** Works out per record how its value is encoded. */
export function frameOf(record: KafkaRecord): Framing {
  const value = decodeBase64(record.value);
  if (value === null || value.length === 0) {
    return { kind: 'invalid', error: new PermanentRecordError('MISSING_VALUE', 'record has no value') };
  }
  const meta = record.valueSchemaMetadata;
  if (meta) {
    // The mapping's schema-registry integration delivered JSON, or Avro without the Confluent header.
    if (meta.dataFormat.toUpperCase() === 'JSON') return { kind: 'json', text: value.toString('utf8') };
    if (meta.dataFormat.toUpperCase() === 'AVRO' && /^\d+$/.test(meta.schemaId)) {
      return { kind: 'avro', schemaId: Number(meta.schemaId), body: value };
    }
    return {
      kind: 'invalid',
      error: new PermanentRecordError(
        'UNSUPPORTED_SCHEMA',
        `valueSchemaMetadata ${meta.dataFormat}/${meta.schemaId} is not a Confluent Avro or JSON value`,
      ),
    };
  }
  if (value[0] === CONFLUENT_MAGIC_BYTE) {
    if (value.length <= CONFLUENT_HEADER_LENGTH) {
      return {
        kind: 'invalid',
        error: new PermanentRecordError(
          'MALFORMED_AVRO',
          `value of ${value.length} bytes is shorter than the Confluent header`,
        ),
      };
    }
    return { kind: 'avro', schemaId: value.readUInt32BE(1), body: value.subarray(CONFLUENT_HEADER_LENGTH) };
  }
  if (isJsonStart(value)) return { kind: 'json', text: value.toString('utf8') };
  return {
    kind: 'invalid',
    error: new PermanentRecordError(
      'INVALID_MAGIC_BYTE',
      `value starts with byte 0x${value[0]?.toString(16).padStart(2, '0')}: neither Confluent Avro (0x00) nor a JSON object`,
    ),
  };
}

function eventIdHint(value: unknown): string | null {
  if (value && typeof value === 'object' && 'eventId' in value) {
    const eventId = (value as { eventId: unknown }).eventId;
    if (typeof eventId === 'string' && eventId.length <= 100 && !eventId.includes('\u0000')) return eventId;
  }
  return null;
}

function producerServiceOf(record: KafkaRecord, event: SagaEvent): string | null {
  for (const name of PRODUCER_HEADERS) {
    const value = headerText(record, name)?.trim();
    if (value && value.length <= 50 && value.isWellFormed() && !value.includes('\u0000')) return value;
  }
  const fromMetadata = event.metadata?.producerService;
  return typeof fromMetadata === 'string' && fromMetadata.length > 0 && fromMetadata.length <= 50
    ? fromMetadata
    : null;
}

export interface DecodeOptions {
  readonly now?: () => number;
  readonly maxFutureMs?: number;
}

/**
 * Decodes and validates a batch of records. Writer schemas are fetched once per
 * distinct id before decoding; a transient registry failure escapes (the batch
 * is retried), a permanent one only affects the records that use that id.
 */
export async function decodeRecords(
  records: readonly KafkaRecord[],
  schemas: WriterSchemas,
  options: DecodeOptions = {},
): Promise<DecodedRecord[]> {
  const frames = records.map(frameOf);
  const schemaIds = new Set<number>();
  for (const frame of frames) if (frame.kind === 'avro') schemaIds.add(frame.schemaId);
  const types = new Map<number, avro.Type | PermanentRecordError>();
  await Promise.all(
    [...schemaIds].map(async (id) => {
      try {
        types.set(id, await schemas.writerType(id));
      } catch (error) {
        if (!(error instanceof PermanentRecordError)) throw error;
        types.set(id, error);
      }
    }),
  );
  const validator = sagaEventSchema(options);
  const decoded: DecodedRecord[] = [];
  for (let start = 0; start < records.length; start += DECODE_SLICE) {
    // Let the event loop run between slices: the store's first statements go out meanwhile.
    if (start > 0) await yieldToEventLoop();
    const end = Math.min(start + DECODE_SLICE, records.length);
    for (let index = start; index < end; index++) {
      decoded.push(decodeOne(records[index] as KafkaRecord, frames[index] as Framing, types, validator));
    }
  }
  return decoded;
}

function decodeOne(
  record: KafkaRecord,
  frame: Framing,
  types: ReadonlyMap<number, avro.Type | PermanentRecordError>,
  validator: ReturnType<typeof sagaEventSchema>,
): DecodedRecord {
  const fail = (error: PermanentRecordError, eventId: string | null = null): DecodedRecord => ({
    ok: false,
    record,
    error,
    eventId,
  });
  let raw: unknown;
  switch (frame.kind) {
    case 'invalid':
      return fail(frame.error);
    case 'json':
      try {
        raw = JSON.parse(frame.text);
      } catch (error) {
        return fail(
          new PermanentRecordError('MALFORMED_JSON', `value is not valid JSON: ${String(error)}`, {
            cause: error,
          }),
        );
      }
      break;
    case 'avro': {
      const type = types.get(frame.schemaId);
      if (type === undefined) throw new Error(`schema ${frame.schemaId} was not resolved`);
      if (type instanceof PermanentRecordError) return fail(type);
      try {
        raw = type.fromBuffer(frame.body);
      } catch (error) {
        return fail(
          new PermanentRecordError(
            'MALFORMED_AVRO',
            `value does not decode with schema ${frame.schemaId}: ${String(error)}`,
            {
              cause: error,
            },
          ),
        );
      }
      break;
    }
  }
  const parsed = validator.safeParse(raw);
  if (!parsed.success) {
    return fail(
      new PermanentRecordError('VALIDATION_FAILED', describeIssues(parsed.error as z.ZodError), {
        cause: parsed.error,
      }),
      eventIdHint(raw),
    );
  }
  const event: SagaEvent = parsed.data;
  return { ok: true, record, event, producerService: producerServiceOf(record, event) };
}
