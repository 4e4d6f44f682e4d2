import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  ARCHIVE_BUCKET,
  archivedSagaIds,
  daysAgo,
  hotSagaIds,
  inArchivedForm,
  ingestEvents,
  ingestSagas,
  rawRows,
  useArchiveTestBed,
} from '../../test/support/archive';
import { bundledSchemas } from '../../test/support/consume';
import { encodeAvro, kafkaRecord, type ProducedEvent } from '../../test/support/kafka';
import { PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { PgIngestStore } from '../adapters/pg/ingest-store';
import { ingestRecords } from '../ingest/ingest';

const bed = useArchiveTestBed();

const SAGA = 'late-1';
const START = daysAgo(120);

function lateEvent(overrides: Partial<ProducedEvent>): ProducedEvent {
  const [event] = sagaEvents([{ step: 'AUDIT_NOTE', status: 'COMPLETED', service: 'order' }], {
    sagaId: SAGA,
    start: START,
  });
  if (!event) throw new Error('one event');
  return { ...event, eventId: `${SAGA}-late`, ...overrides };
}

async function sagaRow(sagaId: string) {
  const raw = await rawRows(bed.db.pool, 'SELECT * FROM saga_instance WHERE saga_id = $1', [sagaId]);
  return inArchivedForm(raw)[0];
}

async function archivedOnce(): Promise<Record<string, unknown>> {
  await ingestSagas(bed.db.pool, [{ sagaId: SAGA, start: START, steps: PAYMENT_FAILURE_STEPS }]);
  const before = await sagaRow(SAGA);
  if (!before) throw new Error('ingested');
  await bed.archive.run();
  expect(await archivedSagaIds(bed.db.pool)).toEqual([SAGA]);
  return before;
}

describe('a late event for an archived saga', () => {
  it('brings the saga back hot with every step folded in: archived ones and the new one', async () => {
    const archived = await archivedOnce();

    await ingestEvents(bed.db.pool, [
      lateEvent({ recordedAt: START + 3_600_000, eventTimestamp: START + 3_600_005 }),
    ]);

    const hot = await sagaRow(SAGA);
    expect(hot).toEqual({
      ...archived,
      current_status: 'COMPLETED',
      last_step: 'AUDIT_NOTE',
      step_count: 8,
      updated_at: '2026-06-03T13:00:00+00:00',
      last_recorded_at: '2026-06-03T13:00:00+00:00',
      last_event_timestamp: '2026-06-03T13:00:00.005+00:00',
      last_event_id: `${SAGA}-late`,
    });
    const { rows } = await bed.db.pool.query('SELECT event_id FROM saga_steps WHERE saga_id = $1', [SAGA]);
    expect(rows).toEqual([{ event_id: `${SAGA}-late` }]);
  });

  it('keeps the archived state when the late event is older in event time', async () => {
    const archived = await archivedOnce();

    await ingestEvents(bed.db.pool, [
      lateEvent({ recordedAt: START - 60_000, eventTimestamp: START - 59_000 }),
    ]);

    expect(await sagaRow(SAGA)).toEqual({
      ...archived,
      step_count: 8,
      started_at: '2026-06-03T11:59:00+00:00',
    });
  });

  it('treats a redelivered archived event as a duplicate and leaves the saga archived', async () => {
    await archivedOnce();
    const [original] = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: SAGA, start: START, gap: 1_237 });
    if (!original) throw new Error('one event');

    const result = await ingestRecords([kafkaRecord(encodeAvro(original), { offset: 900 })], {
      schemas: bundledSchemas(),
      store: new PgIngestStore(bed.db.pool),
    });

    expect(result.summary).toEqual(expect.objectContaining({ inserted: 0, duplicates: 1, deadLettered: 0 }));
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);
  });

  it('counts transitions from the archived state, so an archived failure is not counted again', async () => {
    await archivedOnce();

    const result = await ingestRecords(
      [kafkaRecord(encodeAvro(lateEvent({ status: 'FAILED', step: 'LATE_FAILURE' })), { offset: 901 })],
      { schemas: bundledSchemas(), store: new PgIngestStore(bed.db.pool) },
    );

    expect(result.sagaChanges).toEqual([
      expect.objectContaining({ sagaId: SAGA, previousStatus: 'COMPENSATED', enteredFailed: false }),
    ]);
  });

  it('is archived again by the next run with its whole timeline, and search leaves it to the hot side meanwhile', async () => {
    await archivedOnce();
    const firstEntry = (await bed.archive.stack.index.locate([SAGA]))[0];
    const archivedSteps = (await bed.archive.stack.reader.readArchivedSaga(SAGA))?.steps ?? [];
    await ingestEvents(bed.db.pool, [lateEvent({ recordedAt: START + 3_600_000 })]);
    expect(
      (await bed.archive.stack.reader.searchArchived({ orderId: `order-${SAGA}` }, { offset: 0, limit: 10 }))
        .totalElements,
    ).toBe(0);
    const hotRow = await sagaRow(SAGA);
    const hotStep = inArchivedForm(
      await rawRows(bed.db.pool, 'SELECT * FROM saga_steps WHERE saga_id = $1', [SAGA]),
    )[0];

    const report = await bed.archive.run();

    expect(report.archived).toBe(1);
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);
    const again = await bed.archive.stack.reader.readArchivedSaga(SAGA);
    expect(again?.objectKey).not.toBe(firstEntry?.objectKey);
    expect(again?.saga).toEqual(hotRow);
    expect(again?.steps).toEqual([...archivedSteps, hotStep]);
    expect(again?.steps).toHaveLength(again?.saga.step_count ?? -1);
    // And a second late event is checked against every archived event id, old and new.
    await ingestEvents(bed.db.pool, [lateEvent({ recordedAt: START + 3_600_000 })]);
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);
  });

  it('stays hot when its earlier archive is damaged, rather than being archived without those steps', async () => {
    await archivedOnce();
    const [entry] = await bed.archive.stack.index.locate([SAGA]);
    if (!entry) throw new Error('archived');
    await bed.s3.client.send(
      new PutObjectCommand({ Bucket: ARCHIVE_BUCKET, Key: entry.objectKey, Body: 'garbage' }),
    );
    await ingestEvents(bed.db.pool, [lateEvent({ recordedAt: START + 3_600_000 })]);

    const report = await bed.archive.run();

    expect(report).toEqual(expect.objectContaining({ archived: 0, skipped: 1, skippedUnreadable: 1 }));
    expect(await hotSagaIds(bed.db.pool)).toEqual([SAGA]);
  });
});
