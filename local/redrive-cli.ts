import { parseArgs } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { createPool } from '../lib/adapters/pg/pool';
import { s3EnvSchema } from '../lib/adapters/s3';
import { S3DeadLetterBucket } from '../lib/adapters/s3-dead-letter-bucket';
import { writerSchemasFromConfig } from '../lib/adapters/schema-registry';
import { basicCredentialsFromSecret } from '../lib/adapters/secrets';
import {
  databaseEnvSchema,
  ingestEnvSchema,
  parseEnv,
  schemaRegistryEnvSchema,
  toDatabaseConfig,
} from '../lib/config';
import { redriveEnvSchema } from '../lib/config/redrive';
import { SagaTrackerError } from '../lib/errors';
import type { RedriveOptionsInput } from '../lib/redrive/options';
import { parseRedriveOptions } from '../lib/redrive/options';
import { redrive } from '../lib/redrive/redrive';
import type { RedriveReport } from '../lib/redrive/report';
import { loadBundledSchema } from '../schemas';

export const USAGE = `Usage: npm run redrive -- [options]

Replays dead letters: pending rows of the dead-letter table and the batches the
Kafka event source mapping discarded to its S3 on-failure bucket.

Where it runs:
  --function-name NAME   invoke the deployed redrive function (default: $REDRIVE_FUNCTION_NAME)
  --region REGION        AWS region of the function (default: $AWS_REGION)
  --local                run the redrive here, against $DATABASE_URL (and $DLQ_BUCKET, $S3_ENDPOINT)

What it replays (the function's JSON options):
  --source table|s3|both dead-letter table, S3 batches, or both (default: both; ids imply table, keys s3)
  --dry-run              run in a transaction that is rolled back: report what would happen
  --limit N              at most N table dead letters and N S3 objects (default 100, max 10000)
  --event-id ID          only dead letters of this event (repeatable)
  --id N                 only this dead-letter row (repeatable)
  --key KEY              only this S3 object (repeatable)
  --since ISO-8601       only dead letters created (objects written) at or after this instant

Exit status: 0 when everything requested was replayed, 1 when some dead letters
stay pending or the run was cut short, 2 on bad usage.`;

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** The Lambda client for remote runs (tests point it at a local endpoint). */
  readonly lambda?: LambdaClient;
}

class UsageError extends SagaTrackerError {}

interface Parsed {
  readonly options: RedriveOptionsInput;
  readonly local: boolean;
  readonly functionName: string | undefined;
  readonly region: string | undefined;
}

function parseCommandLine(argv: readonly string[], env: CliIo['env']): Parsed | 'help' {
  let values: ReturnType<typeof parseArgs>['values'];
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        local: { type: 'boolean' },
        'function-name': { type: 'string' },
        region: { type: 'string' },
        source: { type: 'string' },
        'dry-run': { type: 'boolean' },
        limit: { type: 'string' },
        'event-id': { type: 'string', multiple: true },
        id: { type: 'string', multiple: true },
        key: { type: 'string', multiple: true },
        since: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const text = (name: string) => values[name] as string | undefined;
  const list = (name: string) => values[name] as string[] | undefined;
  const limit = text('limit');
  if (limit !== undefined && !/^\d+$/.test(limit))
    throw new UsageError(`--limit: expected a number, got "${limit}"`);
  const options: RedriveOptionsInput = {
    ...(text('source') ? { source: text('source') as 'table' | 's3' | 'both' } : {}),
    ...(values['dry-run'] ? { dryRun: true } : {}),
    ...(limit !== undefined ? { limit: Number(limit) } : {}),
    ...(list('event-id') ? { eventIds: list('event-id') } : {}),
    ...(list('id') ? { ids: list('id') } : {}),
    ...(list('key') ? { keys: list('key') } : {}),
    ...(text('since') ? { since: text('since') } : {}),
  };
  return {
    options,
    local: values.local === true,
    functionName: text('function-name') ?? env.REDRIVE_FUNCTION_NAME,
    region: text('region') ?? env.AWS_REGION,
  };
}

async function invokeDeployed(parsed: Parsed, io: CliIo): Promise<RedriveReport> {
  if (!parsed.functionName) {
    throw new UsageError(
      'name the deployed function with --function-name or REDRIVE_FUNCTION_NAME, or use --local',
    );
  }
  const lambda = io.lambda ?? new LambdaClient(parsed.region ? { region: parsed.region } : {});
  const answer = await lambda.send(
    new InvokeCommand({
      FunctionName: parsed.functionName,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(JSON.stringify(parsed.options)),
    }),
  );
  const body = answer.Payload ? Buffer.from(answer.Payload).toString('utf8') : '';
  if (answer.FunctionError) {
    let message = body;
    try {
      const error = JSON.parse(body) as { errorType?: string; errorMessage?: string };
      message = `${error.errorType ?? 'Error'}: ${error.errorMessage ?? body}`;
    } catch {
      // Not JSON: show it as it came.
    }
    throw new SagaTrackerError(`the redrive function failed: ${message}`);
  }
  return JSON.parse(body) as RedriveReport;
}

async function runLocally(parsed: Parsed, io: CliIo): Promise<RedriveReport> {
  const options = parseRedriveOptions(parsed.options);
  const env = { ...io.env };
  // A local S3 server (s3rver) takes any credentials; the SDK still wants some.
  if (env.S3_ENDPOINT && !env.AWS_ACCESS_KEY_ID) {
    env.AWS_ACCESS_KEY_ID = 'S3RVER';
    env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  }
  // The local stack's producers write with schema id 1 = the bundled schema unless a registry is named.
  if (!env.SCHEMA_REGISTRY_URL && !env.SCHEMA_REGISTRY_STATIC_SCHEMAS) {
    env.SCHEMA_REGISTRY_STATIC_SCHEMAS = '{"1":"SagaTracker.avsc"}';
  }
  const database = toDatabaseConfig(parseEnv(databaseEnvSchema, env));
  const registry = parseEnv(schemaRegistryEnvSchema, env);
  const ingest = parseEnv(ingestEnvSchema, env);
  const config = parseEnv(redriveEnvSchema, env);
  const s3Config = parseEnv(s3EnvSchema, env);
  const pool = createPool(database, { applicationName: 'saga-tracker-redrive-cli' });
  // Built here rather than with createS3Client: credentials named in this environment must be used.
  const s3 = config.DLQ_BUCKET
    ? new S3Client({
        region: s3Config.AWS_REGION,
        ...(s3Config.S3_ENDPOINT ? { endpoint: s3Config.S3_ENDPOINT, forcePathStyle: true } : {}),
        ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              credentials: {
                accessKeyId: env.AWS_ACCESS_KEY_ID,
                secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
                ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
              },
            }
          : {}),
      })
    : undefined;
  try {
    const { sagaChanges: _changes, ...report } = await redrive(options, {
      pool,
      schemas: writerSchemasFromConfig(registry, loadBundledSchema, (arn) => basicCredentialsFromSecret(arn)),
      decode: { maxFutureMs: ingest.MAX_CLOCK_SKEW_SECONDS * 1000 },
      ...(s3 && config.DLQ_BUCKET ? { bucket: new S3DeadLetterBucket(s3, config.DLQ_BUCKET) } : {}),
      ...(config.DLQ_PREFIX ? { prefix: config.DLQ_PREFIX } : {}),
      batchSize: config.REDRIVE_BATCH_SIZE,
      log: {
        info: () => undefined,
        warn: (message, extra) => io.err(`${message} ${JSON.stringify(extra ?? {})}`),
      },
    });
    return report;
  } finally {
    s3?.destroy();
    await pool.end();
  }
}

/** `npm run redrive -- …`: returns the exit status. */
export async function runRedriveCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: Parsed | 'help';
  try {
    parsed = parseCommandLine(argv, io.env);
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    io.out(USAGE);
    return 0;
  }
  let report: RedriveReport;
  try {
    report = parsed.local ? await runLocally(parsed, io) : await invokeDeployed(parsed, io);
  } catch (error) {
    io.err(error instanceof Error ? error.message : String(error));
    return error instanceof UsageError || (error as { statusCode?: number }).statusCode === 400 ? 2 : 1;
  }
  io.out(JSON.stringify(report, null, 2));
  io.err(
    `${report.dryRun ? 'dry run: ' : ''}requested ${report.requested}, successful ${report.successful}, failed ${report.failed}, skipped ${report.skipped}${report.incomplete ? ' (incomplete)' : ''}`,
  );
  for (const error of report.errors) io.err(`error: ${error}`);
  return report.failed > 0 || report.incomplete ? 1 : 0;
}
