import fc from 'fast-check';
import { type SagaEvent, sagaEventSchema, sameEventContent, traceIdOf } from './saga-event';
import { isoOrNull, storableText } from './text';

const NOW = Date.UTC(2026, 10, 25);
const valid = {
  eventId: 'e-1',
  eventTimestamp: NOW - 1_000,
  sagaId: 's-1',
  sagaType: 'STORE_REGISTRATION',
  step: 'ANY_STEP_NAME',
  status: 'IN_PROGRESS',
  orderId: 'o-1',
  metadata: '{"traceId":"t","nested":{"a":[1,2]}}',
  recordedAt: NOW - 1_000,
};
const schema = sagaEventSchema({ now: () => NOW, maxFutureMs: 60_000 });

describe('sagaEventSchema', () => {
  it('accepts any saga type and step name and parses metadata into an object', () => {
    const event = schema.parse(valid);
    expect(event.metadata).toEqual({ traceId: 't', nested: { a: [1, 2] } });
    expect(event.sagaType).toBe('STORE_REGISTRATION');
  });

  it('accepts absent or null metadata', () => {
    expect(schema.parse({ ...valid, metadata: null }).metadata).toBeNull();
    const { metadata: _omitted, ...withoutMetadata } = valid;
    expect(schema.parse(withoutMetadata).metadata).toBeNull();
  });

  it.each([
    ['metadata', '"just a string"', 'must be a JSON object'],
    ['metadata', 'null', 'must be a JSON object'],
    ['metadata', '{"a":"\\ud800"}', 'not well-formed Unicode'],
    ['sagaType', 'x'.repeat(51), 'at most 50'],
    ['orderId', '', 'must not be empty'],
    ['eventTimestamp', NOW + 120_000, 'too far in the future'],
    ['recordedAt', 1.5, 'integer'],
  ])('rejects %s = %j naming the problem', (field, value, message) => {
    const result = schema.safeParse({ ...valid, [field]: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([field]);
    expect(result.error?.issues[0]?.message).toContain(message);
  });
});

describe('sameEventContent', () => {
  const event = schema.parse(valid) as SagaEvent;

  it('ignores metadata key order but not values', () => {
    const reordered = { ...event, metadata: { nested: { a: [1, 2] }, traceId: 't' } };
    expect(sameEventContent(reordered, event)).toBe(true);
    expect(sameEventContent({ ...event, metadata: { traceId: 'u', nested: { a: [1, 2] } } }, event)).toBe(
      false,
    );
    expect(sameEventContent({ ...event, metadata: null }, event)).toBe(false);
  });

  it('sees a change in any Avro field', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('eventTimestamp', 'sagaId', 'sagaType', 'step', 'orderId', 'recordedAt', 'status'),
        (field) => {
          const changed = {
            ...event,
            [field]:
              typeof event[field as keyof SagaEvent] === 'number' ? 1 : field === 'status' ? 'FAILED' : 'x',
          };
          expect(sameEventContent(changed as SagaEvent, event)).toBe(false);
        },
      ),
    );
  });
});

describe('text helpers', () => {
  it('takes the trace id from metadata only when it is a string that fits', () => {
    expect(traceIdOf({ traceId: 'abc' })).toBe('abc');
    expect(traceIdOf({ traceId: 42 })).toBeNull();
    expect(traceIdOf({ traceId: 'x'.repeat(101) })).toBeNull();
    expect(traceIdOf(null)).toBeNull();
  });

  it('makes any text storable in PostgreSQL', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const safe = storableText(text, 50);
        expect(safe.includes('\u0000')).toBe(false);
        expect(safe.isWellFormed()).toBe(true);
        expect(safe.length).toBeLessThanOrEqual(50);
      }),
    );
  });

  it('formats only real instants', () => {
    expect(isoOrNull(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoOrNull(-1)).toBeNull();
    expect(isoOrNull(Number.MAX_SAFE_INTEGER)).toBeNull();
  });
});
