import type pg from 'pg';

/**
 * The stored state that must not depend on arrival order or batching: every
 * column except ingest-time ones (created_at) and surrogate ids.
 */
export async function storedState(pool: pg.Pool) {
  const sagas = await pool.query(
    `SELECT saga_id, saga_type, order_id, current_status, last_step, last_trace_id, started_at, updated_at,
            step_count, last_recorded_at, last_event_timestamp, last_event_id, failed_at, compensated_at
     FROM saga_instance ORDER BY saga_id`,
  );
  const steps = await pool.query(
    `SELECT event_id, saga_id, step, status, producer_service, trace_id, metadata, recorded_at, event_timestamp,
            saga_type, order_id
     FROM saga_steps ORDER BY event_id`,
  );
  return { sagas: sagas.rows, steps: steps.rows };
}

export interface DeadLetterRow {
  topic: string;
  kafka_partition: number;
  kafka_offset: number;
  record_key: Buffer | null;
  record_value: Buffer | null;
  headers: Array<{ key: string; value: string }>;
  event_id: string | null;
  reason: string;
  reason_message: string;
  status: string;
}

export async function deadLetters(pool: pg.Pool): Promise<DeadLetterRow[]> {
  const { rows } = await pool.query<DeadLetterRow>(
    `SELECT topic, kafka_partition, kafka_offset, record_key, record_value, headers, event_id, reason,
            reason_message, status
     FROM saga_dead_letter ORDER BY topic, kafka_partition, kafka_offset`,
  );
  return rows;
}

export async function count(
  pool: pg.Pool,
  table: 'saga_steps' | 'saga_instance' | 'saga_dead_letter',
): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]?.n ?? 0;
}
