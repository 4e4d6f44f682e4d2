import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import pg from 'pg';
import { ensureAppRole } from '../../lib/adapters/pg/app-role';
import { migrate } from '../../lib/adapters/pg/migrate';

export interface MigrateDeps {
  readonly logger: Logger;
  /** The schema owner's connection (resolved per run: the secret may have been rotated). */
  readonly adminConnection: () => Promise<string | pg.ClientConfig>;
  readonly appUser: string;
  readonly grantRdsIam: boolean;
  readonly migrationsDir: string;
}

export interface MigrateResult {
  readonly applied: string[];
  readonly appUser: string;
  readonly appUserCreated: boolean;
}

/**
 * The deploy-time migration function (run by a CloudFormation trigger before
 * the consumer's event source mapping exists): applies pending migrations as
 * the schema owner, then makes sure the application's IAM-authenticated role
 * exists with data-only privileges. Any error fails the deployment.
 */
export function createMigrateHandler(deps: MigrateDeps) {
  const { logger } = deps;
  return middy<unknown, MigrateResult, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async () => {
      const connection = await deps.adminConnection();
      const applied = await migrate({
        databaseUrl: connection,
        dir: deps.migrationsDir,
        log: (message) => logger.debug(message),
      });
      const client = new pg.Client(connection);
      await client.connect();
      let appUserCreated: boolean;
      try {
        ({ created: appUserCreated } = await ensureAppRole(client, {
          user: deps.appUser,
          rdsIam: deps.grantRdsIam,
        }));
      } finally {
        await client.end();
      }
      logger.info('database ready', { applied, appUser: deps.appUser, appUserCreated });
      return { applied, appUser: deps.appUser, appUserCreated };
    });
}
