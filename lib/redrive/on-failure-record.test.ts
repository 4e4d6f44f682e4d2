import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { kafkaEvent, kafkaRecord } from '../../test/support/kafka';
import { onFailureRecord } from '../../test/support/on-failure';
import { parseOnFailureRecord } from './on-failure-record';

const fixtureText = readFileSync(
  join(__dirname, '../../test/fixtures/kafka-on-failure-s3-record.json'),
  'utf8',
);

function withChange(change: (document: Record<string, unknown>) => void): string {
  const document = JSON.parse(fixtureText) as Record<string, unknown>;
  change(document);
  return JSON.stringify(document);
}

describe('parseOnFailureRecord', () => {
  it('reads the documented S3 on-failure record and its payload, records in partition/offset order', () => {
    const parsed = parseOnFailureRecord(fixtureText);

    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.record.requestContext.condition).toBe('RetryAttemptsExhausted');
    expect(parsed.record.KafkaBatchInfo.recordsInfo['c4ang.saga.tracker-0']?.firstRecordOffset).toBe('15');
    expect(parsed.records.map((record) => [record.partition, record.offset])).toEqual([
      [0, 15],
      [0, 16],
      [1, 15],
    ]);
    expect(parsed.event.eventSource).toBe('aws:kafka');
  });

  it('names the missing field of a record that is not the documented shape', () => {
    const parsed = parseOnFailureRecord(
      withChange((document) => {
        delete (document.requestContext as Record<string, unknown>).condition;
      }),
    );

    expect(parsed).toEqual(expect.objectContaining({ ok: false, reason: 'MALFORMED_ON_FAILURE_RECORD' }));
    expect(!parsed.ok && parsed.message).toContain('requestContext.condition');
  });

  it('reports a document that is not JSON instead of throwing', () => {
    expect(parseOnFailureRecord('{"requestContext": ')).toEqual(
      expect.objectContaining({ ok: false, reason: 'MALFORMED_ON_FAILURE_RECORD' }),
    );
  });

  it('names the payload field that is not a Kafka event', () => {
    const parsed = parseOnFailureRecord(
      withChange((document) => {
        document.payload = JSON.stringify({ eventSource: 'aws:kafka', records: { 't-0': [{ topic: 't' }] } });
      }),
    );

    expect(!parsed.ok && parsed.reason).toBe('MALFORMED_ON_FAILURE_RECORD');
    expect(!parsed.ok && parsed.message).toContain('payload.records.t-0.0.partition');
  });

  it('reports a payload that is not JSON', () => {
    const parsed = parseOnFailureRecord(
      withChange((document) => {
        document.payload = '{oops';
      }),
    );

    expect(!parsed.ok && parsed.message).toMatch(/^payload is not JSON/);
  });

  it('says which offsets to fetch again when the record carries no payload', () => {
    const parsed = parseOnFailureRecord(
      withChange((document) => {
        delete document.payload;
        (document.requestContext as Record<string, unknown>).condition = 'MaximumPayloadSizeExceeded';
        document.responseContext = null;
      }),
    );

    expect(!parsed.ok && parsed.reason).toBe('PAYLOAD_MISSING');
    expect(!parsed.ok && parsed.message).toContain('c4ang.saga.tracker-0 offsets 15..16');
  });

  it('ignores fields AWS may add later', () => {
    const parsed = parseOnFailureRecord(
      withChange((document) => {
        document.somethingNew = { a: 1 };
      }),
    );

    expect(parsed.ok).toBe(true);
  });

  it('keeps a record listed twice in the payload once', () => {
    const record = kafkaRecord(Buffer.from('x'), { offset: 7 });
    const event = kafkaEvent([record, record]);

    const parsed = parseOnFailureRecord(JSON.stringify(onFailureRecord(event)));

    expect(parsed.ok && parsed.records).toHaveLength(1);
  });

  it('round-trips any batch the event source mapping could discard', () => {
    const records = fc
      .uniqueArray(
        fc.record({
          partition: fc.integer({ min: 0, max: 2 }),
          offset: fc.integer({ min: 0, max: 2 ** 40 }),
          value: fc.uint8Array({ maxLength: 40 }),
        }),
        { selector: (item) => `${item.partition}/${item.offset}`, minLength: 1, maxLength: 20 },
      )
      .map((items) =>
        items.map((item) =>
          kafkaRecord(Buffer.from(item.value), {
            partition: item.partition,
            offset: item.offset,
            headers: { 'producer-service': 'order' },
          }),
        ),
      );
    fc.assert(
      fc.property(records, (batch) => {
        const parsed = parseOnFailureRecord(JSON.stringify(onFailureRecord(kafkaEvent(batch))));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const sorted = [...batch].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
        expect(parsed.records).toEqual(sorted);
      }),
    );
  });
});
