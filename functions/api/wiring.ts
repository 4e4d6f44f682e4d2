import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { createArchiveReader } from '../../lib/adapters/archive';
import { PgSagaQueryStore } from '../../lib/adapters/pg/query-store';
import type { WriterSchemas } from '../../lib/adapters/schema-registry';
import { ArchiveAwareSagaSource } from '../../lib/query/archive-aware';
import type { SagaTimelineSource } from '../../lib/query/store';
import { listDeadLetters, replayDeadLetters } from '../../lib/redrive/api';
import type { Telemetry } from '../../lib/telemetry';
import { recordRedriveOutcomes, timeArchiveRead } from '../../lib/telemetry/archive-metrics';
import { apiMetrics, timeQuery } from '../../lib/telemetry/http-metrics';
import { recordSagaChanges } from '../../lib/telemetry/ingest-metrics';
import { flushMetrics } from '../../lib/telemetry/middleware';
import type { ApiDeps } from './handler';
import type { DeadLetterAdmin } from './router';
import { API_ROUTES } from './routes';

/** The long-lived clients and settings of one API Lambda environment. */
export interface ApiWiring {
  readonly logger: Logger;
  readonly pool: pg.Pool;
  /** Prometheus + CloudWatch; without it the API records no metrics (tests, the local stack). */
  readonly telemetry?: Telemetry;
  /** Powertools Metrics of the function, for its ColdStart metric. */
  readonly coldStartMetrics?: Metrics;
  /** The cold-storage archive; without it archived sagas answer 404 and includeArchived is refused. */
  readonly archive?: { readonly s3: S3Client; readonly bucket: string };
  /** Writer schemas for one replay, with fresh caches: a schema registered a moment ago must be found. */
  readonly replaySchemas: () => WriterSchemas;
  /** The consume function's MAX_CLOCK_SKEW_SECONDS: a replay judges events as the consumer does. */
  readonly maxClockSkewSeconds: number;
  readonly now?: () => Date;
}

/** Replay and listing over the dead-letter table, timed and counted like the redrive function's runs. */
export function deadLetterAdmin(wiring: ApiWiring): DeadLetterAdmin {
  const { pool, telemetry } = wiring;
  const observe = <T>(name: string, run: () => Promise<T>) =>
    telemetry ? timeQuery(telemetry, name, run) : run();
  return {
    replay: (request) =>
      observe('replay_dead_letters', async () => {
        const response = await replayDeadLetters(
          {
            pool,
            schemas: wiring.replaySchemas(),
            decode: { maxFutureMs: wiring.maxClockSkewSeconds * 1000 },
          },
          request,
          {
            onSagaChanges: (changes) => {
              if (telemetry) recordSagaChanges(telemetry, changes);
            },
          },
        );
        if (telemetry && !response.dryRun) {
          const count = (status: string) =>
            response.results.filter((result) => result.status === status).length;
          recordRedriveOutcomes(telemetry, {
            replayed: count('REPLAYED'),
            failed: count('FAILED'),
            skipped: count('SKIPPED'),
          });
        }
        return response;
      }),
    list: (query) => observe('list_dead_letters', () => listDeadLetters(pool, query)),
  };
}

/**
 * The API's dependencies as functions/api/index.ts wires them from the
 * environment: queries timed as `saga_tracker_db_query_seconds{query}`,
 * archived sagas read through the archive index and S3 (timed as
 * `saga_tracker_archive_read_seconds`), the dead-letter admin, and the
 * metrics middlewares (flush first, then latency by route template).
 */
export function wireApi(wiring: ApiWiring): ApiDeps {
  const { logger, pool, telemetry } = wiring;
  const store = new PgSagaQueryStore(
    pool,
    telemetry ? { observeQuery: (name, run) => timeQuery(telemetry, name, run) } : {},
  );
  let sagas: SagaTimelineSource = store;
  if (wiring.archive) {
    const reader = createArchiveReader(pool, wiring.archive.s3, wiring.archive.bucket);
    sagas = new ArchiveAwareSagaSource(store, {
      readArchivedSaga: (sagaId) =>
        telemetry
          ? timeArchiveRead(telemetry, () => reader.readArchivedSaga(sagaId))
          : reader.readArchivedSaga(sagaId),
    });
  }
  return {
    logger,
    store,
    sagas,
    archiveEnabled: wiring.archive !== undefined,
    deadLetters: deadLetterAdmin(wiring),
    ...(wiring.now ? { now: wiring.now } : {}),
    // flushMetrics first so it sends what apiMetrics recorded; both see the mapped error responses.
    middlewares: telemetry
      ? [
          flushMetrics(
            telemetry,
            wiring.coldStartMetrics ? { coldStartMetrics: wiring.coldStartMetrics } : {},
          ),
          apiMetrics(telemetry, { routes: API_ROUTES.map((route) => route.path) }),
        ]
      : [],
  };
}
