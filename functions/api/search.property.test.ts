import fc from 'fast-check';
import { SAGA_STATUSES } from '../../lib/domain/saga-event';
import { SORT_VALUES } from '../../lib/query/search-criteria';
import { apiClientFor } from '../../test/support/api';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { kafkaEvent, recordsFor } from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';

let db: TestDatabase;
let call: ReturnType<typeof apiClientFor>;

beforeAll(async () => {
  db = await createTestDatabase();
  call = apiClientFor(db.pool);
  const events = [
    ...sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'p-1' }),
    ...sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'p-2' }),
  ];
  await consumeHandlerFor(db.pool)(kafkaEvent(recordsFor(events)));
});
afterAll(() => db.drop());

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\ud800', '%', '%zz', '1e309', '-0', 'NaN', '0x10', '9'.repeat(30)),
);
/** Mostly plausible values, so that many requests pass validation and reach the database. */
function mostly<T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: other, weight: 1 });
}
const word = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const isoish = fc.oneof(
  fc
    .date({ min: new Date(-1e14), max: new Date(1e15), noInvalidDate: true })
    .map((date) => date.toISOString()),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)),
  anyText,
);
const numberish = fc.oneof(
  fc.integer({ min: -10, max: 200_000 }).map(String),
  fc.double().map(String),
  anyText,
);
const cursorish = fc.oneof(
  anyText,
  fc.base64String(),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value)).toString('base64url')),
  fc
    .record({
      v: fc.constantFrom(1, 2),
      s: fc.oneof(fc.constantFrom(...SORT_VALUES), anyText),
      t: fc.oneof(fc.bigInt({ min: -1n, max: 10n ** 20n }).map(String), anyText),
      id: anyText,
      f: fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/), anyText),
    })
    .map((body) => Buffer.from(JSON.stringify(body)).toString('base64url')),
);

const parameters = fc.record(
  {
    orderId: mostly(word, anyText),
    sagaType: mostly(fc.constantFrom('ORDER_CREATION', 'PAYMENT_COMPLETION'), anyText),
    type: mostly(fc.constantFrom('ORDER_CREATION', 'PAYMENT_COMPLETION'), anyText),
    status: mostly(fc.constantFrom(...SAGA_STATUSES), anyText),
    fromDate: isoish,
    toDate: isoish,
    traceId: mostly(word, anyText),
    step: mostly(fc.constantFrom('ORDER_CREATED', 'PAYMENT_FAILED'), anyText),
    stuckForSeconds: mostly(fc.integer({ min: 1, max: 1e6 }).map(String), numberish),
    page: mostly(fc.integer({ min: 0, max: 5 }).map(String), numberish),
    size: mostly(fc.integer({ min: 1, max: 100 }).map(String), numberish),
    sort: mostly(fc.constantFrom(...SORT_VALUES), anyText),
    cursor: cursorish,
  },
  { requiredKeys: [] },
);
/** Only valid values: these must all reach the database and answer 200 (or 400 for combinations). */
const validParameters = fc.record(
  {
    orderId: word,
    sagaType: fc.constantFrom('ORDER_CREATION', 'PAYMENT_COMPLETION'),
    status: fc.constantFrom(...SAGA_STATUSES, 'failed'),
    fromDate: fc
      .date({ min: new Date('2026-01-01'), max: new Date('2027-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    traceId: word,
    step: fc.constantFrom('ORDER_CREATED', 'PAYMENT_FAILED', 'STOCK_RELEASED'),
    stuckForSeconds: fc.integer({ min: 1, max: 1e6 }).map(String),
    page: fc.integer({ min: 0, max: 5 }).map(String),
    size: fc.integer({ min: 1, max: 100 }).map(String),
    sort: fc.constantFrom(...SORT_VALUES),
    'meta.customerId': fc.constantFrom('customer-7', 'customer-8', '7'),
  },
  { requiredKeys: [] },
);
const extra = fc.dictionary(
  mostly(
    word.map((key) => `meta.${key}`),
    fc.oneof(
      anyText,
      anyText.map((key) => `meta.${key}`),
    ),
  ),
  mostly(word, anyText),
  { maxKeys: 3 },
);

describe('search under random query strings', () => {
  it('always answers 200 or 400, never a 500', async () => {
    const statuses = { 200: 0, 400: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          validParameters,
          fc.tuple(parameters, extra).map(([a, b]) => ({ ...b, ...a })),
        ),
        async (given) => {
          const query = Object.entries(given as Record<string, string>)
            .map(
              ([key, value]) =>
                `${encodeURIComponent(key.toWellFormed())}=${encodeURIComponent(value.toWellFormed())}`,
            )
            .join('&');
          const answer = await call('GET', `/api/v1/sagas?${query}`);
          if (answer.status !== 200 && answer.status !== 400) {
            throw new Error(`${answer.status} for ?${query}: ${JSON.stringify(answer.body)}`);
          }
          statuses[answer.status]++;
        },
      ),
      { numRuns: 400 },
    );
    // The property means something only if many requests reached the database.
    expect(statuses[200]).toBeGreaterThan(40);
  });

  it('answers 200 or 400 for raw query values API Gateway may pass undecoded', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 60 }), async (raw) => {
        const answer = await call('GET', `/api/v1/sagas?${raw}`);
        expect([200, 400]).toContain(answer.status);
      }),
      { numRuns: 300 },
    );
  });
});
