import pg from 'pg';
import { TransientError } from '../../lib/errors';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { kafkaEvent, kafkaRecord, recordsFor } from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { count, storedState } from '../../test/support/state';
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy';

let db: TestDatabase;
let proxy: TcpProxy;
let pool: pg.Pool;

beforeEach(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port));
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  pool = new pg.Pool({ connectionString: viaProxy.toString(), max: 2 });
  // Idle clients lose their connection when the proxy is cut; that is the point.
  pool.on('error', () => undefined);
});

afterEach(async () => {
  await pool.end();
  await proxy.close();
  await db.drop();
});

const events = [
  ...sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-a' }),
  ...sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-b' }),
];
const batch = kafkaEvent([
  ...recordsFor(events),
  kafkaRecord(Buffer.from('poison'), { partition: 2, offset: 77 }),
]);

/** Cuts the connection the moment the client sends a message containing `marker`. */
function cutWhenSent(marker: string, options: { afterForwarding?: boolean } = {}): void {
  proxy.onClientData((chunk) => {
    if (!chunk.includes(marker)) return;
    proxy.onClientData(null);
    if (options.afterForwarding) setImmediate(() => proxy.cut());
    else proxy.cut();
  });
}

describe('consume handler when the database goes away mid-batch', () => {
  it('fails the invocation, commits nothing, and a retry stores everything exactly once', async () => {
    const consume = consumeHandlerFor(pool);
    cutWhenSent('INSERT INTO saga_dead_letter');

    await expect(consume(batch)).rejects.toThrow(TransientError);

    expect(await count(db.pool, 'saga_steps')).toBe(0);
    expect(await count(db.pool, 'saga_instance')).toBe(0);
    expect(await count(db.pool, 'saga_dead_letter')).toBe(0);

    proxy.restore();
    const retried = await consume(batch);
    expect(retried).toEqual(expect.objectContaining({ inserted: 14, duplicates: 0, deadLettered: 1 }));
    expect(await count(db.pool, 'saga_steps')).toBe(14);
    expect(await count(db.pool, 'saga_dead_letter')).toBe(1);
  });

  it('stays exactly once when the connection drops after COMMIT was sent and the batch is retried', async () => {
    const consume = consumeHandlerFor(pool);
    cutWhenSent('COMMIT', { afterForwarding: true });

    await consume(batch).catch((error: unknown) => error);
    proxy.restore();
    await consume(batch);

    const state = await storedState(db.pool);
    expect(state.steps).toHaveLength(14);
    expect(state.sagas.map((saga) => [saga.saga_id, saga.step_count])).toEqual([
      ['saga-a', 7],
      ['saga-b', 7],
    ]);
    expect(await count(db.pool, 'saga_dead_letter')).toBe(1);
  });

  it('fails fast as a transient error while the database is unreachable', async () => {
    const consume = consumeHandlerFor(pool);
    proxy.cut();
    await expect(consume(batch)).rejects.toThrow(TransientError);
  });
});
