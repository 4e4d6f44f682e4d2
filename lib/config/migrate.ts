import { z } from 'zod';

/** Settings of the deploy-time migration function (besides the DB_* connection of its administrator). */
export const migrateEnvSchema = z.object({
  /** The login role the other functions connect as (created and granted by the migration run). */
  APP_DB_USER: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case PostgreSQL identifier'),
  /** `true` on RDS: the role authenticates with IAM tokens only (GRANT rds_iam). */
  APP_DB_IAM: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  /** Where the SQL migrations are; in the Lambda bundle they sit beside the handler. */
  MIGRATIONS_DIR: z.string().optional(),
});
