import { apiClientFor, OPERATOR } from '../../test/support/api';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import type { ProducedEvent } from '../../test/support/kafka';
import { kafkaEvent, recordsFor } from '../../test/support/kafka';
import type { StepSpec } from '../../test/support/sagas';
import { sagaEvents } from '../../test/support/sagas';

const START = Date.parse('2026-11-25T09:00:00Z');
const STUCK: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVATION', status: 'IN_PROGRESS', service: 'product' },
];

let db: TestDatabase;
let call: ReturnType<typeof apiClientFor>;
let offset = 0;

async function ingest(events: ProducedEvent[]): Promise<void> {
  await consumeHandlerFor(db.pool)(kafkaEvent(recordsFor(events, { firstOffset: offset })));
  offset += events.length;
}

function event(sagaId: string, step: string, status: string, recordedAt: number): ProducedEvent {
  return {
    eventId: `${sagaId}-${step}-${recordedAt}`,
    eventTimestamp: recordedAt,
    sagaId,
    sagaType: 'ORDER_CREATION',
    step,
    status,
    orderId: `order-${sagaId}`,
    metadata: null,
    recordedAt,
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  call = apiClientFor(db.pool);
});
afterAll(() => db.drop());
beforeEach(async () => {
  await truncateAll(db.pool);
  await ingest(sagaEvents(STUCK, { sagaId: 'stuck-1', start: START }));
});

const PATH = '/internal/v1/sagas/stuck-1/status';

describe('PATCH /internal/v1/sagas/{sagaId}/status', () => {
  it('forces the status and answers the previous one with the audit entry', async () => {
    const answer = await call('PATCH', PATH, {
      body: { status: 'FAILED', reason: 'payment provider confirmed loss' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      sagaId: 'stuck-1',
      previousStatus: 'IN_PROGRESS',
      currentStatus: 'FAILED',
      updatedAt: expect.any(String),
      override: {
        id: expect.any(Number),
        previousStatus: 'IN_PROGRESS',
        status: 'FAILED',
        reason: 'payment provider confirmed loss',
        principal: OPERATOR.userArn,
        principalAccount: OPERATOR.accountId,
        requestId: expect.any(String),
        overriddenAt: answer.body.updatedAt,
      },
    });
    const saga = await call('GET', '/api/v1/sagas/stuck-1');
    expect(saga.body).toEqual(
      expect.objectContaining({
        currentStatus: 'FAILED',
        stepCount: 2,
        statusOverriddenAt: answer.body.updatedAt,
      }),
    );
  });

  it('shows the override in the timeline apart from the producer steps', async () => {
    await call('PATCH', PATH, { body: { status: 'COMPENSATED', reason: 'refunded by hand' } });
    await call('PATCH', PATH, { body: { status: 'FAILED', reason: 'refund bounced' } });
    const timeline = await call('GET', '/api/v1/sagas/stuck-1/steps');
    expect(timeline.body.steps.map((step: { step: string }) => step.step)).toEqual([
      'ORDER_CREATED',
      'STOCK_RESERVATION',
    ]);
    expect(
      timeline.body.statusOverrides.map(
        (entry: { previousStatus: string; status: string; reason: string }) => [
          entry.previousStatus,
          entry.status,
          entry.reason,
        ],
      ),
    ).toEqual([
      ['IN_PROGRESS', 'COMPENSATED', 'refunded by hand'],
      ['COMPENSATED', 'FAILED', 'refund bounced'],
    ]);
    const { rows } = await db.pool.query('SELECT step_count FROM saga_instance');
    expect(rows).toEqual([{ step_count: 2 }]);
  });

  it('lets a producer event newer in event time take over again, but not an older one', async () => {
    await call('PATCH', PATH, { body: { status: 'FAILED', reason: 'looked lost' } });
    await ingest([event('stuck-1', 'LATE_BUT_OLDER', 'IN_PROGRESS', START + 500)]);
    expect((await call('GET', '/api/v1/sagas/stuck-1')).body.currentStatus).toBe('FAILED');

    await ingest([event('stuck-1', 'ORDER_CONFIRMED', 'COMPLETED', START + 60_000)]);
    const saga = await call('GET', '/api/v1/sagas/stuck-1');
    expect(saga.body).toEqual(
      expect.objectContaining({ currentStatus: 'COMPLETED', lastStep: 'ORDER_CONFIRMED', stepCount: 4 }),
    );
  });

  it.each([
    [{ status: 'DONE', reason: 'x' }, 'body.status', /one of STARTED/],
    [{ status: 'FAILED' }, 'body.reason', /required/],
    [{ status: 'FAILED', reason: '   ' }, 'body.reason', /must not be empty/],
    [{ reason: 'why' }, 'body.status', /one of STARTED/],
    [{ status: 'FAILED', reason: 'x', force: true }, 'body.force', /force/],
    ['{"status": ', 'body', /not valid JSON/],
    [[1, 2], 'body', /object/],
  ])('answers 400 for the body %j naming %s', async (body, parameter, message) => {
    const answer = await call('PATCH', PATH, { body });
    expect(answer.status).toBe(400);
    expect(answer.body.details.parameter).toBe(parameter);
    expect(answer.body.message).toMatch(message);
    expect((await call('GET', '/api/v1/sagas/stuck-1')).body.currentStatus).toBe('IN_PROGRESS');
  });

  it('answers 400 when there is no body', async () => {
    const answer = await call('PATCH', PATH);
    expect(answer.status).toBe(400);
    expect(answer.body.details.parameter).toBe('body');
  });

  it('answers 404 for an unknown saga and records nothing', async () => {
    const answer = await call('PATCH', '/internal/v1/sagas/nope/status', {
      body: { status: 'FAILED', reason: 'x' },
    });
    expect(answer.status).toBe(404);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM saga_status_override');
    expect(rows[0].n).toBe(0);
  });

  it('answers 403 when the caller is not an IAM principal', async () => {
    const answer = await call('PATCH', PATH, { body: { status: 'FAILED', reason: 'x' }, iam: null });
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('FORBIDDEN');
    expect((await call('GET', '/api/v1/sagas/stuck-1')).body.currentStatus).toBe('IN_PROGRESS');
  });
});
