import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { KafkaEvent } from '../../lib/ingest/kafka-event';
import { recordsInOrder } from '../../lib/ingest/kafka-event';

/** The event source mapping's id: part of the keys Lambda writes on-failure records under. */
export const MAPPING_UUID = 'f89f8514-cdd9-4602-9e1f-01a5b77d449b';

export interface OnFailureOptions {
  condition?: string;
  approximateInvokeCount?: number;
  /** When Lambda gave up on the batch. */
  at?: Date;
  /** Leave out `payload`, as for a batch too large to keep. */
  withoutPayload?: boolean;
}

/**
 * What Lambda writes to an S3 on-failure destination for a Kafka batch it gave
 * up on, field for field as AWS documents it ("Capturing discarded batches for
 * Amazon MSK and self-managed Apache Kafka event sources", S3 destination
 * example): metadata, KafkaBatchInfo with per topic-partition offset ranges,
 * and `payload`, the whole invocation event as a JSON string.
 */
export function onFailureRecord(event: KafkaEvent, options: OnFailureOptions = {}): Record<string, unknown> {
  const payload = JSON.stringify(event);
  const recordsInfo: Record<string, unknown> = {};
  for (const [partition, records] of Object.entries(event.records)) {
    const offsets = records.map((record) => record.offset);
    const times = records.map((record) => record.timestamp);
    recordsInfo[partition] = {
      firstRecordOffset: String(Math.min(...offsets)),
      lastRecordOffset: String(Math.max(...offsets)),
      firstRecordTimestamp: new Date(Math.min(...times)).toISOString(),
      lastRecordTimestamp: new Date(Math.max(...times)).toISOString(),
    };
  }
  const condition = options.condition ?? 'RetryAttemptsExhausted';
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: 'arn:aws:lambda:ap-northeast-2:123456789012:function:saga-tracker-consume',
      condition,
      approximateInvokeCount: options.approximateInvokeCount ?? 3,
    },
    responseContext:
      condition === 'MaximumPayloadSizeExceeded'
        ? null
        : { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: (options.at ?? new Date()).toISOString(),
    KafkaBatchInfo: {
      batchSize: recordsInOrder(event).length,
      eventSourceArn: event.eventSourceArn,
      bootstrapServers: event.bootstrapServers,
      payloadSize: Buffer.byteLength(payload),
      recordsInfo,
    },
    ...(options.withoutPayload ? {} : { payload }),
  };
}

/** `aws/lambda/<mapping uuid>/<topic-partition>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>`, as Lambda names them. */
export function onFailureKey(event: KafkaEvent, at = new Date()): string {
  const partition = Object.keys(event.records)[0] ?? 'unknown-0';
  const iso = at.toISOString();
  const day = iso.slice(0, 10).replaceAll('-', '/');
  const stamp = iso.slice(0, 19).replaceAll(':', '.');
  return `aws/lambda/${MAPPING_UUID}/${partition}/${day}/${stamp}-${randomUUID()}`;
}

/** Writes an on-failure record for `event` into the bucket, as the event source mapping would. */
export async function putOnFailureRecord(
  s3: S3Client,
  bucket: string,
  event: KafkaEvent,
  options: OnFailureOptions = {},
): Promise<string> {
  const at = options.at ?? new Date();
  const key = onFailureKey(event, at);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(onFailureRecord(event, { ...options, at })),
      ContentType: 'application/json',
    }),
  );
  return key;
}
