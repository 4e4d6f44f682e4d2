import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../lib/errors';
import { SAGA_TRACKER_TOPIC } from '../schemas';

/**
 * The CDK app's configuration: one named environment from `cdk.json`
 * (`context.environments.<name>`, chosen with `-c environment=<name>`), with
 * any `-c <key>=<value>` or `-c <key.path>=<value>` flag layered on top. It is
 * parsed once with zod; a bad or missing value fails synth naming the key.
 */

export const CONSUMER_GROUP_ID = 'saga-tracker-service';

/** The dev environment's stand-in cluster in cdk.json: synth works offline, deploying needs the real ARN. */
export const PLACEHOLDER_MSK_CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:000000000000:cluster/placeholder/00000000-0000-0000-0000-000000000000-1';
const SCHEMAS_DIR = join(__dirname, '..', 'schemas');

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case PostgreSQL identifier (a-z, 0-9, _)');
// -c values that look like numbers arrive parsed (see contextValue), so no coercion here.
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const cidr = z
  .string()
  .regex(/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-8])$/, 'expected an IPv4 CIDR from /16 to /28');
const region = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'expected an AWS region such as eu-west-1');
const scheduleExpression = z
  .string()
  .regex(
    /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/,
    'expected an EventBridge Scheduler expression: rate(N unit) or cron(min hour day month weekday year)',
  );
const timeZone = z.string().refine((name) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}, 'expected an IANA time zone such as UTC or Europe/Berlin');
const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/,
    'expected a Secrets Manager secret ARN',
  );
const httpsUrl = z.url({ protocol: /^https$/, error: 'expected an https:// URL' });

/** `arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>` of a provisioned MSK cluster. */
const MSK_CLUSTER_ARN = /^arn:(aws[a-z-]*):kafka:([a-z0-9-]+):(\d{12}):cluster\/([\w-]+)\/([\w-]+)$/;

/** The retention periods CloudWatch Logs accepts (RetentionInDays). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Endpoints the stack can create; which ones the functions and the event source mapping need is in network.ts. */
export const ENDPOINT_SERVICES = [
  's3',
  'secretsmanager',
  'logs',
  'monitoring',
  'sts',
  'lambda',
  'aps',
] as const;
export type EndpointService = (typeof ENDPOINT_SERVICES)[number];

const functionSizing = (memory: number, timeout: number, maxTimeout: number) =>
  z
    .object({
      memoryMiB: int(128, 10_240).default(memory),
      timeoutSeconds: int(1, maxTimeout).default(timeout),
    })
    .strict()
    .prefault({});

/** A partial object given with `-c key.path=…` carries no `mode`: it refines the default one. */
const withDefaultMode = <S extends z.ZodType>(mode: string, schema: S) =>
  z.preprocess(
    (value) =>
      typeof value === 'object' && value !== null && !Array.isArray(value) && !('mode' in value)
        ? { ...value, mode }
        : value,
    schema,
  );

const vpcSchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z.literal('new'),
      cidr: cidr.default('10.40.0.0/16'),
      maxAzs: int(2, 3).default(2),
      /** 0 = isolated subnets reached only through VPC endpoints. */
      natGateways: int(0, 3).default(0),
      /** Required when account/region are set: AZs are never looked up at synth. */
      availabilityZones: z
        .array(z.string().regex(/^[a-z0-9-]+[a-z]$/))
        .min(2)
        .optional(),
    })
    .strict(),
  z
    .object({
      mode: z.literal('import'),
      vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC id (vpc-…)'),
      vpcCidrBlock: cidr,
      availabilityZones: z.array(z.string().min(1)).min(2, 'at least two availability zones'),
      privateSubnetIds: z.array(
        z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'expected subnet ids (subnet-…)'),
      ),
      privateSubnetRouteTableIds: z
        .array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, 'expected route table ids (rtb-…)'))
        .optional(),
    })
    .strict(),
]);

const pollersSchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z.literal('provisioned'),
      minimum: int(1, 200).default(1),
      maximum: int(1, 2000).default(3),
    })
    .strict(),
  z.object({ mode: z.literal('on-demand') }).strict(),
]);

const mskSchema = z
  .object({
    clusterArn: z
      .string({ error: 'required: the ARN of the existing MSK cluster (-c msk.clusterArn=arn:aws:kafka:…)' })
      .regex(MSK_CLUSTER_ARN, 'expected arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>'),
    topic: z
      .string()
      .regex(/^[\w.-]{1,249}$/)
      .default(SAGA_TRACKER_TOPIC),
    consumerGroupId: z
      .string()
      .regex(/^[\w.-]{1,200}$/)
      .default(CONSUMER_GROUP_ID),
    batchSize: int(1, 10_000).default(500),
    maxBatchingWindowSeconds: int(0, 300).default(1),
    pollers: withDefaultMode('provisioned', pollersSchema).prefault({}),
    /** Kafka error-handling controls: provisioned mode only (see the refinement below). */
    retryAttempts: int(0, 10_000).optional(),
    maxRecordAgeSeconds: int(60, 604_800).optional(),
    bisectBatchOnError: z.boolean().optional(),
  })
  .strict()
  .superRefine((msk, ctx) => {
    if (msk.pollers.mode === 'provisioned' && msk.pollers.minimum > msk.pollers.maximum) {
      ctx.addIssue({
        code: 'custom',
        path: ['pollers', 'minimum'],
        message: 'must not exceed pollers.maximum',
      });
    }
    if (msk.pollers.mode === 'on-demand') {
      for (const key of ['retryAttempts', 'maxRecordAgeSeconds', 'bisectBatchOnError'] as const) {
        if (msk[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message:
              "Kafka error-handling controls need provisioned pollers: set msk.pollers.mode to 'provisioned' or drop this key",
          });
        }
      }
    }
  })
  .transform((msk) => {
    // The regex already accepted the ARN: every group is present.
    const [, partition = '', arnRegion = '', account = '', clusterName = '', clusterUuid = ''] =
      MSK_CLUSTER_ARN.exec(msk.clusterArn) ?? [];
    const provisioned = msk.pollers.mode === 'provisioned';
    return {
      ...msk,
      cluster: { partition, region: arnRegion, account, name: clusterName, uuid: clusterUuid },
      // Bounded by default in provisioned mode; on-demand mappings cannot carry these settings.
      retryAttempts: msk.retryAttempts ?? (provisioned ? 20 : undefined),
      maxRecordAgeSeconds: msk.maxRecordAgeSeconds ?? (provisioned ? 21_600 : undefined),
      bisectBatchOnError: msk.bisectBatchOnError ?? (provisioned ? true : undefined),
    };
  });

const databaseSchema = z
  .object({
    instanceType: z
      .string()
      .regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'expected an instance type such as t4g.medium')
      .default('t4g.medium'),
    allocatedStorageGiB: int(20, 65_536).default(20),
    maxAllocatedStorageGiB: int(20, 65_536).default(100),
    multiAz: z.boolean().default(false),
    deletionProtection: z.boolean().default(false),
    /** What `cdk destroy` does with the instance: keep a final snapshot, or drop it (dev only). */
    removalPolicy: z.enum(['snapshot', 'destroy']).default('snapshot'),
    backupRetentionDays: int(1, 35).default(7),
    performanceInsights: z.boolean().default(false),
    databaseName: identifier.default('saga_tracker'),
    adminUser: identifier
      .refine((name) => !['postgres', 'rdsadmin', 'admin'].includes(name), 'reserved by RDS')
      .default('saga_admin'),
    appUser: identifier.default('saga_tracker_app'),
    secretRotationDays: int(1, 365).default(30),
    proxyMaxConnectionsPercent: int(1, 100).default(90),
  })
  .strict()
  .superRefine((db, ctx) => {
    if (db.maxAllocatedStorageGiB < db.allocatedStorageGiB) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxAllocatedStorageGiB'],
        message: 'must be at least allocatedStorageGiB',
      });
    }
    if (db.appUser === db.adminUser) {
      ctx.addIssue({ code: 'custom', path: ['appUser'], message: 'must differ from adminUser' });
    }
  });

const schemaRegistrySchema = z
  .object({
    url: httpsUrl.or(z.url({ protocol: /^http$/ })).optional(),
    secretArn: secretArn.optional(),
    /** Schema id → file in schemas/, for environments without a registry. */
    staticSchemas: z.record(z.string().regex(/^\d+$/, 'schema ids are integers'), z.string()).optional(),
  })
  .strict()
  .superRefine((registry, ctx) => {
    if (!registry.url && !registry.staticSchemas) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'required unless schemaRegistry.staticSchemas is set (the consumer must decode Avro values)',
      });
    }
    if (registry.secretArn && !registry.url) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretArn'],
        message: 'only meaningful with schemaRegistry.url',
      });
    }
    for (const [id, file] of Object.entries(registry.staticSchemas ?? {})) {
      if (!/^[\w.-]+\.avsc$/.test(file) || !existsSync(join(SCHEMAS_DIR, file))) {
        ctx.addIssue({
          code: 'custom',
          path: ['staticSchemas', id],
          message: `schemas/${file} does not exist (bundled schemas are files in schemas/)`,
        });
      }
    }
  });

/** Storage classes a GetObject can read at once: the API restores archived sagas without a restore job. */
const COLD_STORAGE_CLASSES = ['STANDARD_IA', 'GLACIER_IR'] as const;

const archiveSchema = z
  .object({
    schedule: scheduleExpression.default('cron(15 3 * * ? *)'),
    timeZone: timeZone.default('UTC'),
    /** Days a saga stays in PostgreSQL after its last update (SPEC §6). */
    hotRetentionDays: int(30, 3650).default(90),
    coldStorageClass: z.enum(COLD_STORAGE_CLASSES).default('GLACIER_IR'),
    transitionAfterDays: int(0, 3650).default(30),
    /** S3 keeps archived timelines at least a year (SPEC §6). */
    expirationDays: int(365, 36_500).default(730),
    noncurrentVersionExpirationDays: int(1, 3650).default(30),
    objectLock: z
      .object({
        mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
        days: int(1, 36_500),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((archive, ctx) => {
    if (archive.transitionAfterDays >= archive.expirationDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['transitionAfterDays'],
        message: 'must be less than expirationDays',
      });
    }
    if (archive.coldStorageClass === 'STANDARD_IA' && archive.transitionAfterDays < 30) {
      ctx.addIssue({
        code: 'custom',
        path: ['transitionAfterDays'],
        message: 'S3 moves objects to STANDARD_IA only after 30 days or more',
      });
    }
    if (archive.objectLock && archive.objectLock.days > archive.expirationDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['objectLock', 'days'],
        message: 'must not exceed expirationDays (locked versions would outlive the retention)',
      });
    }
  });

const prometheusSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('none') }).strict(),
  /** An Amazon Managed Service for Prometheus workspace created by this stack (SigV4). */
  z.object({ mode: z.literal('amp') }).strict(),
  z
    .object({
      mode: z.literal('external'),
      url: httpsUrl,
      auth: z.enum(['none', 'sigv4', 'bearer', 'basic']),
      secretArn: secretArn.optional(),
      region: region.optional(),
    })
    .strict()
    .superRefine((remote, ctx) => {
      if ((remote.auth === 'bearer' || remote.auth === 'basic') && !remote.secretArn) {
        ctx.addIssue({
          code: 'custom',
          path: ['secretArn'],
          message: `required with auth=${remote.auth}: the Secrets Manager secret holding the credentials`,
        });
      }
      if (remote.auth !== 'bearer' && remote.auth !== 'basic' && remote.secretArn) {
        ctx.addIssue({ code: 'custom', path: ['secretArn'], message: `not used with auth=${remote.auth}` });
      }
    }),
]);

const environmentSchema = z
  .object({
    /** Pin the stack to an account/region; unset = environment-agnostic (deploys where the CLI points). */
    account: z.coerce
      .string()
      .regex(/^\d{12}$/, 'expected a 12-digit AWS account id')
      .optional(),
    region: region.optional(),
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'expected a CloudFormation stack name')
      .optional(),
    tags: z.record(z.string(), z.string()).default({}),
    vpc: withDefaultMode('new', vpcSchema).prefault({}),
    /** Interface/gateway endpoints to create; default depends on the VPC mode and the pollers (network.ts). */
    endpoints: z.array(z.enum(ENDPOINT_SERVICES)).optional(),
    msk: mskSchema,
    database: databaseSchema.prefault({}),
    schemaRegistry: schemaRegistrySchema.prefault({}),
    /** How events are judged; the consumer, the redrive function and the replay API must agree. */
    ingest: z
      .object({
        /** Events dated further in the future are invalid (MAX_CLOCK_SKEW_SECONDS). */
        maxClockSkewSeconds: int(60, 30 * 86_400).default(86_400),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        throttlingRateLimit: z.number().positive().max(10_000).default(50),
        throttlingBurstLimit: int(1, 5000).default(100),
      })
      .strict()
      .prefault({}),
    archive: archiveSchema.prefault({}),
    deadLetters: z
      .object({
        /** Failed batches are the only copy once Kafka's 30-day retention passes. */
        expirationDays: int(90, 36_500).default(365),
        noncurrentVersionExpirationDays: int(1, 3650).default(30),
      })
      .strict()
      .prefault({}),
    accessLogs: z
      .object({ expirationDays: int(1, 3650).default(365) })
      .strict()
      .prefault({}),
    stateGauges: z
      .object({ schedule: scheduleExpression.default('rate(1 minute)') })
      .strict()
      .prefault({}),
    prometheus: prometheusSchema.default({ mode: 'none' }),
    logs: z
      .object({
        retentionDays: z
          .number()
          .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
            message: `expected one of ${LOG_RETENTION_DAYS.join(', ')}`,
          })
          .default(30),
        level: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
      })
      .strict()
      .prefault({}),
    functions: z
      .object({
        // Kafka event source mappings allow at most 14 minutes; API Gateway waits 30 seconds.
        consume: functionSizing(1024, 120, 840),
        api: functionSizing(512, 29, 29),
        archive: functionSizing(1024, 900, 900),
        dlqRedrive: functionSizing(1024, 900, 900),
        stateGauges: functionSizing(256, 50, 60),
        migrate: functionSizing(512, 600, 900),
      })
      .strict()
      .prefault({}),
    alarms: z
      .object({
        /** SPEC §5: lag above 1000 for 10 minutes. */
        offsetLagThreshold: int(1, 100_000_000).default(1000),
        offsetLagMinutes: int(1, 60).default(10),
        deadLettersPendingThreshold: int(1, 1_000_000).default(1),
        /** An existing SNS topic for alarm notifications; unset = the stack creates one. */
        topicArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, 'expected an SNS topic ARN')
          .optional(),
        emails: z.array(z.email()).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((env, ctx) => {
    if ((env.account === undefined) !== (env.region === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.account === undefined ? 'account' : 'region'],
        message: 'account and region are set together (or neither, for an environment-agnostic stack)',
      });
    }
    if (env.account && env.vpc.mode === 'new' && !env.vpc.availabilityZones) {
      ctx.addIssue({
        code: 'custom',
        path: ['vpc', 'availabilityZones'],
        message: 'required when account/region are set: availability zones are never looked up at synth',
      });
    }
    if (env.vpc.mode === 'import') {
      const { availabilityZones, privateSubnetIds, privateSubnetRouteTableIds } = env.vpc;
      if (privateSubnetIds.length !== availabilityZones.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['vpc', 'privateSubnetIds'],
          message: 'one private subnet per availability zone, in the same order',
        });
      }
      if (privateSubnetRouteTableIds && privateSubnetRouteTableIds.length !== privateSubnetIds.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['vpc', 'privateSubnetRouteTableIds'],
          message: 'one route table per private subnet, in the same order',
        });
      }
      if (env.endpoints?.includes('s3') && !privateSubnetRouteTableIds) {
        ctx.addIssue({
          code: 'custom',
          path: ['vpc', 'privateSubnetRouteTableIds'],
          message: 'required to create the S3 gateway endpoint in an imported VPC',
        });
      }
    }
    if (env.account && env.msk.cluster.account !== env.account) {
      ctx.addIssue({
        code: 'custom',
        path: ['msk', 'clusterArn'],
        message: `the cluster is in account ${env.msk.cluster.account}, the stack in ${env.account}; cross-account clusters need a VPC connection ARN, not supported here`,
      });
    }
    if (env.region && env.msk.cluster.region !== env.region) {
      ctx.addIssue({
        code: 'custom',
        path: ['msk', 'clusterArn'],
        message: `the cluster is in ${env.msk.cluster.region}, the stack in ${env.region}`,
      });
    }
  });

export type SagaTrackerConfig = z.output<typeof environmentSchema> & { readonly environment: string };
export type MskConfig = SagaTrackerConfig['msk'];
export type ArchiveConfig = SagaTrackerConfig['archive'];
export type FunctionSizing = SagaTrackerConfig['functions']['consume'];

/** Config keys settable with `-c`: the top-level keys of an environment. */
export const CONFIG_KEYS = Object.keys(environmentSchema.shape) as readonly string[];

const JSON_LIKE = /^(\{[\s\S]*\}|\[[\s\S]*\]|true|false|null|-?(0|[1-9]\d{0,14})(\.\d+)?)$/;

/**
 * `-c` values arrive as strings: JSON when they look like JSON (objects, lists,
 * booleans, short numbers), else text — so an account id with a leading zero
 * or an ARN stays a string.
 */
function contextValue(value: unknown): unknown {
  if (typeof value !== 'string' || !JSON_LIKE.test(value.trim())) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeDeep(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergeDeep(base[key], value);
  return merged;
}

function withPath(
  target: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return target;
  const current = target[head];
  if (rest.length === 0) return { ...target, [head]: mergeDeep(current, value) };
  return { ...target, [head]: withPath(isPlainObject(current) ? current : {}, rest, value) };
}

/**
 * The raw (unvalidated) settings of the chosen environment with the overrides
 * applied. `context` is everything CDK holds (`app.node.getAllContext()`):
 * `environment` picks the set in `environments`; any other key whose first
 * segment is a config key (`msk`, `msk.clusterArn`, …) overrides it — those
 * come from `-c` flags, as cdk.json keeps its settings inside `environments`.
 */
export function rawEnvironment(context: Readonly<Record<string, unknown>>): {
  name: string;
  settings: Record<string, unknown>;
} {
  const name = String(context.environment ?? 'dev');
  const environments = contextValue(context.environments) ?? {};
  if (!isPlainObject(environments)) {
    throw new ConfigError('invalid CDK context: environments: expected an object of named environments');
  }
  const base = environments[name];
  if (!isPlainObject(base)) {
    const known = Object.keys(environments).join(', ') || 'none';
    throw new ConfigError(
      `invalid CDK context: environment: '${name}' is not defined in cdk.json context.environments (known: ${known})`,
    );
  }
  let settings: Record<string, unknown> = structuredClone(base);
  // Shorter keys first, so `-c msk={...}` and `-c msk.batchSize=10` combine predictably.
  const overrides = Object.keys(context)
    .filter((key) => CONFIG_KEYS.includes(key.split('.')[0] ?? ''))
    .sort((a, b) => a.split('.').length - b.split('.').length || a.localeCompare(b));
  for (const key of overrides) {
    settings = withPath(settings, key.split('.'), contextValue(context[key]));
  }
  return { name, settings };
}

/** Parses the chosen environment; throws a ConfigError naming every bad key. */
export function parseConfig(name: string, settings: unknown): SagaTrackerConfig {
  const result = environmentSchema.safeParse(settings);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.map(String).join('.') || '(environment)';
      const message =
        issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
      return `${key}: ${message}`;
    });
    throw new ConfigError(`invalid CDK context for environment '${name}': ${problems.join('; ')}`, {
      cause: result.error,
    });
  }
  return Object.freeze({ ...result.data, environment: name });
}

/** The typed configuration of this synth: the `cdk.json` environment plus `-c` overrides. */
export function loadConfig(context: Readonly<Record<string, unknown>>): SagaTrackerConfig {
  const { name, settings } = rawEnvironment(context);
  return parseConfig(name, settings);
}
