import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lib/errors';
import { loadConfig, PLACEHOLDER_MSK_CLUSTER_ARN } from './config';
import { buildSagaTrackerApp } from './saga-tracker-app';
import { PROJECT_ROOT } from './service-function';
import { cdkJsonContext, PROD_OVERRIDES, REAL_CLUSTER_ARN } from './testing';

/** The configuration `npx cdk synth -c …` would see. */
function configWith(overrides: Record<string, unknown> = {}) {
  return loadConfig({ ...cdkJsonContext(), ...overrides });
}

describe('CDK configuration', () => {
  it('reads the dev environment of cdk.json when no environment is chosen', () => {
    const config = configWith();

    expect(config.environment).toBe('dev');
    expect(config.msk).toEqual(
      expect.objectContaining({
        clusterArn: PLACEHOLDER_MSK_CLUSTER_ARN,
        topic: 'c4ang.saga.tracker',
        consumerGroupId: 'saga-tracker-service',
        pollers: { mode: 'provisioned', minimum: 1, maximum: 3 },
        retryAttempts: 20,
        maxRecordAgeSeconds: 21_600,
        bisectBatchOnError: true,
      }),
    );
    expect(config.vpc).toEqual({ mode: 'new', cidr: '10.40.0.0/16', maxAzs: 2, natGateways: 0 });
    expect(config.database).toEqual(
      expect.objectContaining({ multiAz: false, deletionProtection: false, instanceType: 't4g.micro' }),
    );
    expect(config.account).toBeUndefined();
  });

  it('reads prod with multi-AZ, deletion protection and object lock once the cluster and registry are given', () => {
    const config = configWith(PROD_OVERRIDES);

    expect(config.environment).toBe('prod');
    expect(config.database).toEqual(
      expect.objectContaining({ multiAz: true, deletionProtection: true, removalPolicy: 'snapshot' }),
    );
    expect(config.archive.objectLock).toEqual({ mode: 'GOVERNANCE', days: 365 });
    expect(config.prometheus).toEqual({ mode: 'amp' });
    expect(config.msk.cluster).toEqual({
      partition: 'aws',
      region: 'eu-west-1',
      account: '123456789012',
      name: 'c4ang',
      uuid: '8c2e4a3b-1f0d-4c1e-9a7b-2d3e4f5a6b7c-4',
    });
  });

  it('takes -c values as the CLI passes them: strings holding numbers, booleans, JSON, dotted keys', () => {
    const config = configWith({
      'msk.batchSize': '50',
      'database.multiAz': 'true',
      archive: '{"expirationDays": 400, "transitionAfterDays": 60}',
      'archive.coldStorageClass': 'STANDARD_IA',
      'alarms.emails': '["oncall@example.com"]',
    });

    expect(config.msk.batchSize).toBe(50);
    expect(config.database.multiAz).toBe(true);
    expect(config.archive).toEqual(
      expect.objectContaining({
        expirationDays: 400,
        transitionAfterDays: 60,
        coldStorageClass: 'STANDARD_IA',
      }),
    );
    expect(config.alarms.emails).toEqual(['oncall@example.com']);
  });

  it('allows one day of producer clock skew unless told otherwise', () => {
    expect(configWith({}).ingest.maxClockSkewSeconds).toBe(86_400);
    expect(configWith({ 'ingest.maxClockSkewSeconds': '3600' }).ingest.maxClockSkewSeconds).toBe(3_600);
  });

  it('keeps an account id with a leading zero a string', () => {
    const config = configWith({
      account: '012345678901',
      region: 'eu-west-1',
      'vpc.availabilityZones': '["eu-west-1a","eu-west-1b"]',
      'msk.clusterArn': 'arn:aws:kafka:eu-west-1:012345678901:cluster/c4ang/abc-1',
    });

    expect(config.account).toBe('012345678901');
  });

  it('leaves Kafka error-handling controls unset in on-demand mode', () => {
    const config = configWith({ 'msk.pollers': '{"mode":"on-demand"}' });

    expect(config.msk.pollers).toEqual({ mode: 'on-demand' });
    expect(config.msk.retryAttempts).toBeUndefined();
    expect(config.msk.maxRecordAgeSeconds).toBeUndefined();
    expect(config.msk.bisectBatchOnError).toBeUndefined();
  });

  // One bad value each; the synth fails with a message naming the key.
  it.each([
    [
      'an environment cdk.json does not define',
      { environment: 'staging' },
      /environment: 'staging' is not defined/,
    ],
    [
      'prod without the cluster ARN',
      { environment: 'prod' },
      /msk\.clusterArn: required: the ARN of the existing MSK cluster/,
    ],
    [
      'a malformed cluster ARN',
      { 'msk.clusterArn': 'arn:aws:kafka:eu-west-1:123:cluster' },
      /msk\.clusterArn: expected arn:aws:kafka/,
    ],
    [
      'no schema registry and no bundled schemas',
      { environment: 'prod', 'msk.clusterArn': REAL_CLUSTER_ARN },
      /schemaRegistry\.url: required unless schemaRegistry\.staticSchemas/,
    ],
    [
      'a bundled schema file that does not exist',
      { 'schemaRegistry.staticSchemas': '{"7":"Nope.avsc"}' },
      /schemaRegistry\.staticSchemas\.7: schemas\/Nope\.avsc does not exist/,
    ],
    [
      'a clock skew below a minute',
      { 'ingest.maxClockSkewSeconds': '10' },
      /ingest\.maxClockSkewSeconds: Too small/,
    ],
    [
      'retries with on-demand pollers',
      { 'msk.pollers': '{"mode":"on-demand"}', 'msk.retryAttempts': '3' },
      /msk\.retryAttempts: Kafka error-handling controls need provisioned pollers/,
    ],
    [
      'bisection with on-demand pollers',
      { 'msk.pollers': '{"mode":"on-demand"}', 'msk.bisectBatchOnError': 'true' },
      /msk\.bisectBatchOnError: Kafka error-handling controls need provisioned pollers/,
    ],
    [
      'more minimum than maximum pollers',
      { 'msk.pollers': '{"mode":"provisioned","minimum":5,"maximum":2}' },
      /msk\.pollers\.minimum: must not exceed pollers\.maximum/,
    ],
    [
      'a batch size that is not a number',
      { 'msk.batchSize': 'lots' },
      /msk\.batchSize: Invalid input: expected number, received string/,
    ],
    ['a batch larger than Lambda allows', { 'msk.batchSize': '20000' }, /msk\.batchSize: Too big/],
    [
      'a record age beyond seven days',
      { 'msk.maxRecordAgeSeconds': '700000' },
      /msk\.maxRecordAgeSeconds: Too big/,
    ],
    [
      'a consumer timeout above the 14-minute Kafka limit',
      { 'functions.consume.timeoutSeconds': '900' },
      /functions\.consume\.timeoutSeconds: Too big/,
    ],
    [
      'an API timeout API Gateway would not wait for',
      { 'functions.api.timeoutSeconds': '60' },
      /functions\.api\.timeoutSeconds: Too big/,
    ],
    [
      'archive expiration under a year',
      { 'archive.expirationDays': '100' },
      /archive\.expirationDays: Too small/,
    ],
    [
      'object lock longer than the expiration',
      { 'archive.objectLock': '{"mode":"COMPLIANCE","days":1000}' },
      /archive\.objectLock\.days: must not exceed expirationDays/,
    ],
    [
      'STANDARD_IA before 30 days',
      { 'archive.coldStorageClass': 'STANDARD_IA', 'archive.transitionAfterDays': '10' },
      /archive\.transitionAfterDays: S3 moves objects to STANDARD_IA only after 30 days/,
    ],
    [
      'a storage class the API cannot read at once',
      { 'archive.coldStorageClass': 'DEEP_ARCHIVE' },
      /archive\.coldStorageClass: Invalid option/,
    ],
    [
      'an unparseable schedule',
      { 'archive.schedule': 'every day' },
      /archive\.schedule: expected an EventBridge Scheduler expression/,
    ],
    [
      'an unknown time zone',
      { 'archive.timeZone': 'Mars/Olympus' },
      /archive\.timeZone: expected an IANA time zone/,
    ],
    [
      'a log retention CloudWatch does not offer',
      { 'logs.retentionDays': '10' },
      /logs\.retentionDays: expected one of 1, 3, 5/,
    ],
    [
      'bearer remote write without its secret',
      { prometheus: '{"mode":"external","url":"https://mimir.example.com/api/v1/push","auth":"bearer"}' },
      /prometheus\.secretArn: required with auth=bearer/,
    ],
    [
      'a plain-HTTP remote-write URL',
      { prometheus: '{"mode":"external","url":"http://mimir.example.com/api/v1/push","auth":"none"}' },
      /prometheus\.url: expected an https:\/\/ URL/,
    ],
    [
      'an account without a region',
      { account: '123456789012' },
      /region: account and region are set together/,
    ],
    [
      'a pinned account with a new VPC and no zones',
      { account: '123456789012', region: 'eu-west-1', 'msk.clusterArn': REAL_CLUSTER_ARN },
      /vpc\.availabilityZones: required when account\/region are set/,
    ],
    [
      'a cluster in another account',
      {
        account: '210987654321',
        region: 'eu-west-1',
        'vpc.availabilityZones': '["eu-west-1a","eu-west-1b"]',
        'msk.clusterArn': REAL_CLUSTER_ARN,
      },
      /msk\.clusterArn: the cluster is in account 123456789012/,
    ],
    [
      'an imported VPC with a subnet per zone missing',
      {
        vpc: '{"mode":"import","vpcId":"vpc-0abc12345678def00","vpcCidrBlock":"10.0.0.0/16","availabilityZones":["eu-west-1a","eu-west-1b"],"privateSubnetIds":["subnet-0abc12345678def01"]}',
      },
      /vpc\.privateSubnetIds: one private subnet per availability zone/,
    ],
    [
      'an S3 endpoint in an imported VPC without route tables',
      {
        vpc: '{"mode":"import","vpcId":"vpc-0abc12345678def00","vpcCidrBlock":"10.0.0.0/16","availabilityZones":["eu-west-1a","eu-west-1b"],"privateSubnetIds":["subnet-0abc12345678def01","subnet-0abc12345678def02"]}',
        endpoints: '["s3"]',
      },
      /vpc\.privateSubnetRouteTableIds: required to create the S3 gateway endpoint/,
    ],
    ['the reserved admin name', { 'database.adminUser': 'postgres' }, /database\.adminUser: reserved by RDS/],
    ['a misspelled key', { 'database.multiAZ': 'true' }, /database: unknown key\(s\) multiAZ/],
    [
      'a word where a boolean belongs',
      { 'database.deletionProtection': 'yes' },
      /database\.deletionProtection: Invalid input: expected boolean/,
    ],
  ])('fails synth on %s, naming the key', (_case, overrides, message) => {
    const app = new App({ context: { ...cdkJsonContext(), ...overrides } });

    expect(() => buildSagaTrackerApp(app)).toThrow(ConfigError);
    expect(() => buildSagaTrackerApp(new App({ context: { ...cdkJsonContext(), ...overrides } }))).toThrow(
      message,
    );
  });

  describe('the app entry point the CLI runs (infra/app.ts)', () => {
    const runApp = async (context: Record<string, unknown>) => {
      const outdir = await mkdtemp(join(tmpdir(), 'saga-tracker-app-'));
      try {
        const result = await promisify(execFile)(
          process.execPath,
          [require.resolve('tsx/cli'), join(PROJECT_ROOT, 'infra', 'app.ts')],
          // How the CLI hands context and output folder to the app.
          { env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir } },
        ).then(
          ({ stderr }) => ({ code: 0, stderr }),
          (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
        );
        return { ...result, files: await readdir(outdir) };
      } finally {
        await rm(outdir, { recursive: true, force: true });
      }
    };

    it('writes the template for the defaults', async () => {
      const result = await runApp({ ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] });

      expect(result.code).toBe(0);
      expect(result.files).toContain('SagaTracker-dev.template.json');
    });

    it('prints only the message naming the bad key, and exits 1', async () => {
      const result = await runApp({
        ...cdkJsonContext(),
        environment: 'prod',
        'aws:cdk:bundling-stacks': [],
      });

      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toMatch(
        /^invalid CDK context for environment 'prod': msk\.clusterArn: required/,
      );
      expect(result.stderr).not.toContain('    at ');
      expect(result.files).not.toContain('SagaTracker-prod.template.json');
    });
  });
});
