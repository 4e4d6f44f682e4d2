import { SAGA_STATUSES } from '../domain/saga-event';
import { BadRequestError } from '../errors';
import type { SagaQueryStore, StatisticsData, StatisticsScope } from './store';

export const DEFAULT_STATISTICS_PERIOD_MS = 24 * 60 * 60 * 1000;

export interface StatisticsRequest {
  readonly from?: Date;
  readonly to?: Date;
  readonly sagaType?: string;
}

/** The period statistics cover: [from, to) on startedAt, by default the last 24 hours. */
export function statisticsScope(request: StatisticsRequest, now: Date): StatisticsScope {
  const to = request.to ?? (request.from ? new Date(Math.max(now.getTime(), request.from.getTime())) : now);
  const from = request.from ?? new Date(to.getTime() - DEFAULT_STATISTICS_PERIOD_MS);
  if (from.getTime() >= to.getTime()) {
    throw new BadRequestError('fromDate: must be before toDate', { parameter: 'fromDate' });
  }
  return { from, to, ...(request.sagaType === undefined ? {} : { sagaType: request.sagaType }) };
}

export interface StatisticsResponse {
  period: { from: string; to: string };
  sagaType: string | null;
  total: number;
  byStatus: Record<string, number>;
  byType: Record<string, number>;
  byTypeAndStatus: Record<string, Record<string, number>>;
  /** Share of the sagas that went through FAILED. */
  failureRate: number;
  /** Share of the sagas that reached COMPENSATED. */
  compensationRate: number;
  /** Mean time from the first step to the terminal status, over sagas in a terminal status. */
  avgDurationSeconds: number | null;
  durationSeconds: { count: number; p50: number | null; p95: number | null; p99: number | null };
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

/** Folds the store's (type, status) groups into the API's statistics. */
export function summarizeStatistics(scope: StatisticsScope, data: StatisticsData): StatisticsResponse {
  const byStatus: Record<string, number> = Object.fromEntries(SAGA_STATUSES.map((status) => [status, 0]));
  const byType: Record<string, number> = {};
  const byTypeAndStatus: Record<string, Record<string, number>> = {};
  let total = 0;
  let everFailed = 0;
  let everCompensated = 0;
  for (const group of data.groups) {
    total += group.count;
    everFailed += group.everFailed;
    everCompensated += group.everCompensated;
    byStatus[group.status] = (byStatus[group.status] ?? 0) + group.count;
    byType[group.sagaType] = (byType[group.sagaType] ?? 0) + group.count;
    const statuses = byTypeAndStatus[group.sagaType] ?? {};
    statuses[group.status] = (statuses[group.status] ?? 0) + group.count;
    byTypeAndStatus[group.sagaType] = statuses;
  }
  const { durations } = data;
  return {
    period: { from: scope.from.toISOString(), to: scope.to.toISOString() },
    sagaType: scope.sagaType ?? null,
    total,
    byStatus,
    byType,
    byTypeAndStatus,
    failureRate: ratio(everFailed, total),
    compensationRate: ratio(everCompensated, total),
    avgDurationSeconds: durations.avgSeconds,
    durationSeconds: {
      count: durations.count,
      p50: durations.p50Seconds,
      p95: durations.p95Seconds,
      p99: durations.p99Seconds,
    },
  };
}

export async function sagaStatistics(
  store: SagaQueryStore,
  scope: StatisticsScope,
): Promise<StatisticsResponse> {
  return summarizeStatistics(scope, await store.statistics(scope));
}
