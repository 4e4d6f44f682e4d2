import type { JsonObject } from '../domain/saga-event';

/**
 * Timestamps arrive as `Date` from the database driver and as ISO strings from
 * JSON (rows built with json_agg, or read back from an archive): both map the same.
 */
export type Timestamp = Date | string;

/** A `saga_instance` row, as the database or an archived copy of it holds it. */
export interface SagaRow {
  readonly saga_id: string;
  readonly saga_type: string;
  readonly order_id: string;
  readonly current_status: string;
  readonly last_step: string;
  readonly last_trace_id: string | null;
  readonly started_at: Timestamp;
  readonly updated_at: Timestamp;
  readonly step_count: number;
  /** Absent in rows written before status overrides existed. */
  readonly status_overridden_at?: Timestamp | null;
  /** True when the row was read from cold storage (the archive), not from the hot tables. */
  readonly archived?: boolean;
  /**
   * When the saga went to cold storage: for an archived saga, its archiving;
   * for a hot saga that a late event re-heated, the archiving of its earlier
   * timeline. Null (or absent) for a saga never archived.
   */
  readonly archived_at?: Timestamp | null;
}

/** A `saga_steps` row: one producer event. */
export interface StepRow {
  readonly id: number;
  readonly event_id: string;
  readonly step: string;
  readonly status: string;
  readonly producer_service: string | null;
  readonly trace_id: string | null;
  readonly metadata: JsonObject | null;
  readonly recorded_at: Timestamp;
  readonly event_timestamp: Timestamp;
}

/** A `saga_status_override` row: an operator's forced status change. */
export interface StatusOverrideRow {
  readonly id: number;
  readonly previous_status: string;
  readonly new_status: string;
  readonly reason: string;
  readonly principal: string;
  readonly principal_account: string | null;
  readonly request_id: string | null;
  readonly overridden_at: Timestamp;
}

export function toIso(value: Timestamp): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function toIsoOrNull(value: Timestamp | null | undefined): string | null {
  return value === null || value === undefined ? null : toIso(value);
}

export interface SagaResponse {
  sagaId: string;
  sagaType: string;
  orderId: string;
  currentStatus: string;
  lastStep: string;
  lastTraceId: string | null;
  startedAt: string;
  updatedAt: string;
  stepCount: number;
  statusOverriddenAt: string | null;
  /** Served from cold storage (S3) rather than the hot tables. */
  archived: boolean;
  archivedAt: string | null;
}

/** The API's saga (SPEC §4), also each item of a search. */
export function toSagaResponse(row: SagaRow): SagaResponse {
  return {
    sagaId: row.saga_id,
    sagaType: row.saga_type,
    orderId: row.order_id,
    currentStatus: row.current_status,
    lastStep: row.last_step,
    lastTraceId: row.last_trace_id,
    startedAt: toIso(row.started_at),
    updatedAt: toIso(row.updated_at),
    stepCount: Number(row.step_count),
    statusOverriddenAt: toIsoOrNull(row.status_overridden_at),
    // Last, so an archived saga's answer is its hot answer with only these two values changed.
    archived: row.archived === true,
    archivedAt: toIsoOrNull(row.archived_at),
  };
}

export interface StepResponse {
  id: number;
  eventId: string;
  step: string;
  status: string;
  producerService: string | null;
  traceId: string | null;
  metadata: JsonObject | null;
  recordedAt: string;
  eventTimestamp: string;
}

export function toStepResponse(row: StepRow): StepResponse {
  return {
    id: Number(row.id),
    eventId: row.event_id,
    step: row.step,
    status: row.status,
    producerService: row.producer_service,
    traceId: row.trace_id,
    metadata: row.metadata,
    recordedAt: toIso(row.recorded_at),
    eventTimestamp: toIso(row.event_timestamp),
  };
}

export interface StatusOverrideResponse {
  id: number;
  previousStatus: string;
  status: string;
  reason: string;
  principal: string;
  principalAccount: string | null;
  requestId: string | null;
  overriddenAt: string;
}

export function toStatusOverrideResponse(row: StatusOverrideRow): StatusOverrideResponse {
  return {
    id: Number(row.id),
    previousStatus: row.previous_status,
    status: row.new_status,
    reason: row.reason,
    principal: row.principal,
    principalAccount: row.principal_account,
    requestId: row.request_id,
    overriddenAt: toIso(row.overridden_at),
  };
}

/** Event-time order of steps (recorded_at, then eventTimestamp, then eventId bytes), as the ingest folds them. */
export function compareStepsInEventTime(a: StepRow, b: StepRow): number {
  const byRecorded = new Date(a.recorded_at).getTime() - new Date(b.recorded_at).getTime();
  if (byRecorded !== 0) return byRecorded;
  const byEvent = new Date(a.event_timestamp).getTime() - new Date(b.event_timestamp).getTime();
  if (byEvent !== 0) return byEvent;
  return Buffer.compare(Buffer.from(a.event_id), Buffer.from(b.event_id));
}
