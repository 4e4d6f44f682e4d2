import avro from 'avsc';
import type { KafkaEvent, KafkaRecord } from '../../lib/ingest/kafka-event';
import { SAGA_TRACKER_TOPIC, sagaTrackerSchema } from '../../schemas';

/** The schema id producers' values carry in tests (served by the fake registry). */
export const SAGA_TRACKER_SCHEMA_ID = 1;

export const sagaTrackerType = avro.Type.forSchema(sagaTrackerSchema() as avro.Schema);

/** A saga event as a producer's Avro serializer sees it (metadata as a JSON string). */
export interface ProducedEvent {
  eventId: string;
  eventTimestamp: number;
  sagaId: string;
  sagaType: string;
  step: string;
  status: string;
  orderId: string;
  metadata: string | null;
  recordedAt: number;
  [extra: string]: unknown;
}

/** Confluent wire format: magic byte 0, big-endian schema id, Avro body. */
export function confluentFrame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** Serializes like the Confluent Avro serializer of the producers. */
export function encodeAvro(
  event: ProducedEvent,
  schemaId = SAGA_TRACKER_SCHEMA_ID,
  type: avro.Type = sagaTrackerType,
): Buffer {
  return confluentFrame(schemaId, type.toBuffer(event));
}

export interface RecordOptions {
  topic?: string;
  partition?: number;
  offset: number;
  key?: string | Buffer | null;
  headers?: Record<string, string>;
  timestamp?: number;
}

/** A record in the shape the MSK event source mapping delivers: base64 key/value, header byte arrays. */
export function kafkaRecord(value: Buffer | null, options: RecordOptions): KafkaRecord {
  const key = typeof options.key === 'string' ? Buffer.from(options.key) : options.key;
  return {
    topic: options.topic ?? SAGA_TRACKER_TOPIC,
    partition: options.partition ?? 0,
    offset: options.offset,
    timestamp: options.timestamp ?? 1_764_064_800_000,
    timestampType: 'CREATE_TIME',
    ...(key ? { key: key.toString('base64') } : {}),
    value: value === null ? null : value.toString('base64'),
    headers: Object.entries(options.headers ?? {}).map(([name, text]) => ({
      [name]: [...Buffer.from(text)],
    })),
  };
}

/** Groups records under "topic-partition" as the event source mapping does. */
export function kafkaEvent(records: readonly KafkaRecord[]): KafkaEvent {
  const grouped: Record<string, KafkaRecord[]> = {};
  for (const record of records) {
    const key = `${record.topic}-${record.partition}`;
    grouped[key] ??= [];
    grouped[key].push(record);
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn:
      'arn:aws:kafka:ap-northeast-2:123456789012:cluster/c4ang/abcd1234-ef56-7890-abcd-1234567890ab-4',
    bootstrapServers: 'b-1.c4ang.example:9098,b-2.c4ang.example:9098',
    records: grouped,
  };
}

/** Records for events, keyed by sagaId and spread over partitions as a keyed producer would. */
export function recordsFor(
  events: readonly ProducedEvent[],
  options: {
    partitions?: number;
    firstOffset?: number;
    producer?: (event: ProducedEvent) => string | undefined;
  } = {},
): KafkaRecord[] {
  const partitions = options.partitions ?? 3;
  const nextOffset = new Map<number, number>();
  return events.map((event) => {
    const partition = partitionOf(event.sagaId, partitions);
    const offset = nextOffset.get(partition) ?? options.firstOffset ?? 0;
    nextOffset.set(partition, offset + 1);
    const producer = options.producer?.(event);
    return kafkaRecord(encodeAvro(event), {
      partition,
      offset,
      key: event.sagaId,
      ...(producer ? { headers: { 'producer-service': producer } } : {}),
    });
  });
}

export function partitionOf(key: string, partitions: number): number {
  let hash = 0;
  for (const char of key) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % partitions;
}
