import fc from 'fast-check';
import { BadRequestError } from '../errors';
import { decodeCursor, encodeCursor, filtersFingerprint, microsToIso } from './cursor';
import { parseSort, SORT_VALUES } from './search-criteria';

describe('cursor', () => {
  it('round-trips any position, sort and fingerprint', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SORT_VALUES),
        fc.bigInt({ min: 0n, max: 253_402_300_799_999_999n }),
        fc.string({ minLength: 1, maxLength: 100 }),
        fc.stringMatching(/^[0-9a-f]{16}$/),
        (sort, micros, sagaId, fingerprint) => {
          const cursor = {
            sort: parseSort(sort),
            after: { micros, sagaId },
            filtersFingerprint: fingerprint,
          };
          const text = encodeCursor(cursor);
          expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(decodeCursor(text)).toEqual(cursor);
        },
      ),
    );
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('{nope').toString('base64url')],
    [
      'another version',
      Buffer.from(JSON.stringify({ v: 2, s: 'startedAt,desc', t: '1', id: 'a', f: '0'.repeat(16) })).toString(
        'base64url',
      ),
    ],
    [
      'an unknown sort',
      Buffer.from(JSON.stringify({ v: 1, s: 'x,asc', t: '1', id: 'a', f: '0'.repeat(16) })).toString(
        'base64url',
      ),
    ],
    [
      'a position beyond year 9999',
      Buffer.from(
        JSON.stringify({ v: 1, s: 'startedAt,asc', t: '9'.repeat(19), id: 'a', f: '0'.repeat(16) }),
      ).toString('base64url'),
    ],
    ['too long', 'a'.repeat(1_001)],
  ])('refuses a cursor that is %s with a 400 naming cursor', (_name, text) => {
    expect(() => decodeCursor(text)).toThrow(BadRequestError);
    expect(() => decodeCursor(text)).toThrow(/^cursor: /);
  });

  it('fingerprints filters regardless of the order metadata filters were given in', () => {
    const a = { key: 'a', values: ['1', 1] };
    const b = { key: 'b', values: ['x'] };
    expect(filtersFingerprint({ status: 'FAILED', metadata: [a, b] })).toBe(
      filtersFingerprint({ metadata: [b, a], status: 'FAILED' }),
    );
    expect(filtersFingerprint({ status: 'FAILED' })).not.toBe(filtersFingerprint({ status: 'COMPLETED' }));
    expect(filtersFingerprint({ from: new Date(0) })).not.toBe(filtersFingerprint({ from: new Date(1) }));
  });
});

describe('microsToIso', () => {
  it('keeps all six fraction digits', () => {
    expect(microsToIso(1_764_064_800_123_456n)).toBe('2025-11-25T10:00:00.123456Z');
    expect(microsToIso(1_764_064_800_000_001n)).toBe('2025-11-25T10:00:00.000001Z');
    expect(microsToIso(0n)).toBe('1970-01-01T00:00:00.000000Z');
  });
});
