import { createTestDatabase, type TestDatabase, truncateAll } from '../../../test/support/database';
import { kafkaRecord } from '../../../test/support/kafka';
import { PermanentRecordError } from '../../errors';
import type { DecodedRecord } from '../../ingest/decode';
import { planBatch } from '../../ingest/plan';
import { PgIngestStore } from './ingest-store';
import { withTransaction } from './transaction';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());
beforeEach(() => truncateAll(db.pool));

function poison(reason: 'UNKNOWN_SCHEMA_ID' | 'MALFORMED_AVRO', message: string): DecodedRecord {
  return {
    ok: false,
    record: kafkaRecord(Buffer.from([0, 0, 0, 0, 2, 1]), {
      offset: 42,
      headers: { 'producer-service': 'order' },
    }),
    error: new PermanentRecordError(reason, message),
    eventId: null,
  };
}

async function rows() {
  const { rows: found } = await db.pool.query(
    'SELECT reason, reason_message, last_error, attempts, status, source, record_value, headers FROM saga_dead_letter',
  );
  return found;
}

describe('PgIngestStore dead letters', () => {
  it('keeps the first dead letter of a record as it was when the consumer sees the record again', async () => {
    const store = new PgIngestStore(db.pool);
    await store.apply(planBatch([poison('UNKNOWN_SCHEMA_ID', 'first')]));

    await store.apply(planBatch([poison('MALFORMED_AVRO', 'second')]));

    expect(await rows()).toEqual([
      expect.objectContaining({
        reason: 'UNKNOWN_SCHEMA_ID',
        reason_message: 'first',
        attempts: 0,
        source: 'consumer',
      }),
    ]);
  });

  it('records the new reason and one more attempt when a redriven record fails again', async () => {
    await new PgIngestStore(db.pool).apply(planBatch([poison('UNKNOWN_SCHEMA_ID', 'first')]));
    await db.pool.query("UPDATE saga_dead_letter SET status = 'REPLAYED', resolved_at = now()");
    const redrive = new PgIngestStore(db.pool, { source: 'redrive-s3', existingDeadLetter: 'update' });

    await withTransaction(db.pool, (client) =>
      redrive.applyIn(
        client,
        planBatch([poison('MALFORMED_AVRO', 'second'), poison('MALFORMED_AVRO', 'again')]),
      ),
    );

    expect(await rows()).toEqual([
      {
        reason: 'MALFORMED_AVRO',
        reason_message: 'second',
        last_error: 'second',
        attempts: 1,
        status: 'PENDING',
        source: 'consumer',
        record_value: Buffer.from([0, 0, 0, 0, 2, 1]),
        headers: [{ key: 'producer-service', value: Buffer.from('order').toString('base64') }],
      },
    ]);
  });
});
