import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PLACEHOLDER_MSK_CLUSTER_ARN } from './config';
import { PENDING_DEAD_LETTERS_METRIC } from './observability';
import { PROD_OVERRIDES, REAL_CLUSTER_ARN, type Synthesized, synthesize } from './testing';

type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

function resources(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

function propertiesOf(resource: Resource | undefined): Record<string, unknown> {
  if (!resource?.Properties) throw new Error('resource without properties');
  return resource.Properties;
}

function environmentOf(template: Template, name: string): Record<string, unknown> {
  const fn = resources(template, 'AWS::Lambda::Function')[functionId(template, name)];
  return (propertiesOf(fn).Environment as { Variables: Record<string, unknown> }).Variables;
}

function logicalIdOf(template: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching, found ${ids.length}`);
  return ids[0] as string;
}

function idStartingWith(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(resources(template, type)).filter(
    (id) => id.startsWith(prefix) && !id.slice(prefix.length).match(/^(Key|Policy|Notifications)/),
  );
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}…, found ${ids.join(', ') || 'none'}`);
  return ids[0] as string;
}

/** The logical id of a function by its construct id (Consume, Api, …). */
function functionId(template: Template, name: string): string {
  const ids = Object.keys(resources(template, 'AWS::Lambda::Function')).filter((id) =>
    id.startsWith(`${name}Function`),
  );
  if (ids.length !== 1) throw new Error(`no single function ${name}`);
  return ids[0] as string;
}

/** Every statement of the IAM policies attached to a function's role. */
function roleStatements(template: Template, name: string): Statement[] {
  const roleId = Object.keys(resources(template, 'AWS::IAM::Role')).find((id) =>
    id.startsWith(`${name}Role`),
  );
  return Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => (propertiesOf(policy).PolicyDocument as { Statement: Statement[] }).Statement);
}

function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((statement) => [statement.Action].flat()).sort();
}

function allIamStatements(template: Template): Array<{ id: string; statement: Statement }> {
  const documents: Array<{ id: string; document: unknown }> = [];
  for (const [id, policy] of Object.entries(resources(template, 'AWS::IAM::Policy'))) {
    documents.push({ id, document: policy.Properties?.PolicyDocument });
  }
  for (const [id, policy] of Object.entries(resources(template, 'AWS::IAM::ManagedPolicy'))) {
    documents.push({ id, document: policy.Properties?.PolicyDocument });
  }
  for (const [id, role] of Object.entries(resources(template, 'AWS::IAM::Role'))) {
    for (const inline of (role.Properties?.Policies as Array<{ PolicyDocument: unknown }>) ?? []) {
      documents.push({ id, document: inline.PolicyDocument });
    }
  }
  return documents.flatMap(({ id, document }) =>
    (document as { Statement: Statement[] }).Statement.map((statement) => ({ id, statement })),
  );
}

describe('SagaTrackerStack with the defaults of cdk.json (dev)', () => {
  let dev: Synthesized;
  let template: Template;
  beforeAll(() => {
    dev = synthesize();
    template = dev.template;
  });

  it('synthesizes offline: no context lookups, no cdk-nag finding left unacknowledged', () => {
    const assembly = dev.app.synth();
    const report = new AwsSolutionsChecks().validateScope(dev.app);

    expect(assembly.manifest.missing ?? []).toEqual([]);
    expect(dev.warnings).toEqual([expect.stringContaining('msk.clusterArn is the placeholder of cdk.json')]);
    expect(report.violations.map((violation) => `${violation.ruleName} ${violation.severity}`)).toEqual([]);
    expect(dev.stack.stackName).toBe('SagaTracker-dev');
    expect(dev.stack.resolve(dev.stack.account)).toEqual({ Ref: 'AWS::AccountId' });
  });

  it('has no dependency cycle that CloudFormation would reject', () => {
    const all = template.toJSON().Resources as Record<string, Resource>;
    const referenced = (value: unknown, found: Set<string>): Set<string> => {
      if (Array.isArray(value)) for (const item of value) referenced(item, found);
      else if (value && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'Ref' && typeof inner === 'string' && inner in all) found.add(inner);
          else if (key === 'Fn::GetAtt' && Array.isArray(inner) && inner[0] in all) found.add(inner[0]);
          else referenced(inner, found);
        }
      }
      return found;
    };
    const edges = new Map(
      Object.entries(all).map(([id, resource]) => [
        id,
        [...referenced(resource.Properties, new Set(resource.DependsOn ?? []))],
      ]),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (id: string, path: string[]) => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(id)), id].join(' -> '));
        return;
      }
      state.set(id, 'visiting');
      for (const next of edges.get(id) ?? []) visit(next, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of edges.keys()) visit(id, []);

    expect(cycles).toEqual([]);
  });

  it('subscribes the consumer to the topic with bounded retries, bisection and the S3 on-failure bucket', () => {
    const deadLetterBucket = logicalIdOf(template, 'AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ Id: 'ExpireDeadLetters' })] },
    });
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: PLACEHOLDER_MSK_CLUSTER_ARN,
      FunctionName: { Ref: functionId(template, 'Consume') },
      Topics: ['c4ang.saga.tracker'],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'saga-tracker-service' },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 1,
      MaximumRetryAttempts: 20,
      MaximumRecordAgeInSeconds: 21_600,
      BisectBatchOnFunctionError: true,
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 3 },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [deadLetterBucket, 'Arn'] } } },
    });
  });

  it('starts the consumer only after the deploy-time migration, which runs after the database', () => {
    const [mapping] = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'));
    const trigger = template.findResources('Custom::Trigger');
    const [triggerId] = Object.keys(trigger);
    const migrate = functionId(template, 'Migrate');

    expect(mapping?.DependsOn).toContain(triggerId);
    template.hasResource('Custom::Trigger', {
      Properties: {
        HandlerArn: { Ref: Match.stringLikeRegexp(`^${migrate.replace(/[0-9A-F]{8}$/, '')}CurrentVersion`) },
        InvocationType: 'RequestResponse',
        ExecuteOnHandlerChange: true,
      },
      DependsOn: Match.arrayWith([
        logicalIdOf(template, 'AWS::RDS::DBInstance', {}),
        logicalIdOf(template, 'AWS::RDS::DBProxy', {}),
      ]),
    });
    for (const type of ['AWS::Scheduler::Schedule', 'AWS::ApiGatewayV2::Route']) {
      for (const resource of Object.values(resources(template, type))) {
        expect(resource.DependsOn).toContain(triggerId);
      }
    }
  });

  it('grants MSK IAM access on exactly the cluster, the topic and the consumer group', () => {
    const statements = roleStatements(template, 'Consume');
    const cluster = PLACEHOLDER_MSK_CLUSTER_ARN;
    const base = 'arn:aws:kafka:eu-west-1:000000000000';
    const uuid = '00000000-0000-0000-0000-000000000000-1';

    const actionsOn = (resource: string) =>
      actionsOf(statements.filter((statement) => statement.Resource === resource));
    expect(actionsOn(cluster)).toEqual(
      expect.arrayContaining([
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeClusterDynamicConfiguration',
        'kafka:DescribeClusterV2',
        'kafka:GetBootstrapBrokers',
      ]),
    );
    expect(actionsOn(`${base}:topic/placeholder/${uuid}/c4ang.saga.tracker`)).toEqual([
      'kafka-cluster:DescribeTopic',
      'kafka-cluster:ReadData',
    ]);
    expect(actionsOn(`${base}:group/placeholder/${uuid}/saga-tracker-service`)).toEqual([
      'kafka-cluster:AlterGroup',
      'kafka-cluster:DescribeGroup',
    ]);
    const kafkaStatements = statements.filter((statement) => /^kafka/.test(actionsOf([statement])[0] ?? ''));
    for (const statement of kafkaStatements) expect(JSON.stringify(statement.Resource)).not.toContain('*');
  });

  it('attaches no AWS managed policy to the service roles (AWSLambdaMSKExecutionRole included)', () => {
    for (const [id, role] of Object.entries(resources(template, 'AWS::IAM::Role'))) {
      const managed = JSON.stringify(role.Properties?.ManagedPolicyArns ?? []);
      // CDK's own custom-resource providers (trigger, default security group) keep their basic execution role.
      if (id.startsWith('AWSCDK') || id.startsWith('Custom')) continue;
      expect({ id, managed }).toEqual({ id, managed: '[]' });
    }
  });

  it('lets the consumer only write failed batches to the dead-letter bucket', () => {
    const statements = roleStatements(template, 'Consume');
    const s3Actions = actionsOf(statements).filter((action) => action.startsWith('s3:'));
    const kmsActions = actionsOf(statements).filter((action) => action.startsWith('kms:'));

    expect(s3Actions).toEqual(['s3:ListBucket', 's3:PutObject']);
    expect(kmsActions).toEqual(['kms:GenerateDataKey']);
  });

  it('gives the API read-only access to the archive bucket and its key, and what a replay needs', () => {
    const archiveBucket = idStartingWith(template, 'AWS::S3::Bucket', 'StorageArchive');
    const archiveKey = idStartingWith(template, 'AWS::KMS::Key', 'StorageArchiveKey');
    const env = environmentOf(template, 'Api');
    expect(env).toEqual(
      expect.objectContaining({
        ARCHIVE_BUCKET: { Ref: archiveBucket },
        SCHEMA_REGISTRY_STATIC_SCHEMAS: '{"1":"SagaTracker.avsc"}',
        MAX_CLOCK_SKEW_SECONDS: '86400',
      }),
    );
    // Real S3 in AWS: no endpoint override.
    expect(env).not.toHaveProperty('S3_ENDPOINT');
    // A replay judges events exactly as the consumer and the redrive function do.
    for (const name of ['Consume', 'DlqRedrive']) {
      const other = environmentOf(template, name);
      expect({
        name,
        skew: other.MAX_CLOCK_SKEW_SECONDS,
        schemas: other.SCHEMA_REGISTRY_STATIC_SCHEMAS,
      }).toEqual({
        name,
        skew: env.MAX_CLOCK_SKEW_SECONDS,
        schemas: env.SCHEMA_REGISTRY_STATIC_SCHEMAS,
      });
    }

    const statements = roleStatements(template, 'Api');
    expect(actionsOf(statements)).toEqual([
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
      'kms:Decrypt',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'rds-db:connect',
      's3:GetObject',
      's3:ListBucket',
    ]);
    const resourceOf = (action: string) =>
      statements.find((statement) => [statement.Action].flat().includes(action))?.Resource;
    expect(resourceOf('s3:GetObject')).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [archiveBucket, 'Arn'] }, '/*']],
    });
    expect(resourceOf('s3:ListBucket')).toEqual({ 'Fn::GetAtt': [archiveBucket, 'Arn'] });
    expect(resourceOf('kms:Decrypt')).toEqual({ 'Fn::GetAtt': [archiveKey, 'Arn'] });
  });

  it('lets the API reach S3 from its private subnets through the gateway endpoint', () => {
    const fn = propertiesOf(resources(template, 'AWS::Lambda::Function')[functionId(template, 'Api')]);
    const { SubnetIds: subnets, SecurityGroupIds: groups } = fn.VpcConfig as {
      SubnetIds: Array<{ Ref: string }>;
      SecurityGroupIds: Array<{ 'Fn::GetAtt': [string, string] }>;
    };
    expect(subnets.length).toBeGreaterThanOrEqual(2);
    const group = propertiesOf(
      resources(template, 'AWS::EC2::SecurityGroup')[groups[0]?.['Fn::GetAtt'][0] ?? ''],
    );
    expect(group.SecurityGroupEgress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443 }),
      ]),
    );
    const routeTables = Object.values(resources(template, 'AWS::EC2::SubnetRouteTableAssociation'))
      .map((association) => propertiesOf(association))
      .filter((association) =>
        subnets.some((subnet) => JSON.stringify(subnet) === JSON.stringify(association.SubnetId)),
      )
      .map((association) => association.RouteTableId);
    expect(routeTables).toHaveLength(subnets.length);
    const s3Endpoint = Object.values(resources(template, 'AWS::EC2::VPCEndpoint'))
      .map((endpoint) => propertiesOf(endpoint))
      .find((endpoint) => JSON.stringify(endpoint.ServiceName).includes('.s3'));
    expect(s3Endpoint).toEqual(
      expect.objectContaining({
        VpcEndpointType: 'Gateway',
        RouteTableIds: expect.arrayContaining(routeTables),
      }),
    );
  });

  it('puts the API behind IAM authorization with throttling and JSON access logs', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /{proxy+}',
      AuthorizationType: 'AWS_IAM',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [functionId(template, 'Api'), 'Arn'] },
    });
    const [stage] = Object.values(resources(template, 'AWS::ApiGatewayV2::Stage'));
    expect(stage?.Properties).toEqual(
      expect.objectContaining({
        StageName: '$default',
        DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      }),
    );
    const format = JSON.parse((propertiesOf(stage).AccessLogSettings as { Format: string }).Format);
    expect(format).toEqual(
      expect.objectContaining({
        requestId: '$context.requestId',
        status: '$context.status',
        callerArn: '$context.identity.userArn',
        routeKey: '$context.routeKey',
      }),
    );
  });

  it('runs the archiver daily and the state gauges every minute on EventBridge Scheduler', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(15 3 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [functionId(template, 'Archive'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [functionId(template, 'StateGauges'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      }),
    });
  });

  it('protects both data buckets: own KMS key, versioning, no public access, TLS only, access logs', () => {
    const dataBuckets = Object.entries(resources(template, 'AWS::S3::Bucket')).filter(([, bucket]) =>
      JSON.stringify(bucket.Properties?.BucketEncryption).includes('aws:kms'),
    );
    expect(dataBuckets).toHaveLength(2);
    for (const [id, bucket] of dataBuckets) {
      expect(bucket.Properties).toEqual(
        expect.objectContaining({
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              {
                BucketKeyEnabled: true,
                ServerSideEncryptionByDefault: {
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: { 'Fn::GetAtt': [expect.stringMatching(/Key/), 'Arn'] },
                },
              },
            ],
          },
          VersioningConfiguration: { Status: 'Enabled' },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          LoggingConfiguration: expect.objectContaining({ DestinationBucketName: expect.anything() }),
        }),
      );
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
      template.hasResource('AWS::S3::Bucket', { Properties: Match.anyValue(), DeletionPolicy: 'Retain' });
    }
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('moves archives to Glacier Instant Retrieval and expires them after two years, dead letters after one', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Id: 'ColdStorage',
            Status: 'Enabled',
            Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
            ExpirationInDays: 730,
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Id: 'ExpireDeadLetters', ExpirationInDays: 365 })],
      },
    });
    template.hasResourceProperties('AWS::S3::Bucket', { ObjectLockEnabled: Match.absent() });
  });

  it('runs PostgreSQL 15 encrypted with backups and IAM auth, behind an end-to-end IAM proxy', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: '15',
      StorageEncrypted: true,
      BackupRetentionPeriod: 7,
      MultiAZ: false,
      DeletionProtection: false,
      EnableIAMDatabaseAuthentication: true,
      PubliclyAccessible: false,
      DBName: 'saga_tracker',
    });
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres15',
      Parameters: Match.objectLike({ 'rds.force_ssl': '1' }),
    });
    template.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      DefaultAuthScheme: 'IAM_AUTH',
    });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    const instance = logicalIdOf(template, 'AWS::RDS::DBInstance', {});
    const proxyRole = Object.keys(resources(template, 'AWS::IAM::Role')).find((id) =>
      id.startsWith('DatabaseProxyRole'),
    );
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: proxyRole }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'rds-db:connect',
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([{ 'Fn::GetAtt': [instance, 'DbiResourceId'] }, '/saga_tracker_app']),
              ],
            },
          },
        ],
      },
    });
  });

  it('gives every function Node.js 22 on arm64, source maps, its own log group and the Powertools settings', () => {
    const names = ['Consume', 'Api', 'Archive', 'DlqRedrive', 'StateGauges', 'Migrate'];
    for (const name of names) {
      const fn = resources(template, 'AWS::Lambda::Function')[functionId(template, name)];
      const variables = environmentOf(template, name);
      expect(fn?.Properties).toEqual(
        expect.objectContaining({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          LoggingConfig: { LogGroup: { Ref: expect.stringMatching(new RegExp(`^${name}Logs`)) } },
          VpcConfig: expect.objectContaining({ SubnetIds: expect.any(Array) }),
        }),
      );
      expect(variables).toEqual(
        expect.objectContaining({
          NODE_OPTIONS: '--enable-source-maps',
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
          POWERTOOLS_SERVICE_NAME: expect.stringMatching(/^saga-tracker-/),
          POWERTOOLS_METRICS_NAMESPACE: 'SagaTracker',
          POWERTOOLS_LOG_LEVEL: 'DEBUG',
        }),
      );
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    }
  });

  it('hands each function the environment contract it reads', () => {
    const env = (name: string) => environmentOf(template, name);
    const proxyEndpoint = { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::RDS::DBProxy', {}), 'Endpoint'] };
    for (const name of ['Consume', 'Api', 'Archive', 'DlqRedrive', 'StateGauges']) {
      expect(env(name)).toEqual(
        expect.objectContaining({
          DB_HOST: proxyEndpoint,
          DB_PORT: '5432',
          DB_NAME: 'saga_tracker',
          DB_USER: 'saga_tracker_app',
          DB_AUTH: 'iam',
        }),
      );
      expect(Object.keys(env(name)).filter((key) => key.startsWith('PROMETHEUS_'))).toEqual([]);
    }
    expect(env('Consume')).toEqual(
      expect.objectContaining({ SCHEMA_REGISTRY_STATIC_SCHEMAS: '{"1":"SagaTracker.avsc"}' }),
    );
    expect(env('Archive')).toEqual(
      expect.objectContaining({ ARCHIVE_BUCKET: expect.anything(), RETENTION_DAYS: '90' }),
    );
    expect(env('Api')).toEqual(expect.objectContaining({ ARCHIVE_BUCKET: expect.anything() }));
    expect(env('DlqRedrive')).toEqual(expect.objectContaining({ DLQ_BUCKET: expect.anything() }));
    expect(env('StateGauges')).toEqual(
      expect.objectContaining({ CONSUME_FUNCTION_NAME: { Ref: functionId(template, 'Consume') } }),
    );
    expect(env('StateGauges')).not.toHaveProperty('CONSUME_EVENT_SOURCE_MAPPING_UUID');
    expect(env('Migrate')).toEqual(
      expect.objectContaining({
        DB_HOST: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::RDS::DBInstance', {}), 'Endpoint.Address'] },
        DB_USER: 'saga_admin',
        DB_AUTH: 'secret',
        DB_SECRET_ARN: expect.anything(),
        APP_DB_USER: 'saga_tracker_app',
        APP_DB_IAM: 'true',
        MIGRATIONS_DIR: '/var/task/migrations',
      }),
    );
  });

  it('uses no wildcard action in any IAM policy, and no "*" resource on data', () => {
    const statements = allIamStatements(template);
    expect(statements.length).toBeGreaterThan(30);
    for (const { id, statement } of statements) {
      for (const action of [statement.Action].flat()) {
        expect({ id, action }).toEqual({ id, action: expect.not.stringContaining('*') });
      }
      const onData = [statement.Action]
        .flat()
        .some((action) => /^(s3|kms|secretsmanager|rds-db|kafka-cluster|aps):/.test(action));
      if (onData) expect({ id, resource: statement.Resource }).not.toEqual({ id, resource: '*' });
    }
  });

  it('gives the redrive function no trigger and exactly its bucket, key and database access', () => {
    const redrive = functionId(template, 'DlqRedrive');
    const permissions = Object.values(resources(template, 'AWS::Lambda::Permission')).filter((permission) =>
      JSON.stringify(permission.Properties?.FunctionName).includes(redrive),
    );
    const schedules = Object.values(resources(template, 'AWS::Scheduler::Schedule')).filter((schedule) =>
      JSON.stringify(schedule.Properties?.Target).includes(redrive),
    );
    const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping')).filter((mapping) =>
      JSON.stringify(mapping.Properties?.FunctionName).includes(redrive),
    );
    expect([permissions, schedules, mappings]).toEqual([[], [], []]);

    const statements = roleStatements(template, 'DlqRedrive');
    expect(actionsOf(statements)).toEqual([
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'rds-db:connect',
      's3:DeleteObject',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    const objectResource = (action: string) =>
      JSON.stringify(statements.find((statement) => [statement.Action].flat().includes(action))?.Resource);
    expect(objectResource('s3:PutObject')).toContain('/redriven/*');
    expect(objectResource('s3:DeleteObject')).toContain('/aws/lambda/*');
  });

  it("alarms on consumer lag, dead letters waiting, and every function's errors and throttles", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'OffsetLag',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, 'Consume') } }],
      Statistic: 'Maximum',
      Threshold: 1000,
      EvaluationPeriods: 10,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmsTopic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'SagaTracker',
      MetricName: PENDING_DEAD_LETTERS_METRIC,
      Dimensions: [{ Name: 'service', Value: 'saga-tracker-state-gauges' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    for (const name of ['Consume', 'Api', 'Archive', 'DlqRedrive', 'StateGauges']) {
      for (const metric of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, name) } }],
        });
      }
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('places the functions in private subnets reached through VPC endpoints, with flow logs', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC' });
    const services = Object.values(resources(template, 'AWS::EC2::VPCEndpoint')).map((endpoint) =>
      JSON.stringify(endpoint.Properties?.ServiceName),
    );
    for (const service of ['.s3', '.secretsmanager', '.logs', '.monitoring']) {
      expect(services.some((name) => name.includes(service))).toBe(true);
    }
    expect(services.some((name) => name.includes('.sts') || name.includes('.lambda'))).toBe(false);
  });
});

describe('SagaTrackerStack in other configurations', () => {
  it('deploys prod multi-AZ with deletion protection, object lock, AMP remote write and the registry port open', () => {
    const { template, stack, warnings } = synthesize(PROD_OVERRIDES, ['saga-tracker:no-egress']);

    expect(warnings).toEqual([expect.stringContaining('no NAT gateway: a schema registry')]);
    expect(stack.stackName).toBe('SagaTracker-prod');
    expect(stack.terminationProtection).toBe(true);
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      MultiAZ: true,
      DeletionProtection: true,
      BackupRetentionPeriod: 14,
      EnablePerformanceInsights: true,
    });
    template.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Snapshot' });
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
      },
    });
    const workspace = logicalIdOf(template, 'AWS::APS::Workspace', { Alias: 'saga-tracker-prod' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PROMETHEUS_REMOTE_WRITE_URL: {
            'Fn::Join': ['', [{ 'Fn::GetAtt': [workspace, 'PrometheusEndpoint'] }, 'api/v1/remote_write']],
          },
          PROMETHEUS_REMOTE_WRITE_AUTH: 'sigv4',
          PROMETHEUS_REMOTE_WRITE_REGION: { Ref: 'AWS::Region' },
          PROMETHEUS_REMOTE_WRITE_LABELS: 'environment=prod',
          SCHEMA_REGISTRY_URL: 'https://schema-registry.platform.internal:8081',
          SCHEMA_REGISTRY_SECRET_ARN: PROD_OVERRIDES['schemaRegistry.secretArn'],
        }),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: 'aps:RemoteWrite', Resource: { 'Fn::GetAtt': [workspace, 'Arn'] } },
        ]),
      },
    });
    for (const name of ['consume', 'api', 'dlq-redrive']) {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: `Saga tracker ${name} function`,
        SecurityGroupEgress: Match.arrayWith([Match.objectLike({ FromPort: 8081, ToPort: 8081 })]),
      });
    }
    // The replay API reaches the registry as the consumer does: its URL, its secret.
    const registrySecretRead = {
      Action: 'secretsmanager:GetSecretValue',
      Resource: PROD_OVERRIDES['schemaRegistry.secretArn'],
    };
    for (const name of ['Consume', 'Api', 'DlqRedrive']) {
      expect(roleStatements(template, name)).toEqual(
        expect.arrayContaining([expect.objectContaining(registrySecretRead)]),
      );
      expect(environmentOf(template, name)).toEqual(
        expect.objectContaining({
          SCHEMA_REGISTRY_URL: PROD_OVERRIDES['schemaRegistry.url'],
          SCHEMA_REGISTRY_SECRET_ARN: PROD_OVERRIDES['schemaRegistry.secretArn'],
        }),
      );
    }
    const services = JSON.stringify(template.findResources('AWS::EC2::VPCEndpoint'));
    expect(services).toContain('.aps-workspaces');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: REAL_CLUSTER_ARN });
  });

  it('drops the error-handling controls and adds the STS and Lambda endpoints for on-demand pollers', () => {
    const { template } = synthesize({ 'msk.pollers': '{"mode":"on-demand"}' });

    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ProvisionedPollerConfig: Match.absent(),
      MaximumRetryAttempts: Match.absent(),
      MaximumRecordAgeInSeconds: Match.absent(),
      BisectBatchOnFunctionError: Match.absent(),
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    const services = JSON.stringify(template.findResources('AWS::EC2::VPCEndpoint'));
    expect(services).toContain('.sts');
    expect(services).toContain('.lambda');
  });

  it('imports an existing VPC by ids without lookups, pinned to an account and region', () => {
    const { app, template } = synthesize({
      account: '123456789012',
      region: 'eu-west-1',
      'msk.clusterArn': REAL_CLUSTER_ARN,
      vpc: JSON.stringify({
        mode: 'import',
        vpcId: 'vpc-0abc12345678def00',
        vpcCidrBlock: '10.20.0.0/16',
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        privateSubnetIds: ['subnet-0abc12345678def01', 'subnet-0abc12345678def02'],
        privateSubnetRouteTableIds: ['rtb-0abc12345678def01', 'rtb-0abc12345678def02'],
      }),
      endpoints: '["s3","secretsmanager"]',
    });

    expect(app.synth().manifest.missing ?? []).toEqual([]);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: ['subnet-0abc12345678def01', 'subnet-0abc12345678def02'],
        SecurityGroupIds: Match.anyValue(),
      },
    });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      VpcId: 'vpc-0abc12345678def00',
      RouteTableIds: ['rtb-0abc12345678def01', 'rtb-0abc12345678def02'],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Saga tracker VPC interface endpoints',
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 443 })],
    });
  });

  it('writes to an external remote-write endpoint with its bearer token from Secrets Manager', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mimir-token-AbCdEf';
    const { template, warnings } = synthesize(
      {
        prometheus: JSON.stringify({
          mode: 'external',
          url: 'https://mimir.example.com/api/v1/push',
          auth: 'bearer',
          secretArn,
        }),
      },
      ['saga-tracker:no-egress'],
    );

    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('no NAT gateway: a schema registry or remote-write URL'),
      ]),
    );

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PROMETHEUS_REMOTE_WRITE_URL: 'https://mimir.example.com/api/v1/push',
          PROMETHEUS_REMOTE_WRITE_AUTH: 'bearer',
          PROMETHEUS_REMOTE_WRITE_SECRET_ARN: secretArn,
          PROMETHEUS_REMOTE_WRITE_LABELS: 'environment=dev',
        }),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn },
        ]),
      },
    });
    template.resourceCountIs('AWS::APS::Workspace', 0);
  });
});
