import { z } from 'zod';
import { SAGA_STATUSES, type SagaStatus, TERMINAL_STATUSES } from '../domain/saga-event';

const positiveInt = z.coerce.number().int().positive();

/** `COMPLETED,FAILED` → the statuses, each one checked. */
const statusList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  )
  .pipe(z.array(z.enum(SAGA_STATUSES)).min(1, 'must name at least one status'));

const typeRuleSchema = z.strictObject({
  retentionDays: z.int().positive().optional(),
  statuses: z.array(z.enum(SAGA_STATUSES)).min(1).optional(),
});

/**
 * Per saga type overrides as JSON, e.g.
 * `{"PAYMENT_COMPLETION":{"retentionDays":30},"ORDER_CREATION":{"statuses":["COMPLETED","COMPENSATED"]}}`.
 */
const typeRules = z.string().transform((text, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `expected JSON (${String(error)})` });
    return z.NEVER;
  }
  const result = z.record(z.string().min(1).max(50), typeRuleSchema).safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    ctx.addIssue({
      code: 'custom',
      message: `expected {"<sagaType>": {retentionDays?, statuses?}}: ${problems.join('; ')}`,
    });
    return z.NEVER;
  }
  return result.data;
});

export const archiveEnvSchema = z.object({
  /** Bucket of the cold-storage archive. */
  ARCHIVE_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  /** Key prefix of archived objects (no leading slash). */
  ARCHIVE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9!_.*'()/-]*$/, 'must be a plain S3 key prefix')
    .refine((prefix) => !prefix.startsWith('/'), 'must not start with /')
    .default('sagas'),
  /** Days after a saga's last update before it leaves PostgreSQL. */
  RETENTION_DAYS: positiveInt.default(90),
  /** Saga statuses that may be archived (comma-separated). */
  ARCHIVE_STATUSES: statusList.default([...TERMINAL_STATUSES]),
  /** Per saga type retention and statuses (JSON), overriding the two above for that type. */
  ARCHIVE_TYPE_RULES: typeRules.default({}),
  /** Most sagas read per chunk; a chunk becomes one object per saga type and day. */
  ARCHIVE_CHUNK_SIZE: positiveInt.max(50_000).default(5_000),
  /** Wall-clock budget of one run; no new chunk starts once it would be exceeded. */
  ARCHIVE_TIME_BUDGET_MS: positiveInt.default(600_000),
  /** Time kept free before the Lambda timeout, whatever the budget says. */
  ARCHIVE_SAFETY_MARGIN_MS: positiveInt.default(60_000),
  /** Most sagas one run archives (unset: no limit besides the time budget). */
  ARCHIVE_MAX_SAGAS_PER_RUN: positiveInt.optional(),
  /** gzip level of the saga members (1 fastest … 9 smallest). */
  ARCHIVE_GZIP_LEVEL: z.coerce.number().int().min(1).max(9).default(6),
});

export interface ArchiveTypeRule {
  readonly retentionDays: number;
  readonly statuses: readonly SagaStatus[];
}

/** Which sagas are eligible: a default rule and per saga type overrides. */
export interface ArchiveRules {
  readonly defaultRule: ArchiveTypeRule;
  readonly byType: Readonly<Record<string, ArchiveTypeRule>>;
}

export interface ArchiveConfig {
  readonly bucket: string;
  readonly prefix: string;
  readonly rules: ArchiveRules;
  readonly chunkSize: number;
  readonly timeBudgetMs: number;
  readonly safetyMarginMs: number;
  readonly maxSagasPerRun: number | undefined;
  readonly gzipLevel: number;
}

export function toArchiveConfig(env: z.output<typeof archiveEnvSchema>): ArchiveConfig {
  const defaultRule: ArchiveTypeRule = {
    retentionDays: env.RETENTION_DAYS,
    statuses: [...new Set(env.ARCHIVE_STATUSES)],
  };
  const byType: Record<string, ArchiveTypeRule> = {};
  for (const [sagaType, rule] of Object.entries(env.ARCHIVE_TYPE_RULES)) {
    byType[sagaType] = {
      retentionDays: rule.retentionDays ?? defaultRule.retentionDays,
      statuses: rule.statuses ? [...new Set(rule.statuses)] : defaultRule.statuses,
    };
  }
  return Object.freeze({
    bucket: env.ARCHIVE_BUCKET,
    prefix: env.ARCHIVE_PREFIX.replace(/\/+$/, ''),
    rules: { defaultRule, byType },
    chunkSize: env.ARCHIVE_CHUNK_SIZE,
    timeBudgetMs: env.ARCHIVE_TIME_BUDGET_MS,
    safetyMarginMs: env.ARCHIVE_SAFETY_MARGIN_MS,
    maxSagasPerRun: env.ARCHIVE_MAX_SAGAS_PER_RUN,
    gzipLevel: env.ARCHIVE_GZIP_LEVEL,
  });
}

/** What readers of the archive (the API) need: the bucket, optional so an API without an archive still runs. */
export const archiveReaderEnvSchema = z.object({
  ARCHIVE_BUCKET: archiveEnvSchema.shape.ARCHIVE_BUCKET.optional(),
});
