import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';

export const s3EnvSchema = z.object({
  /** S3-compatible endpoint for the local stack and tests; path-style addressing when set. */
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  AWS_REGION: z.string().default('us-east-1'),
});

export interface S3ClientOptions {
  /** Gives up on one request after this long (the SDK then retries it, up to `maxAttempts`). */
  readonly requestTimeoutMs?: number;
  /** Attempts per request, the first included. @default the SDK's (3) */
  readonly maxAttempts?: number;
}

/** One S3 client per Lambda environment; talks to a local S3-compatible server when S3_ENDPOINT is set. */
export function createS3Client(
  config: z.output<typeof s3EnvSchema>,
  options: S3ClientOptions = {},
): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT, forcePathStyle: true } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.requestTimeoutMs
      ? {
          requestHandler: {
            connectionTimeout: Math.min(options.requestTimeoutMs, 2_000),
            requestTimeout: options.requestTimeoutMs,
          },
        }
      : {}),
  });
}
