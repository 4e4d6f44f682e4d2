import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ManagedKafkaEventSource, S3OnFailureDestination } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { MskConfig } from './config';
import type { ServiceFunction } from './service-function';
import type { DataBucket } from './storage';

/**
 * The S3 on-failure destination with the permissions AWS documents for it
 * (s3:PutObject, s3:ListBucket, kms:GenerateDataKey for a KMS bucket) instead
 * of the base class's grantReadWrite, which would let the consumer read and
 * delete every dead letter.
 */
export class WriteOnlyS3OnFailureDestination extends S3OnFailureDestination {
  constructor(private readonly target: DataBucket) {
    super(target.bucket);
  }

  override bind(
    _mapping: lambda.IEventSourceMapping,
    handler: lambda.IFunction,
  ): lambda.DlqDestinationConfig {
    const bucket: s3.IBucket = this.target.bucket;
    handler.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'OnFailureDestinationWrite',
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects('*')],
      }),
    );
    handler.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'OnFailureDestinationList',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
      }),
    );
    handler.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'OnFailureDestinationEncrypt',
        actions: ['kms:GenerateDataKey'],
        resources: [this.target.key.keyArn],
      }),
    );
    if (handler.role instanceof Construct) {
      Validations.of(handler.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
        reason:
          'The event source mapping names its on-failure objects itself (one per failed batch): PutObject on any key of the dead-letter bucket only',
      });
    }
    return { destination: bucket.bucketArn };
  }
}

/** ARNs of the MSK IAM access-control resources the consumer touches (cluster, topic, group). */
export function mskResourceArns(msk: MskConfig): { cluster: string; topic: string; group: string } {
  const { partition, region, account, name, uuid } = msk.cluster;
  const prefix = `arn:${partition}:kafka:${region}:${account}`;
  return {
    cluster: msk.clusterArn,
    topic: `${prefix}:topic/${name}/${uuid}/${msk.topic}`,
    group: `${prefix}:group/${name}/${uuid}/${msk.consumerGroupId}`,
  };
}

/**
 * Subscribes the consume function to the topic through an MSK event source
 * mapping (IAM authentication) and grants exactly what the mapping needs:
 * cluster metadata, connect, read the topic, commit offsets of the group,
 * network interfaces in the cluster's subnets, and the on-failure bucket.
 */
export function subscribeToTopic(
  consume: ServiceFunction,
  msk: MskConfig,
  deadLetters: DataBucket,
): lambda.EventSourceMapping {
  const provisioned = msk.pollers.mode === 'provisioned';
  consume.fn.addEventSource(
    new ManagedKafkaEventSource({
      clusterArn: msk.clusterArn,
      topic: msk.topic,
      consumerGroupId: msk.consumerGroupId,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: msk.batchSize,
      maxBatchingWindow: Duration.seconds(msk.maxBatchingWindowSeconds),
      onFailure: new WriteOnlyS3OnFailureDestination(deadLetters),
      metricsConfig: {
        metrics: [
          lambda.MetricType.EVENT_COUNT,
          lambda.MetricType.ERROR_COUNT,
          lambda.MetricType.KAFKA_METRICS,
        ],
      },
      // Retries, record age and bisection are only accepted in provisioned mode (config.ts enforces it).
      ...(msk.pollers.mode === 'provisioned'
        ? {
            provisionedPollerConfig: {
              minimumPollers: msk.pollers.minimum,
              maximumPollers: msk.pollers.maximum,
            },
          }
        : {}),
      ...(provisioned && msk.retryAttempts !== undefined ? { retryAttempts: msk.retryAttempts } : {}),
      ...(provisioned && msk.maxRecordAgeSeconds !== undefined
        ? { maxRecordAge: Duration.seconds(msk.maxRecordAgeSeconds) }
        : {}),
      ...(provisioned && msk.bisectBatchOnError !== undefined
        ? { bisectBatchOnError: msk.bisectBatchOnError }
        : {}),
    }),
  );

  const arns = mskResourceArns(msk);
  const statements = [
    new iam.PolicyStatement({
      sid: 'MskClusterMetadata',
      actions: ['kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'],
      resources: [arns.cluster],
    }),
    new iam.PolicyStatement({
      sid: 'MskConnect',
      actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
      resources: [arns.cluster],
    }),
    new iam.PolicyStatement({
      sid: 'MskReadTopic',
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
      resources: [arns.topic],
    }),
    new iam.PolicyStatement({
      sid: 'MskConsumerGroup',
      actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
      resources: [arns.group],
    }),
    // The mapping's pollers place network interfaces in the cluster's subnets.
    new iam.PolicyStatement({
      sid: 'MskPollerNetwork',
      actions: ['ec2:DescribeVpcs', 'ec2:DescribeSecurityGroups'],
      resources: ['*'],
    }),
  ];
  for (const statement of statements) consume.role.addToPrincipalPolicy(statement);

  const mapping = consume.fn.node.children.find(
    (child): child is lambda.EventSourceMapping => child instanceof lambda.EventSourceMapping,
  );
  if (!mapping) throw new Error('the Kafka event source did not create an event source mapping');
  return mapping;
}
