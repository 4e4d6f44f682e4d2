import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionSizing, SagaTrackerConfig } from './config';

export const PROJECT_ROOT = join(__dirname, '..');

/** The functions the stack deploys: `functions/<name>/index.ts` exporting `handler`. */
export const FUNCTION_NAMES = [
  'consume',
  'api',
  'archive',
  'dlq-redrive',
  'state-gauges',
  'migrate',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Powertools service name (and the `service` metric dimension) of each function. */
export function serviceName(name: FunctionName): string {
  return `saga-tracker-${name}`;
}

export const METRICS_NAMESPACE = 'SagaTracker';

/** Where Lambda unpacks the bundle; the migrations are copied to `migrations/` beside index.js. */
export const LAMBDA_TASK_ROOT = '/var/task';
export const BUNDLED_MIGRATIONS_DIR = `${LAMBDA_TASK_ROOT}/migrations`;

/**
 * esbuild settings of every function bundle (the bundle-size check builds with
 * exactly these). Everything is bundled, the AWS SDK included: the versions
 * tested are the versions deployed. CommonJS output keeps `__dirname` the
 * folder of index.js, which is where the schemas and migrations are copied.
 */
export function bundlingOptions(name: FunctionName): nodejs.BundlingOptions {
  return {
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    target: 'node22',
    format: nodejs.OutputFormat.CJS,
    externalModules: [],
    logLevel: nodejs.LogLevel.ERROR,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir, outputDir) => [
        // schemas/index.ts reads bundled Avro schemas from __dirname.
        `cp "${inputDir}/schemas/"*.avsc "${outputDir}/"`,
        ...(name === 'migrate'
          ? [
              `mkdir -p "${outputDir}/migrations"`,
              `cp "${inputDir}/migrations/"*.sql "${outputDir}/migrations/"`,
            ]
          : []),
      ],
    },
  };
}

/**
 * The functions' execution role. It drops the broad AWS managed policy that
 * ManagedKafkaEventSource attaches (AWSLambdaMSKExecutionRole: kafka, ec2 and
 * logs actions on "*"); the ingest construct grants the same needs scoped to
 * the cluster instead.
 */
export class FunctionRole extends iam.Role {
  override addManagedPolicy(policy: iam.IManagedPolicy): void {
    if (policy.managedPolicyArn.endsWith(':iam::aws:policy/service-role/AWSLambdaMSKExecutionRole')) return;
    super.addManagedPolicy(policy);
  }
}

export interface ServiceFunctionProps {
  readonly name: FunctionName;
  readonly description: string;
  readonly sizing: FunctionSizing;
  readonly config: SagaTrackerConfig;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * One Lambda function of the service: NodejsFunction (Node.js 22, arm64,
 * minified with source maps), in the private subnets with a security group of
 * its own (egress opened explicitly), its own log group with retention, the
 * Powertools environment, and a role that starts with nothing but its logs
 * and network interfaces.
 */
export class ServiceFunction extends Construct implements iam.IGrantable {
  readonly fn: nodejs.NodejsFunction;
  readonly grantPrincipal: iam.IPrincipal;
  readonly role: FunctionRole;
  readonly logGroup: logs.LogGroup;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const { config } = props;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logs.retentionDays as logs.RetentionDays,
    });
    this.role = new FunctionRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the saga tracker's ${props.name} function`,
    });
    this.grantPrincipal = this.role;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'OwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'VpcNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda manages the hyperplane ENIs of a VPC function through EC2 actions that take no resource-level scope (the statement of AWSLambdaVPCAccessExecutionRole, without its logs actions on "*")',
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Saga tracker ${props.name} function`,
      allowAllOutbound: false,
    });
    // AWS APIs through the VPC endpoints (or NAT), HTTPS registries and remote-write endpoints.
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to AWS APIs and HTTPS services',
    );

    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      description: props.description,
      entry: join(PROJECT_ROOT, 'functions', props.name, 'index.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.sizing.memoryMiB,
      timeout: Duration.seconds(props.sizing.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      bundling: bundlingOptions(props.name),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        // Node.js 20+ runtimes no longer load the Amazon RDS CAs unless asked to.
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        POWERTOOLS_SERVICE_NAME: serviceName(props.name),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: config.logs.level,
        ...props.environment,
      },
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the project targets and tests against (DEVELOPERS.md); a newer runtime is adopted deliberately, with the code checked on it',
    });
    // The role's policy must exist before Lambda checks the ENI permissions at create time.
    this.fn.node.addDependency(this.role);
  }

  addEnvironment(name: string, value: string): void {
    this.fn.addEnvironment(name, value);
  }

  /** Opens egress to `url`'s port when it is not HTTPS on 443 (e.g. a registry on :8081). */
  allowEgressToUrl(url: string, description: string): void {
    const parsed = new URL(url);
    const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
    if (port !== 443) this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), description);
  }
}
