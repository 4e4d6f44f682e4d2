import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type pg from 'pg';
import { createConsumeHandler } from '../../functions/consume/handler';
import { PgIngestStore } from '../../lib/adapters/pg/ingest-store';
import type { WriterSchemas } from '../../lib/adapters/schema-registry';
import { StaticWriterSchemas } from '../../lib/adapters/schema-registry';
import type { Telemetry } from '../../lib/telemetry';
import { sagaTrackerSchema } from '../../schemas';
import { SAGA_TRACKER_SCHEMA_ID } from './kafka';

export function lambdaContext(functionName = 'saga-tracker-consume'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:ap-northeast-2:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/25/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function bundledSchemas(): StaticWriterSchemas {
  return new StaticWriterSchemas({ [SAGA_TRACKER_SCHEMA_ID]: sagaTrackerSchema() });
}

/**
 * The real consume handler wired to a test database (and, by default, the
 * bundled schema); pass a telemetry to see its metrics (CloudWatch-only otherwise).
 */
export function consumeHandlerFor(
  pool: pg.Pool,
  schemas: WriterSchemas = bundledSchemas(),
  telemetry?: Telemetry,
) {
  const handler = createConsumeHandler({
    logger: new Logger({ serviceName: 'consume-test', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'SagaTrackerTest', serviceName: 'consume-test' }),
    ingest: { schemas, store: new PgIngestStore(pool) },
    ...(telemetry ? { telemetry } : {}),
  });
  return (event: unknown) => handler(event, lambdaContext());
}
