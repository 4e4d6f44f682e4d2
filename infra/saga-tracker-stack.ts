import { Aws, CfnOutput, Duration, Stack, Tags, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as triggers from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import { SagaTrackerApi } from './api';
import type { FunctionSizing, SagaTrackerConfig } from './config';
import { Database } from './database';
import { subscribeToTopic } from './ingest';
import { Network } from './network';
import { Alarms, PrometheusRemoteWrite } from './observability';
import { BUNDLED_MIGRATIONS_DIR, type FunctionName, ServiceFunction } from './service-function';
import { grantObjects, Storage } from './storage';

/** Where the ESM's S3 on-failure destination writes, and where the redrive moves what it replayed. */
export const DEAD_LETTER_PREFIXES = { failedBatches: 'aws/lambda/', redriven: 'redriven/' } as const;

export function defaultStackName(config: SagaTrackerConfig): string {
  return config.stackName ?? `SagaTracker-${config.environment}`;
}

/**
 * The whole Saga Tracker in one stack: network, PostgreSQL behind RDS Proxy,
 * the buckets, the six functions with their triggers (MSK mapping, HTTP API,
 * schedules, deploy-time migration), metrics export and alarms.
 */
export class SagaTrackerStack extends Stack {
  readonly config: SagaTrackerConfig;
  readonly functions: Readonly<Record<FunctionName, ServiceFunction>>;
  readonly eventSourceMapping: lambda.EventSourceMapping;
  readonly migration: triggers.Trigger;

  constructor(scope: Construct, config: SagaTrackerConfig) {
    super(scope, defaultStackName(config), {
      description: `Saga Tracker (${config.environment}): records every saga step from Kafka, serves and archives them`,
      ...(config.account && config.region ? { env: { account: config.account, region: config.region } } : {}),
      terminationProtection: config.database.deletionProtection,
    });
    this.config = config;
    Tags.of(this).add('service', 'saga-tracker');
    Tags.of(this).add('environment', config.environment);
    for (const [key, value] of Object.entries(config.tags)) Tags.of(this).add(key, value);

    const network = new Network(this, 'Network', config);
    const storage = new Storage(this, 'Storage', config);
    const database = new Database(this, 'Database', { config, vpc: network.vpc, subnets: network.subnets });
    const prometheus = new PrometheusRemoteWrite(this, 'Prometheus', config);

    const registry = config.schemaRegistry;
    const registryEnvironment: Record<string, string> = {
      ...(registry.url ? { SCHEMA_REGISTRY_URL: registry.url } : {}),
      ...(registry.secretArn ? { SCHEMA_REGISTRY_SECRET_ARN: registry.secretArn } : {}),
      ...(registry.staticSchemas
        ? { SCHEMA_REGISTRY_STATIC_SCHEMAS: JSON.stringify(registry.staticSchemas) }
        : {}),
    };

    // The consumer, the redrive function and the replay API apply the same ingest path: same judgement.
    const ingestEnvironment = { MAX_CLOCK_SKEW_SECONDS: String(config.ingest.maxClockSkewSeconds) };

    const serviceFunction = (
      id: string,
      name: FunctionName,
      sizing: FunctionSizing,
      description: string,
      environment: Record<string, string>,
    ) =>
      new ServiceFunction(this, id, {
        name,
        description,
        sizing,
        config,
        vpc: network.vpc,
        subnets: network.subnets,
        environment,
      });
    const sizes = config.functions;

    const consume = serviceFunction('Consume', 'consume', sizes.consume, 'Ingests saga events from MSK', {
      ...registryEnvironment,
      ...ingestEnvironment,
    });
    // The API reads archived sagas back (ARCHIVE_BUCKET) and replays dead letters (the registry, the skew).
    const api = serviceFunction('Api', 'api', sizes.api, 'Query and admin API behind API Gateway', {
      ...registryEnvironment,
      ...ingestEnvironment,
      ARCHIVE_BUCKET: storage.archive.bucket.bucketName,
    });
    const archive = serviceFunction(
      'Archive',
      'archive',
      sizes.archive,
      'Moves old sagas to S3 cold storage',
      {
        ARCHIVE_BUCKET: storage.archive.bucket.bucketName,
        RETENTION_DAYS: String(config.archive.hotRetentionDays),
      },
    );
    const dlqRedrive = serviceFunction(
      'DlqRedrive',
      'dlq-redrive',
      sizes.dlqRedrive,
      'Replays dead letters (manual invocation)',
      { ...registryEnvironment, ...ingestEnvironment, DLQ_BUCKET: storage.deadLetters.bucket.bucketName },
    );
    const stateGauges = serviceFunction(
      'StateGauges',
      'state-gauges',
      sizes.stateGauges,
      'Publishes saga state gauges and consumer lag every minute',
      { CONSUME_FUNCTION_NAME: consume.fn.functionName },
    );
    const migrate = serviceFunction(
      'Migrate',
      'migrate',
      sizes.migrate,
      'Applies database migrations at deploy time',
      {
        APP_DB_USER: database.appUser,
        APP_DB_IAM: 'true',
        MIGRATIONS_DIR: BUNDLED_MIGRATIONS_DIR,
      },
    );
    this.functions = {
      consume,
      api,
      archive,
      'dlq-redrive': dlqRedrive,
      'state-gauges': stateGauges,
      migrate,
    };

    const appFunctions = [consume, api, archive, dlqRedrive, stateGauges];
    for (const fn of appFunctions) {
      for (const [name, value] of Object.entries(database.appEnvironment())) fn.addEnvironment(name, value);
      database.grantAppAccess(fn);
      for (const [name, value] of Object.entries(prometheus.environment)) fn.addEnvironment(name, value);
      prometheus.grantWrite(fn);
    }
    for (const [name, value] of Object.entries(database.grantAdminAccess(migrate))) {
      migrate.addEnvironment(name, value);
    }
    for (const fn of [consume, api, dlqRedrive]) {
      if (registry.secretArn) {
        fn.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: [registry.secretArn],
          }),
        );
      }
      if (registry.url) fn.allowEgressToUrl(registry.url, 'Confluent Schema Registry');
    }

    // Bucket access, action by action.
    // Reads only. The listing makes a missing object a 404 (NoSuchKey: reported as a damaged archive)
    // rather than a 403, which the API would have to take for an outage.
    grantObjects(api, storage.archive, { actions: ['s3:GetObject'], list: true });
    grantObjects(archive, storage.archive, { actions: ['s3:GetObject', 's3:PutObject'], list: true });
    grantObjects(dlqRedrive, storage.deadLetters, { actions: ['s3:GetObject'], list: true });
    grantObjects(dlqRedrive, storage.deadLetters, {
      actions: ['s3:PutObject'],
      prefix: DEAD_LETTER_PREFIXES.redriven,
    });
    grantObjects(dlqRedrive, storage.deadLetters, {
      actions: ['s3:DeleteObject'],
      prefix: DEAD_LETTER_PREFIXES.failedBatches,
    });

    // OffsetLag for saga_tracker_consumer_lag: GetMetricData has no resource-level permissions.
    stateGauges.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
    );
    Validations.of(stateGauges.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:GetMetricData (reading the consumer OffsetLag) supports no resource-level permissions; the EC2 ENI actions are explained on the function role',
    });

    // Migrations run during the deployment, before anything reads or writes the database.
    this.migration = new triggers.Trigger(this, 'MigrateOnDeploy', {
      handler: migrate.fn,
      executeAfter: [network, database, migrate],
      executeOnHandlerChange: true,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      timeout: Duration.seconds(sizes.migrate.timeoutSeconds),
    });

    this.eventSourceMapping = subscribeToTopic(consume, config.msk, storage.deadLetters);
    this.eventSourceMapping.node.addDependency(this.migration);

    const httpApi = new SagaTrackerApi(this, 'HttpApi', { config, handler: api });
    httpApi.node.addDependency(this.migration);

    const archiveSchedule = new scheduler.Schedule(this, 'ArchiveSchedule', {
      description: 'Saga tracker: archive sagas past their hot retention',
      schedule: scheduler.ScheduleExpression.expression(
        config.archive.schedule,
        TimeZone.of(config.archive.timeZone),
      ),
      target: new targets.LambdaInvoke(archive.fn, {
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    });
    const gaugesSchedule = new scheduler.Schedule(this, 'StateGaugesSchedule', {
      description: 'Saga tracker: state gauges and consumer lag, every minute',
      schedule: scheduler.ScheduleExpression.expression(config.stateGauges.schedule),
      // A missed minute is replaced by the next one: no retries that would pile up.
      target: new targets.LambdaInvoke(stateGauges.fn, {
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    });
    archiveSchedule.node.addDependency(this.migration);
    gaugesSchedule.node.addDependency(this.migration);
    for (const target of [archive, stateGauges]) {
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(target.fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        reason: `The scheduler role invokes the ${target.node.id} function; grantInvoke also names its versions (ARN:*), nothing else`,
      });
    }

    const alarms = new Alarms(this, 'Alarms', {
      config,
      consume,
      functions: appFunctions,
      api: httpApi.httpApi,
      database: database.instance,
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('ApiUrl', httpApi.url, 'HTTP API base URL (SigV4, service execute-api)');
    output('ApiReadPolicyArn', httpApi.readPolicy.managedPolicyArn, 'Attach to callers that read sagas');
    output(
      'ApiOperatorPolicyArn',
      httpApi.operatorPolicy.managedPolicyArn,
      'Attach to operators (admin routes)',
    );
    output('DlqRedriveFunctionName', dlqRedrive.fn.functionName, 'Invoke manually to replay dead letters');
    output('ConsumeFunctionName', consume.fn.functionName, 'The MSK consumer');
    output('MigrateFunctionName', migrate.fn.functionName, 'Deploy-time migrations (re-invocable)');
    output('ArchiveBucketName', storage.archive.bucket.bucketName, 'Cold storage of archived sagas');
    output('DeadLetterBucketName', storage.deadLetters.bucket.bucketName, 'Batches the consumer gave up on');
    output('DatabaseProxyEndpoint', database.proxy.endpoint, 'PostgreSQL through RDS Proxy (IAM auth)');
    output(
      'DatabaseAdminSecretArn',
      database.adminSecret.secretArn,
      'Schema owner credentials (break-glass)',
    );
    output('AlarmTopicArn', alarms.topic.topicArn, 'SNS topic of the CloudWatch alarms');
    output(
      'DashboardUrl',
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${alarms.dashboard.dashboardName}`,
      'CloudWatch dashboard',
    );
    if (prometheus.url)
      output('PrometheusRemoteWriteUrl', prometheus.url, 'Where the functions remote-write');
  }
}
