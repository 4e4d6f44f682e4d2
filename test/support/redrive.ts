import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import avro from 'avsc';
import type pg from 'pg';
import { S3DeadLetterBucket } from '../../lib/adapters/s3-dead-letter-bucket';
import type { WriterSchemas } from '../../lib/adapters/schema-registry';
import { SchemaRegistryClient } from '../../lib/adapters/schema-registry';
import type { RedriveDeps } from '../../lib/redrive/redrive';
import { sagaTrackerSchema } from '../../schemas';
import type { LocalS3 } from './s3-server';

/** Schema id of a newer writer schema producers start using before the registry knows it. */
export const SAGA_TRACKER_V2_SCHEMA_ID = 2;

/** SagaTracker v2: a REFUND saga type and an extra `channel` field with a default (a compatible change). */
export function sagaTrackerV2Schema(): object {
  const v1 = sagaTrackerSchema() as { fields: Array<{ name: string; type: unknown }> };
  return {
    ...v1,
    fields: [
      ...v1.fields.map((field) =>
        field.name === 'sagaType'
          ? {
              ...field,
              type: {
                type: 'enum',
                name: 'SagaType',
                symbols: ['ORDER_CREATION', 'PAYMENT_COMPLETION', 'REFUND'],
              },
            }
          : field,
      ),
      { name: 'channel', type: 'string', default: 'web' },
    ],
  };
}

export const sagaTrackerV2Type = avro.Type.forSchema(sagaTrackerV2Schema() as avro.Schema);

/** A registry client as a run builds it: fresh caches, so a schema registered a moment ago is found. */
export function registrySchemas(url: string): WriterSchemas {
  return new SchemaRegistryClient({ url, timeoutMs: 2_000 });
}

export function redriveDepsFor(
  pool: pg.Pool,
  options: { schemas: WriterSchemas; s3?: LocalS3; bucket?: string; batchSize?: number },
): RedriveDeps {
  return {
    pool,
    schemas: options.schemas,
    ...(options.s3 && options.bucket
      ? { bucket: new S3DeadLetterBucket(options.s3.client, options.bucket) }
      : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
  };
}

export interface StoreSnapshot {
  sagas: unknown[];
  steps: unknown[];
  deadLetters: unknown[];
  batches: unknown[];
}

/** Everything the tracker stores, without ids and wall-clock times: equal snapshots mean the same outcome. */
export async function snapshot(pool: pg.Pool): Promise<StoreSnapshot> {
  const sagas = await pool.query(
    `SELECT saga_id, saga_type, order_id, current_status, last_step, last_trace_id, started_at, updated_at,
            step_count, failed_at, compensated_at
     FROM saga_instance ORDER BY saga_id`,
  );
  const steps = await pool.query(
    `SELECT event_id, saga_id, step, status, producer_service, trace_id, metadata, recorded_at
     FROM saga_steps ORDER BY event_id`,
  );
  const deadLetters = await pool.query(
    `SELECT topic, kafka_partition, kafka_offset::text, event_id, reason, status, (resolved_at IS NOT NULL) AS resolved
     FROM saga_dead_letter ORDER BY topic, kafka_partition, kafka_offset`,
  );
  const batches = await pool.query(
    `SELECT object_key, status, (moved_at IS NOT NULL) AS moved FROM saga_dead_letter_batch ORDER BY object_key`,
  );
  return { sagas: sagas.rows, steps: steps.rows, deadLetters: deadLetters.rows, batches: batches.rows };
}

export async function objectKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const answer = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (answer.Contents ?? []).map((item) => item.Key ?? '').sort();
}

export async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  const keys = await objectKeys(s3, bucket);
  if (keys.length === 0) return;
  await s3.send(
    new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((key) => ({ Key: key })) } }),
  );
}
