import type { SagaStatus } from '../domain/saga-event';
import type { SearchFilters, SearchQuery } from './search-criteria';
import type { SagaRow, StatusOverrideRow, StepRow } from './serialize';

/** A saga row of a search page, with its sort column in microseconds (decimal text) for the next cursor. */
export interface SearchRow extends SagaRow {
  readonly sort_key: string;
}

/** A saga's full timeline: the saga row, its producer steps in event-time order, and operator overrides. */
export interface SagaTimeline {
  readonly saga: SagaRow;
  readonly steps: readonly StepRow[];
  readonly overrides: readonly StatusOverrideRow[];
}

/**
 * Where single sagas are read from. The PostgreSQL implementation reads the hot
 * tables; an archive-aware one can fall back to cold storage for sagas no
 * longer there, without the API changing.
 */
export interface SagaTimelineSource {
  findSaga(sagaId: string): Promise<SagaRow | null>;
  findTimeline(sagaId: string): Promise<SagaTimeline | null>;
}

export interface StatisticsScope {
  readonly from: Date;
  /** Exclusive. */
  readonly to: Date;
  readonly sagaType?: string;
}

/** Counts of one (saga type, current status) group. */
export interface StatisticsGroup {
  readonly sagaType: string;
  readonly status: string;
  readonly count: number;
  /** Sagas of the group that went through FAILED at some point. */
  readonly everFailed: number;
  /** Sagas of the group that reached COMPENSATED at some point. */
  readonly everCompensated: number;
}

export interface DurationSummary {
  /** Sagas in a terminal status: the ones with a duration. */
  readonly count: number;
  readonly avgSeconds: number | null;
  readonly p50Seconds: number | null;
  readonly p95Seconds: number | null;
  readonly p99Seconds: number | null;
}

export interface StatisticsData {
  readonly groups: readonly StatisticsGroup[];
  readonly durations: DurationSummary;
}

export interface StatusOverrideInput {
  readonly sagaId: string;
  readonly status: SagaStatus;
  readonly reason: string;
  readonly principal: string;
  readonly principalAccount: string | null;
  readonly requestId: string | null;
}

export interface StatusOverrideResult {
  readonly saga: SagaRow;
  readonly override: StatusOverrideRow;
}

/** The queries behind search, statistics, the status override and health. */
export interface SagaQueryStore {
  /** Up to `limit` sagas matching the query, in its sort order, starting at its page or cursor. */
  search(query: SearchQuery, limit: number, now: Date): Promise<SearchRow[]>;
  count(filters: SearchFilters, now: Date): Promise<number>;
  statistics(scope: StatisticsScope): Promise<StatisticsData>;
  /** Forces the status and records the audit entry atomically; null when the saga is unknown. */
  overrideStatus(input: StatusOverrideInput): Promise<StatusOverrideResult | null>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}
