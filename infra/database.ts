import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import type { SagaTrackerConfig } from './config';
import type { ServiceFunction } from './service-function';

const POSTGRES_PORT = 5432;

export interface DatabaseProps {
  readonly config: SagaTrackerConfig;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
}

/**
 * RDS PostgreSQL 15 behind RDS Proxy with end-to-end IAM authentication:
 *
 * - The functions connect to the proxy as the application role with an IAM
 *   token (`rds-db:connect` on the proxy's db user); the proxy connects to
 *   the instance as the same role with IAM too (its own role holds
 *   `rds-db:connect` on the instance's db user). No application password
 *   exists anywhere.
 * - The generated secret belongs to the administrator (schema owner). Only
 *   the deploy-time migration reads it, connecting straight to the instance;
 *   it creates the application role with `GRANT rds_iam`.
 */
export class Database extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly proxy: rds.DatabaseProxy;
  readonly adminSecret: rds.DatabaseSecret;
  readonly databaseName: string;
  readonly appUser: string;
  readonly adminUser: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { config } = props;
    const db = config.database;
    this.databaseName = db.databaseName;
    this.appUser = db.appUser;
    this.adminUser = db.adminUser;
    // A fixed identifier: the log group can exist (with retention) before the
    // instance, and a change that needs a replacement fails instead of silently
    // replacing the database.
    const instanceIdentifier = `saga-tracker-${config.environment}`;

    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'Saga tracker PostgreSQL 15',
      parameters: {
        'rds.force_ssl': '1',
        log_min_duration_statement: '1000',
        log_lock_waits: '1',
        shared_preload_libraries: 'pg_stat_statements',
      },
    });
    const logGroup = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
      retention: config.logs.retentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.adminSecret = new rds.DatabaseSecret(this, 'AdminSecret', { username: db.adminUser });
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      instanceIdentifier,
      engine,
      instanceType: new ec2.InstanceType(db.instanceType),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      port: POSTGRES_PORT,
      credentials: rds.Credentials.fromSecret(this.adminSecret),
      databaseName: db.databaseName,
      parameterGroup,
      storageType: rds.StorageType.GP3,
      allocatedStorage: db.allocatedStorageGiB,
      maxAllocatedStorage: db.maxAllocatedStorageGiB,
      storageEncrypted: true,
      multiAz: db.multiAz,
      deletionProtection: db.deletionProtection,
      backupRetention: Duration.days(db.backupRetentionDays),
      deleteAutomatedBackups: false,
      copyTagsToSnapshot: true,
      removalPolicy: db.removalPolicy === 'snapshot' ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      iamAuthentication: true,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      cloudwatchLogsExports: ['postgresql'],
      enablePerformanceInsights: db.performanceInsights,
    });
    this.instance.node.addDependency(logGroup);
    this.instance.addRotationSingleUser({
      automaticallyAfter: Duration.days(db.secretRotationDays),
      vpcSubnets: props.subnets,
      // A rotation racing the deploy-time migration could hand it a password being replaced.
      rotateImmediatelyOnUpdate: false,
    });

    const proxyRole = new iam.Role(this, 'ProxyRole', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: 'RDS Proxy of the saga tracker: IAM login to the instance as the application role',
    });
    this.instance.grantConnect(proxyRole, db.appUser);
    this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
      proxyTarget: rds.ProxyTarget.fromInstance(this.instance),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      role: proxyRole,
      // End-to-end IAM: clients and the proxy itself log in with IAM tokens, no secrets registered.
      defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH,
      requireTLS: true,
      maxConnectionsPercent: db.proxyMaxConnectionsPercent,
      idleClientTimeout: Duration.minutes(30),
      debugLogging: false,
    });

    if (!db.multiAz) {
      Validations.of(this.instance).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: `Environment '${config.environment}' runs a single-AZ instance by configuration (database.multiAz); prod sets it`,
      });
    }
    if (!db.deletionProtection) {
      Validations.of(this.instance).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: `Environment '${config.environment}' allows deleting the instance by configuration (database.deletionProtection); prod sets it`,
      });
    }
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'The instance is reachable only from the proxy and the migration security groups in private subnets; a non-standard port adds no protection and breaks tooling defaults',
    });
  }

  /** Environment of a function that connects through the proxy with IAM. */
  appEnvironment(): Record<string, string> {
    return {
      DB_HOST: this.proxy.endpoint,
      DB_PORT: String(POSTGRES_PORT),
      DB_NAME: this.databaseName,
      DB_USER: this.appUser,
      DB_AUTH: 'iam',
    };
  }

  /** Lets a function reach the proxy and log in as the application role. */
  grantAppAccess(fn: ServiceFunction): void {
    this.proxy.grantConnect(fn.role, this.appUser);
    fn.securityGroup.connections.allowTo(
      this.proxy,
      ec2.Port.tcp(POSTGRES_PORT),
      'PostgreSQL through RDS Proxy',
    );
  }

  /** Lets the migration reach the instance directly and read the administrator's secret. */
  grantAdminAccess(fn: ServiceFunction): Record<string, string> {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.adminSecret.secretArn],
      }),
    );
    fn.securityGroup.connections.allowTo(
      this.instance,
      ec2.Port.tcp(POSTGRES_PORT),
      'PostgreSQL, migrations',
    );
    return {
      DB_HOST: this.instance.dbInstanceEndpointAddress,
      DB_PORT: String(POSTGRES_PORT),
      DB_NAME: this.databaseName,
      DB_USER: this.adminUser,
      DB_AUTH: 'secret',
      DB_SECRET_ARN: this.adminSecret.secretArn,
    };
  }
}
