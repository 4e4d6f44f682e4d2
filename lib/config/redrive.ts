import { z } from 'zod';

/** Configuration of the redrive function (and of `npm run redrive -- --local`). */
export const redriveEnvSchema = z.object({
  /** Bucket of the event source mapping's S3 on-failure destination; unset = table dead letters only. */
  DLQ_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
    .optional(),
  /** Only objects under this prefix are redriven (default: the whole bucket except redriven/). */
  DLQ_PREFIX: z.string().max(1024).optional(),
  /** Dead letters re-applied per transaction. */
  REDRIVE_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(500),
});
export type RedriveEnv = z.output<typeof redriveEnvSchema>;
