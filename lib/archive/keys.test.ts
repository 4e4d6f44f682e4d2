import { archiveObjectKey, hivePartitionValue } from './keys';

const HASH = 'ab'.repeat(32);

describe('archive object keys', () => {
  it('are Hive-style partitions by saga type and UTC day, named by the content hash', () => {
    expect(
      archiveObjectKey({
        prefix: 'sagas',
        sagaType: 'ORDER_CREATION',
        partitionDate: '2026-06-03',
        contentSha256: HASH,
      }),
    ).toBe(`sagas/saga_type=ORDER_CREATION/year=2026/month=06/day=03/sagas-${'ab'.repeat(16)}.ndjson.gz`);
  });

  it('work without a prefix', () => {
    expect(
      archiveObjectKey({ prefix: '', sagaType: 'REFUND', partitionDate: '2026-01-31', contentSha256: HASH }),
    ).toMatch(/^saga_type=REFUND\/year=2026\/month=01\/day=31\//);
  });

  it('escape saga types that would break the path structure', () => {
    expect(hivePartitionValue('A/B=C %x')).toBe('A%2FB%3DC%20%25x');
    expect(hivePartitionValue("it's(*)!")).toBe('it%27s%28%2A%29%21');
    expect(
      archiveObjectKey({
        prefix: 'p',
        sagaType: '../x',
        partitionDate: '2026-01-01',
        contentSha256: HASH,
      }).split('/'),
    ).toHaveLength(6);
  });

  it('refuse malformed parts', () => {
    expect(() =>
      archiveObjectKey({ prefix: 'p', sagaType: 'T', partitionDate: '2026-1-1', contentSha256: HASH }),
    ).toThrow(/YYYY-MM-DD/);
    expect(() =>
      archiveObjectKey({ prefix: 'p', sagaType: 'T', partitionDate: '2026-01-01', contentSha256: 'xyz' }),
    ).toThrow(/SHA-256/);
  });
});
