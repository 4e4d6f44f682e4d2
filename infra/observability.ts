import { Aws, Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as aps from 'aws-cdk-lib/aws-aps';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { SagaTrackerConfig } from './config';
import { METRICS_NAMESPACE, type ServiceFunction, serviceName } from './service-function';

/**
 * The gauge of dead letters waiting for a redrive, published every minute by
 * the state-gauges function through Powertools Metrics: namespace SagaTracker,
 * only the default dimension service=saga-tracker-state-gauges. The name is
 * the CloudWatch mapping of `saga_dead_letters_pending` in the metrics work
 * (lib/telemetry/metrics.ts, PENDING_DEAD_LETTERS); the alarm must match it.
 */
export const PENDING_DEAD_LETTERS_METRIC = 'PendingDeadLetters';

/**
 * Where the functions send Prometheus remote write: a Managed Prometheus
 * workspace created here (SigV4 with the function role), an external endpoint
 * (credentials in Secrets Manager), or nowhere.
 */
export class PrometheusRemoteWrite extends Construct {
  readonly environment: Readonly<Record<string, string>>;
  readonly url: string | undefined;
  private readonly statements: iam.PolicyStatement[] = [];
  private readonly egressUrl: string | undefined;

  constructor(scope: Construct, id: string, config: SagaTrackerConfig) {
    super(scope, id);
    const prometheus = config.prometheus;
    // Every series carries the environment, so dev and prod can share one Prometheus.
    const environmentLabel = `environment=${config.environment}`;
    if (prometheus.mode === 'amp') {
      const workspace = new aps.CfnWorkspace(this, 'Workspace', {
        alias: `saga-tracker-${config.environment}`,
      });
      this.url = `${workspace.attrPrometheusEndpoint}api/v1/remote_write`;
      this.environment = {
        PROMETHEUS_REMOTE_WRITE_URL: this.url,
        PROMETHEUS_REMOTE_WRITE_AUTH: 'sigv4',
        PROMETHEUS_REMOTE_WRITE_REGION: Aws.REGION,
        PROMETHEUS_REMOTE_WRITE_LABELS: environmentLabel,
      };
      this.statements.push(
        new iam.PolicyStatement({ actions: ['aps:RemoteWrite'], resources: [workspace.attrArn] }),
      );
    } else if (prometheus.mode === 'external') {
      this.url = prometheus.url;
      this.egressUrl = prometheus.url;
      this.environment = {
        PROMETHEUS_REMOTE_WRITE_URL: prometheus.url,
        PROMETHEUS_REMOTE_WRITE_AUTH: prometheus.auth,
        PROMETHEUS_REMOTE_WRITE_LABELS: environmentLabel,
        ...(prometheus.secretArn ? { PROMETHEUS_REMOTE_WRITE_SECRET_ARN: prometheus.secretArn } : {}),
        ...(prometheus.auth === 'sigv4'
          ? { PROMETHEUS_REMOTE_WRITE_REGION: prometheus.region ?? Aws.REGION }
          : {}),
      };
      if (prometheus.secretArn) {
        this.statements.push(
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: [prometheus.secretArn],
          }),
        );
      }
    } else {
      this.url = undefined;
      this.environment = {};
    }
  }

  /** Lets a function write to the endpoint. */
  grantWrite(fn: ServiceFunction): void {
    for (const statement of this.statements) fn.role.addToPrincipalPolicy(statement);
    if (this.egressUrl) fn.allowEgressToUrl(this.egressUrl, 'Prometheus remote write');
  }
}

export interface AlarmsProps {
  readonly config: SagaTrackerConfig;
  readonly consume: ServiceFunction;
  /** Functions whose errors and throttles page someone (not the deploy-time migration). */
  readonly functions: readonly ServiceFunction[];
  readonly api: apigwv2.HttpApi;
  readonly database: rds.DatabaseInstance;
}

/**
 * CloudWatch alarms (to an SNS topic) and a dashboard: consumer offset lag,
 * errors and throttles of every function, dead letters waiting, API 5xx, and
 * the database's CPU and free storage.
 */
export class Alarms extends Construct {
  readonly topic: sns.ITopic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const { config } = props;
    this.topic = config.alarms.topicArn
      ? sns.Topic.fromTopicArn(this, 'Topic', config.alarms.topicArn)
      : this.createTopic();
    for (const email of config.alarms.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    const offsetLag = new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'OffsetLag',
      dimensionsMap: { FunctionName: props.consume.fn.functionName },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    });
    this.alarm('ConsumerOffsetLag', {
      metric: offsetLag,
      threshold: config.alarms.offsetLagThreshold,
      evaluationPeriods: config.alarms.offsetLagMinutes,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `Saga tracker consumer lag above ${config.alarms.offsetLagThreshold} records for ${config.alarms.offsetLagMinutes} minutes (topic ${config.msk.topic}, group ${config.msk.consumerGroupId})`,
    });

    const deadLetters = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: PENDING_DEAD_LETTERS_METRIC,
      dimensionsMap: { service: serviceName('state-gauges') },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(5),
    });
    this.alarm('PendingDeadLetters', {
      metric: deadLetters,
      threshold: config.alarms.deadLettersPendingThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription:
        'Dead letters are waiting for a redrive (invoke the dlq-redrive function once the cause is fixed)',
    });

    for (const fn of props.functions) {
      const name = fn.node.id;
      this.alarm(`${name}Errors`, {
        metric: fn.fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `The saga tracker ${name} function fails (2 of the last 3 five-minute periods)`,
      });
      this.alarm(`${name}Throttles`, {
        metric: fn.fn.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `The saga tracker ${name} function is throttled`,
      });
    }

    this.alarm('Api5xx', {
      metric: props.api.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'The saga tracker API answers 5xx',
    });
    this.alarm('DatabaseCpu', {
      metric: props.database.metricCPUUtilization({ period: Duration.minutes(5) }),
      threshold: 80,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'The saga tracker database CPU is above 80% for 15 minutes',
    });
    this.alarm('DatabaseFreeStorage', {
      metric: props.database.metricFreeStorageSpace({ period: Duration.minutes(5) }),
      threshold: 2 * 1024 ** 3,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      alarmDescription:
        'The saga tracker database has less than 2 GiB free (storage autoscaling at its maximum?)',
    });

    this.dashboard = this.createDashboard(
      props,
      offsetLag.with({ label: 'Consumer offset lag (max)' }),
      deadLetters.with({ label: 'Dead letters waiting' }),
    );
  }

  private createTopic(): sns.Topic {
    // CloudWatch can only publish to an encrypted topic whose key lets it: a customer managed key.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Saga tracker alarm notifications',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    return new sns.Topic(this, 'Topic', {
      displayName: 'Saga tracker alarms',
      masterKey: key,
      enforceSSL: true,
    });
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.topic));
    alarm.addOkAction(new cwActions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }

  private createDashboard(
    props: AlarmsProps,
    offsetLag: cloudwatch.IMetric,
    deadLetters: cloudwatch.IMetric,
  ): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `SagaTracker-${props.config.environment}`,
      defaultInterval: Duration.hours(6),
    });
    const perFunction = (metric: (fn: ServiceFunction) => cloudwatch.IMetric) => props.functions.map(metric);
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# Saga tracker\nIngest (consumer lag, dead letters), functions, API and database. Sagas, failures and compensations are on the Grafana dashboard (monitoring/).',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Consumer offset lag', left: [offsetLag], width: 12 }),
      new cloudwatch.GraphWidget({ title: 'Dead letters waiting', left: [deadLetters], width: 12 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Invocations',
        left: perFunction((fn) => fn.fn.metricInvocations({ label: fn.node.id })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Errors',
        left: perFunction((fn) => fn.fn.metricErrors({ label: fn.node.id })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Throttles',
        left: perFunction((fn) => fn.fn.metricThrottles({ label: fn.node.id })),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Duration p99',
        left: perFunction((fn) => fn.fn.metricDuration({ statistic: 'p99', label: fn.node.id })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [props.api.metricCount()],
        right: [props.api.metricClientError(), props.api.metricServerError()],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency p99',
        left: [props.api.metricLatency({ statistic: 'p99' })],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Database CPU',
        left: [props.database.metricCPUUtilization()],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Database connections',
        left: [props.database.metricDatabaseConnections()],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Database free storage',
        left: [props.database.metricFreeStorageSpace()],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    return dashboard;
  }
}
