import { migrate } from '../lib/adapters/pg/migrate';

/**
 * `npm run migrate [-- down [count]]`: applies the SQL migrations to DATABASE_URL.
 * (`npm start` migrates its own embedded database by itself.)
 */
async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl)
    throw new Error('DATABASE_URL is required, e.g. postgres://user:pass@localhost:5432/saga_tracker');
  const [direction = 'up', count] = process.argv.slice(2);
  if (direction !== 'up' && direction !== 'down')
    throw new Error(`unknown direction "${direction}": use up or down`);
  const applied = await migrate({
    databaseUrl,
    direction,
    ...(count === undefined ? {} : { count: Number(count) }),
    log: (message) => console.log(message),
  });
  console.log(
    applied.length === 0 ? 'migrations: nothing to apply' : `migrations ${direction}: ${applied.join(', ')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
