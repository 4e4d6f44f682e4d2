import { z } from 'zod';

const sagaType = z.string().min(1).max(50);

const archiveAction = z.strictObject({
  action: z.literal('archive'),
  /** Count what would be archived; change nothing. */
  dryRun: z.boolean().default(false),
  /** Most sagas this run considers. */
  limit: z.int().positive().optional(),
  /** Overrides ARCHIVE_TIME_BUDGET_MS (still capped by the Lambda's remaining time). */
  timeBudgetMs: z.int().positive().optional(),
  /** Overrides ARCHIVE_CHUNK_SIZE. */
  chunkSize: z.int().positive().max(50_000).optional(),
  /** Only these saga types. */
  sagaTypes: z.array(sagaType).min(1).optional(),
});

const restoreAction = z.strictObject({
  action: z.literal('restore'),
  /** Archived sagas to bring back into the hot tables. */
  sagaIds: z.array(z.string().min(1).max(100)).min(1).max(1_000),
});

const verifyAction = z.strictObject({
  action: z.literal('verify'),
  /** Objects to read back whole and check this run. */
  limit: z.int().positive().max(10_000).default(100),
});

export const archivePayloadSchema = z.discriminatedUnion('action', [
  archiveAction,
  restoreAction,
  verifyAction,
]);
export type ArchivePayload = z.output<typeof archivePayloadSchema>;

/**
 * What the invocation asks for. EventBridge Scheduler hands over the
 * schedule's input as is (`{}` or nothing for a plain run); an EventBridge
 * rule wraps it as a "Scheduled Event", whose `detail` is the payload.
 * Unknown keys are refused: a misspelt `dryrun` must not start a real run.
 */
export function payloadOf(event: unknown): unknown {
  if (event === undefined || event === null || event === '') return { action: 'archive' };
  if (typeof event === 'object' && !Array.isArray(event)) {
    const record = event as Record<string, unknown>;
    if (record.source === 'aws.events' && record['detail-type'] === 'Scheduled Event')
      return payloadOf(record.detail ?? {});
    return 'action' in record ? record : { action: 'archive', ...record };
  }
  return event;
}
