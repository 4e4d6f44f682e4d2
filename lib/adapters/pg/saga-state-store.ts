import type pg from 'pg';
import { ACTIVE_STATUSES } from '../../domain/saga-event';
import type { SagaStateCounts, SagaStateSource, StateThresholds } from '../../telemetry/state-gauges';

// Each statement is served by an index: current_status for the active sagas,
// updated_at for the last day, the partial failed-uncompensated index, and
// the partial PENDING dead-letter index.
const SAGA_STATE_SQL = `
WITH active AS (
  SELECT current_status AS status, count(*)::int AS sagas,
         count(*) FILTER (WHERE updated_at < now() - make_interval(secs => $2))::int AS stuck
  FROM saga_instance
  WHERE current_status = ANY($1::text[])
  GROUP BY current_status
), recent AS (
  SELECT current_status AS status, count(*)::int AS sagas
  FROM saga_instance
  WHERE updated_at >= now() - interval '24 hours'
  GROUP BY current_status
), uncompensated AS (
  SELECT count(*)::int AS sagas,
         COALESCE(EXTRACT(EPOCH FROM now() - min(failed_at)), 0)::float8 AS oldest_seconds
  FROM saga_instance
  WHERE current_status = 'FAILED' AND compensated_at IS NULL
    AND failed_at < now() - make_interval(secs => $3)
), pending AS (
  SELECT reason, count(*)::int AS letters
  FROM saga_dead_letter
  WHERE status = 'PENDING'
  GROUP BY reason
)
SELECT
  (SELECT COALESCE(json_object_agg(status, sagas), '{}') FROM active) AS active,
  (SELECT COALESCE(sum(stuck), 0)::int FROM active) AS stuck,
  (SELECT COALESCE(json_object_agg(status, sagas), '{}') FROM recent) AS recent,
  (SELECT sagas FROM uncompensated) AS uncompensated,
  (SELECT oldest_seconds FROM uncompensated) AS oldest_uncompensated_seconds,
  (SELECT COALESCE(json_object_agg(reason, letters), '{}') FROM pending) AS pending
`;

interface StateRow {
  active: Record<string, number>;
  stuck: number;
  recent: Record<string, number>;
  uncompensated: number;
  oldest_uncompensated_seconds: number;
  pending: Record<string, number>;
}

/** Reads the state gauges' counts from PostgreSQL in one round trip. */
export class PgSagaStateSource implements SagaStateSource {
  constructor(private readonly pool: pg.Pool) {}

  async read(thresholds: StateThresholds): Promise<SagaStateCounts> {
    const { rows } = await this.pool.query<StateRow>(SAGA_STATE_SQL, [
      ACTIVE_STATUSES,
      thresholds.stuckAfterSeconds,
      thresholds.uncompensatedAfterSeconds,
    ]);
    const row = rows[0];
    if (!row) throw new Error('state gauges query returned no row');
    return {
      activeByStatus: row.active,
      recentByStatus: row.recent,
      stuck: row.stuck,
      failedUncompensated: row.uncompensated,
      oldestUncompensatedSeconds: Math.max(0, Math.round(row.oldest_uncompensated_seconds)),
      pendingDeadLettersByReason: row.pending,
    };
  }
}
