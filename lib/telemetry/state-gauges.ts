import { ACTIVE_STATUSES, SAGA_STATUSES } from '../domain/saga-event';
import { DEAD_LETTER_REASONS } from '../errors';
import {
  ACTIVE_SAGAS,
  CONSUMER_LAG,
  FAILED_UNCOMPENSATED,
  FAILED_UNCOMPENSATED_OLDEST,
  PENDING_DEAD_LETTERS,
  RECENT_SAGAS,
  STUCK_SAGAS,
  TRACKER_UP,
} from './metrics';
import type { MetricsRecorder } from './telemetry';

export interface StateThresholds {
  /** A saga in a non-terminal status whose latest step is older than this is stuck. */
  readonly stuckAfterSeconds: number;
  /** A FAILED saga without a COMPENSATED step for longer than this is left uncompensated. */
  readonly uncompensatedAfterSeconds: number;
}

/** What the database says about the sagas right now. */
export interface SagaStateCounts {
  /** Sagas in each non-terminal status (statuses without sagas may be absent). */
  readonly activeByStatus: Readonly<Record<string, number>>;
  /** Sagas with a step in the last 24 hours, by current status. */
  readonly recentByStatus: Readonly<Record<string, number>>;
  readonly stuck: number;
  readonly failedUncompensated: number;
  /** Age of the oldest uncompensated failure, 0 when there is none. */
  readonly oldestUncompensatedSeconds: number;
  readonly pendingDeadLettersByReason: Readonly<Record<string, number>>;
}

export interface SagaStateSource {
  read(thresholds: StateThresholds): Promise<SagaStateCounts>;
}

/** The consumer lag of the tracker, or null when the source has no recent datapoint. */
export interface ConsumerLagSource {
  latestLag(): Promise<number | null>;
}

export interface StateGaugesReport {
  readonly state: SagaStateCounts;
  readonly consumerLag: number | null | 'unavailable';
}

function withZeros(
  keys: readonly string[],
  counts: Readonly<Record<string, number>>,
): Record<string, number> {
  return { ...Object.fromEntries(keys.map((key) => [key, 0])), ...counts };
}

/**
 * Computes the state gauges and records them. Every known status and reason is
 * set (0 when absent), so a gauge falls back to 0 instead of repeating its
 * last value. A database failure sets `saga_tracker_up` to 0 and is rethrown;
 * a lag source failure only leaves the lag unreported.
 */
export async function recordStateGauges(
  recorder: MetricsRecorder,
  deps: {
    readonly state: SagaStateSource;
    readonly lag?: ConsumerLagSource;
    readonly onLagError?: (error: unknown) => void;
  },
  thresholds: StateThresholds,
): Promise<StateGaugesReport> {
  let state: SagaStateCounts;
  try {
    state = await deps.state.read(thresholds);
  } catch (error) {
    recorder.set(TRACKER_UP, {}, 0);
    throw error;
  }
  recorder.set(TRACKER_UP, {}, 1);
  for (const [status, count] of Object.entries(withZeros(ACTIVE_STATUSES, state.activeByStatus))) {
    recorder.set(ACTIVE_SAGAS, { status }, count);
  }
  for (const [status, count] of Object.entries(withZeros(SAGA_STATUSES, state.recentByStatus))) {
    recorder.set(RECENT_SAGAS, { status }, count);
  }
  recorder.set(STUCK_SAGAS, {}, state.stuck);
  recorder.set(FAILED_UNCOMPENSATED, {}, state.failedUncompensated);
  recorder.set(FAILED_UNCOMPENSATED_OLDEST, {}, state.oldestUncompensatedSeconds);
  for (const [reason, count] of Object.entries(
    withZeros(DEAD_LETTER_REASONS, state.pendingDeadLettersByReason),
  )) {
    recorder.set(PENDING_DEAD_LETTERS, { reason }, count);
  }

  let consumerLag: StateGaugesReport['consumerLag'] = 'unavailable';
  if (deps.lag) {
    try {
      consumerLag = await deps.lag.latestLag();
      // No datapoint: the lag is unknown, and a stale value must not keep an alert firing.
      if (consumerLag === null) recorder.unset(CONSUMER_LAG, {});
      else recorder.set(CONSUMER_LAG, {}, consumerLag);
    } catch (error) {
      recorder.unset(CONSUMER_LAG, {});
      deps.onLagError?.(error);
    }
  }
  return { state, consumerLag };
}
