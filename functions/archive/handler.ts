import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { ArchiveRunDeps } from '../../lib/archive/archive';
import { archiveEligibleSagas } from '../../lib/archive/archive';
import { planRunBudget } from '../../lib/archive/budget';
import type { ArchiveStorage, VerifyStore } from '../../lib/archive/ports';
import type { ArchiveReport } from '../../lib/archive/report';
import type { RestoreDeps, RestoreReport } from '../../lib/archive/restore';
import { restoreArchivedSagas } from '../../lib/archive/restore';
import type { VerifyReport } from '../../lib/archive/verify';
import { verifyArchivedObjects } from '../../lib/archive/verify';
import type { ArchiveConfig } from '../../lib/config/archive';
import { describeIssues } from '../../lib/domain/saga-event';
import { SagaTrackerError } from '../../lib/errors';
import { createTelemetry, type Telemetry } from '../../lib/telemetry';
import {
  recordArchiveDamage,
  recordArchiveRestore,
  recordArchiveRun,
} from '../../lib/telemetry/archive-metrics';
import { flushMetrics } from '../../lib/telemetry/middleware';
import { archivePayloadSchema, payloadOf } from './payload';

/** The invocation payload is not one the archiver understands: retrying cannot fix it. */
export class InvalidArchivePayloadError extends SagaTrackerError {}

export interface ArchiveHandlerDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Prometheus + CloudWatch recorder; CloudWatch only (through `metrics`) when absent. */
  readonly telemetry?: Telemetry;
  readonly config: ArchiveConfig;
  readonly run: Omit<ArchiveRunDeps, 'log'>;
  readonly restore: RestoreDeps;
  readonly verify: { readonly store: VerifyStore; readonly storage: ArchiveStorage };
}

export type ArchiveResponse =
  | ({ readonly action: 'archive' } & ArchiveReport)
  | ({ readonly action: 'restore' } & RestoreReport)
  | ({ readonly action: 'verify' } & VerifyReport);

/**
 * The scheduled archiver. A plain invocation archives what is past its
 * retention within the time budget; the payload may ask for a dry run, a
 * smaller run, the restore of named sagas, or a verify run over the archive.
 */
export function createArchiveHandler(deps: ArchiveHandlerDeps) {
  const { logger, metrics, config } = deps;
  const telemetry =
    deps.telemetry ??
    createTelemetry({ functionName: 'archive', logger, metrics, remoteWrite: { enabled: false } });
  return middy<unknown, ArchiveResponse, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(flushMetrics(telemetry, { coldStartMetrics: metrics }))
    .handler(async (event, context) => {
      const parsed = archivePayloadSchema.safeParse(payloadOf(event));
      if (!parsed.success)
        throw new InvalidArchivePayloadError(`invalid archiver payload: ${describeIssues(parsed.error)}`);
      const payload = parsed.data;

      if (payload.action === 'restore') {
        const report = await restoreArchivedSagas(deps.restore, payload.sagaIds);
        logger.info('archived sagas restored', { ...report });
        recordArchiveRestore(telemetry, report.restored.length);
        return { action: 'restore', ...report };
      }

      if (payload.action === 'verify') {
        const report = await verifyArchivedObjects(deps.verify, { limit: payload.limit });
        for (const object of report.damaged) logger.error('archived object is damaged', { ...object });
        logger.info('archive verified', {
          checked: report.checked,
          intact: report.intact,
          damaged: report.damaged.length,
        });
        recordArchiveDamage(telemetry, report.damaged.length);
        return { action: 'verify', ...report };
      }

      const remainingMs =
        typeof context?.getRemainingTimeInMillis === 'function'
          ? context.getRemainingTimeInMillis()
          : undefined;
      const budget = planRunBudget({
        timeBudgetMs: payload.timeBudgetMs ?? config.timeBudgetMs,
        remainingMs,
        safetyMarginMs: config.safetyMarginMs,
      });
      const report = await archiveEligibleSagas(
        { ...deps.run, log: logger },
        {
          rules: config.rules,
          prefix: config.prefix,
          chunkSize: payload.chunkSize ?? config.chunkSize,
          timeBudgetMs: budget.timeBudgetMs,
          maxSagas: payload.limit ?? config.maxSagasPerRun,
          gzipLevel: config.gzipLevel,
          dryRun: payload.dryRun,
          sagaTypes: payload.sagaTypes,
          runId: context?.awsRequestId,
          leaseMs: budget.leaseMs,
        },
      );
      logger.info('archiver run finished', { ...report });
      if (!report.dryRun) {
        recordArchiveRun(telemetry, {
          archived: report.archived,
          bytes: report.bytes,
          failed: report.skippedUnreadable,
          objects: report.objects,
          remaining: report.remaining,
          finishedAt: Date.now(),
        });
      }
      return { action: 'archive', ...report };
    });
}
