import type { DeadLetterRow } from '../adapters/pg/dead-letter-store';
import type { KafkaRecord, RecordRef } from '../ingest/kafka-event';

/**
 * The Kafka record a dead-letter row was made from, in the shape the event
 * source mapping delivers (base64 key and value, header values as base64), so
 * the redrive runs it through the consume function's own decode and plan.
 */
export function kafkaRecordOf(row: DeadLetterRow): KafkaRecord {
  return {
    topic: row.topic,
    partition: row.kafka_partition,
    offset: Number(row.kafka_offset),
    // An unknown time stays unknown: storing it again yields NULL once more.
    timestamp: row.kafka_timestamp ? row.kafka_timestamp.getTime() : -1,
    timestampType: row.timestamp_type ?? '',
    ...(row.record_key ? { key: row.record_key.toString('base64') } : {}),
    value: row.record_value ? row.record_value.toString('base64') : null,
    headers: row.headers.map((header) => ({ [header.key]: header.value })),
  };
}

export function refOfRow(row: DeadLetterRow): RecordRef {
  return { topic: row.topic, partition: row.kafka_partition, offset: Number(row.kafka_offset) };
}
