import { z } from 'zod';

// Header values are byte arrays; signed bytes are tolerated because Java producers think in them.
const headerValue = z.union([z.array(z.number().int().min(-128).max(255)), z.string()]);

export const kafkaRecordSchema = z.object({
  topic: z.string().min(1),
  partition: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  timestamp: z.number(),
  timestampType: z.string(),
  key: z.string().nullish(),
  value: z.string().nullish(),
  headers: z.array(z.record(z.string(), headerValue)).default([]),
  /** Present when the event source mapping's own schema-registry integration decoded the value. */
  valueSchemaMetadata: z.object({ dataFormat: z.string(), schemaId: z.string() }).optional(),
});
export type KafkaRecord = z.output<typeof kafkaRecordSchema>;

/** The event an MSK (or self-managed Kafka) event source mapping hands to Lambda. */
export const kafkaEventSchema = z.object({
  eventSource: z.enum(['aws:kafka', 'SelfManagedKafka']),
  eventSourceArn: z.string().optional(),
  bootstrapServers: z.string().optional(),
  records: z.record(z.string(), z.array(kafkaRecordSchema)),
});
export type KafkaEvent = z.output<typeof kafkaEventSchema>;

/** Where a record sits in Kafka: its identity for dead letters and logs. */
export interface RecordRef {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export function refOf(record: KafkaRecord): RecordRef {
  return { topic: record.topic, partition: record.partition, offset: record.offset };
}

export function formatRef(ref: RecordRef): string {
  return `${ref.topic}-${ref.partition}@${ref.offset}`;
}

/** Partition/offset order, the order Kafka defines. */
export function compareRefs(a: RecordRef, b: RecordRef): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition || a.offset - b.offset;
}

/** All records of an event in partition/offset order. */
export function recordsInOrder(event: KafkaEvent): KafkaRecord[] {
  return Object.values(event.records).flat().sort(compareRefs);
}

export function headerBytes(value: z.output<typeof headerValue>): Buffer {
  return typeof value === 'string'
    ? Buffer.from(value, 'base64')
    : Buffer.from(value.map((byte) => byte & 0xff));
}

/** The first header called `name` (case-insensitive), as UTF-8 text. */
export function headerText(record: KafkaRecord, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const header of record.headers) {
    for (const [key, value] of Object.entries(header)) {
      if (key.toLowerCase() === wanted) return headerBytes(value).toString('utf8');
    }
  }
  return undefined;
}

export function decodeBase64(value: string | null | undefined): Buffer | null {
  return value === null || value === undefined ? null : Buffer.from(value, 'base64');
}

/** The distinct record keys that could be saga ids: producers key each record by its sagaId. */
export function sagaIdsFromKeys(records: readonly KafkaRecord[]): string[] {
  const ids = new Set<string>();
  for (const record of records) {
    if (!record.key) continue;
    const key = Buffer.from(record.key, 'base64').toString('utf8');
    if (key.length > 0 && key.length <= 100 && !key.includes('\u0000') && key.isWellFormed()) ids.add(key);
  }
  return [...ids];
}
