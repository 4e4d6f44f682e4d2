import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BadRequestError } from '../errors';
import type { KeysetPosition, SearchFilters, Sort } from './search-criteria';
import { formatSort, parseSort, SORT_VALUES } from './search-criteria';

/**
 * A keyset cursor: the sort, the position of the last row returned, and a
 * fingerprint of the filters. Opaque to clients (base64url JSON); not secret —
 * editing one only moves where the next page starts, within the caller's own query.
 */
export interface Cursor {
  readonly sort: Sort;
  readonly after: KeysetPosition;
  readonly filtersFingerprint: string;
}

const MAX_CURSOR_LENGTH = 1_000;
/** 9999-12-31T23:59:59.999999Z: beyond it neither a JS Date nor an ISO year of four digits holds the position. */
const MAX_MICROS = 253_402_300_799_999_999n;

const cursorBody = z.object({
  v: z.literal(1),
  s: z.enum(SORT_VALUES),
  t: z.string().regex(/^\d{1,19}$/),
  id: z.string().min(1).max(100),
  f: z.string().regex(/^[0-9a-f]{16}$/),
});

/** Identifies a search's filters, so a cursor is not reused with other ones. */
export function filtersFingerprint(filters: SearchFilters): string {
  // Positional, so the fingerprint does not depend on the order the filters were given in.
  // includeArchived is appended only when set: cursors of hot-only searches keep their fingerprint.
  const canonical = JSON.stringify([
    filters.orderId ?? null,
    filters.sagaType ?? null,
    filters.status ?? null,
    filters.from?.toISOString() ?? null,
    filters.to?.toISOString() ?? null,
    filters.traceId ?? null,
    filters.step ?? null,
    [...(filters.metadata ?? [])]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((filter) => [filter.key, filter.values]),
    filters.stuckForSeconds ?? null,
    ...(filters.includeArchived ? ['includeArchived'] : []),
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function encodeCursor(cursor: Cursor): string {
  const body: z.input<typeof cursorBody> = {
    v: 1,
    s: formatSort(cursor.sort),
    t: cursor.after.micros.toString(),
    id: cursor.after.sagaId,
    f: cursor.filtersFingerprint,
  };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

function malformed(reason: string): BadRequestError {
  return new BadRequestError(`cursor: ${reason}`, { parameter: 'cursor' });
}

/** Reads a cursor a client sent back; anything that is not one of ours is a 400 naming `cursor`. */
export function decodeCursor(text: string): Cursor {
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw malformed('is not a cursor returned by this API (malformed)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw malformed('is not a cursor returned by this API (malformed)');
  }
  const body = cursorBody.safeParse(parsed);
  if (!body.success) throw malformed('is not a cursor returned by this API (malformed)');
  const micros = BigInt(body.data.t);
  if (micros > MAX_MICROS) throw malformed('is not a cursor returned by this API (out of range)');
  return {
    sort: parseSort(body.data.s),
    after: { micros, sagaId: body.data.id },
    filtersFingerprint: body.data.f,
  };
}

/**
 * Microseconds since the epoch as an ISO 8601 timestamp with all six fraction
 * digits: PostgreSQL keeps microseconds, a JS Date only milliseconds, and a
 * keyset position must not lose the difference.
 */
export function microsToIso(micros: bigint): string {
  const millis = micros / 1000n;
  const rest = micros % 1000n;
  const iso = new Date(Number(millis)).toISOString();
  return `${iso.slice(0, 23)}${rest.toString().padStart(3, '0')}Z`;
}
