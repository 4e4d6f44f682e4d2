import { z } from 'zod';
import { archiveReaderEnvSchema } from './archive';

/**
 * The API's archive settings. Without ARCHIVE_BUCKET the API has no archive:
 * archived sagas answer 404 and includeArchived=true is refused with a 400.
 */
export const apiArchiveEnvSchema = archiveReaderEnvSchema.extend({
  /** Most time one S3 request of an archived-saga read may take before it is retried once, then a 503. */
  ARCHIVE_READ_TIMEOUT_MS: z.coerce.number().int().positive().max(20_000).default(3_000),
});

export interface ApiArchiveConfig {
  readonly bucket: string;
  readonly readTimeoutMs: number;
}

/** The archive the API reads, or undefined when none is configured. */
export function toApiArchiveConfig(env: z.output<typeof apiArchiveEnvSchema>): ApiArchiveConfig | undefined {
  return env.ARCHIVE_BUCKET
    ? Object.freeze({ bucket: env.ARCHIVE_BUCKET, readTimeoutMs: env.ARCHIVE_READ_TIMEOUT_MS })
    : undefined;
}
