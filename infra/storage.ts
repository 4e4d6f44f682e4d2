import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ArchiveConfig, SagaTrackerConfig } from './config';

const COLD_STORAGE_CLASS: Record<ArchiveConfig['coldStorageClass'], s3.StorageClass> = {
  STANDARD_IA: s3.StorageClass.INFREQUENT_ACCESS,
  GLACIER_IR: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
};

/** A bucket with its own KMS key and the protections every data bucket here has. */
export interface DataBucket {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
}

/** The object actions a grant may contain; no wildcard actions on data. */
export type ObjectAction = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject';

/**
 * The service's buckets: the archive (cold storage of old sagas) and the dead
 * letters (batches the Kafka event source mapping gave up on), both encrypted
 * with their own rotating KMS key, versioned, private, TLS-only and logged to
 * an access-log bucket. Buckets are retained when the stack is deleted: they
 * hold the only copy of archived timelines and failed batches.
 */
export class Storage extends Construct {
  readonly archive: DataBucket;
  readonly deadLetters: DataBucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, config: SagaTrackerConfig) {
    super(scope, id);
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access log delivery writes with SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'ExpireAccessLogs',
          expiration: Duration.days(config.accessLogs.expirationDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the access-log bucket of the archive and dead-letter buckets; logging it into itself would loop',
    });

    const archive = config.archive;
    this.archive = this.dataBucket('Archive', 'archive/', {
      lifecycleRules: [
        {
          id: 'ColdStorage',
          transitions: [
            {
              storageClass: COLD_STORAGE_CLASS[archive.coldStorageClass],
              transitionAfter: Duration.days(archive.transitionAfterDays),
            },
          ],
          expiration: Duration.days(archive.expirationDays),
          noncurrentVersionExpiration: Duration.days(archive.noncurrentVersionExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      ...(archive.objectLock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              archive.objectLock.mode === 'COMPLIANCE'
                ? s3.ObjectLockRetention.compliance(Duration.days(archive.objectLock.days))
                : s3.ObjectLockRetention.governance(Duration.days(archive.objectLock.days)),
          }
        : {}),
    });

    this.deadLetters = this.dataBucket('DeadLetters', 'dead-letters/', {
      lifecycleRules: [
        {
          id: 'ExpireDeadLetters',
          expiration: Duration.days(config.deadLetters.expirationDays),
          noncurrentVersionExpiration: Duration.days(config.deadLetters.noncurrentVersionExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
  }

  private dataBucket(id: string, logPrefix: string, extra: Partial<s3.BucketProps>): DataBucket {
    const key = new kms.Key(this, `${id}Key`, {
      description: `Saga tracker ${id} bucket`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const bucket = new s3.Bucket(this, id, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: logPrefix,
      removalPolicy: RemovalPolicy.RETAIN,
      ...extra,
    });
    return { bucket, key };
  }
}

/**
 * Grants exactly the listed object actions (optionally under a prefix), the
 * listing when asked, and the KMS use they imply: decrypt to read, data keys
 * to write. CDK's grantRead/grantWrite would add wildcard actions (s3:GetObject*,
 * kms:GenerateDataKey*), which this project does not allow on data.
 */
export function grantObjects(
  grantee: iam.IGrantable,
  target: DataBucket,
  options: { readonly actions: readonly ObjectAction[]; readonly prefix?: string; readonly list?: boolean },
): void {
  const { bucket, key } = target;
  const objects = bucket.arnForObjects(`${options.prefix ?? ''}*`);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: [...options.actions], resources: [objects] }),
  );
  if (options.list) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
    );
  }
  const kmsActions = [
    ...(options.actions.includes('s3:GetObject') ? ['kms:Decrypt'] : []),
    ...(options.actions.includes('s3:PutObject') ? ['kms:GenerateDataKey'] : []),
  ];
  if (kmsActions.length > 0) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: kmsActions, resources: [key.keyArn] }),
    );
  }
  if (grantee.grantPrincipal instanceof Construct) {
    Validations.of(grantee.grantPrincipal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketToken(bucket)}.Arn>/${options.prefix ?? ''}*]`,
      reason: `Object-level actions on the keys${options.prefix ? ` under ${options.prefix}` : ''} of this one bucket; the actions themselves are listed explicitly`,
    });
  }
}

/** The logical id cdk-nag prints for a bucket's ARN reference. */
function bucketToken(bucket: s3.Bucket): string {
  return Stack.of(bucket).getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
}
