import type pg from 'pg';
import { type ArchiveStack, createArchiveStack } from '../../lib/adapters/archive';
import type { ArchiveRunDeps, ArchiveRunOptions } from '../../lib/archive/archive';
import { archiveEligibleSagas } from '../../lib/archive/archive';
import type { ArchiveReport } from '../../lib/archive/report';
import type { ArchiveRules } from '../../lib/config/archive';
import { TERMINAL_STATUSES } from '../../lib/domain/saga-event';
import { consumeHandlerFor } from './consume';
import { createTestDatabase, type TestDatabase, truncateAll } from './database';
import { encodeAvro, kafkaEvent, kafkaRecord, type ProducedEvent, partitionOf } from './kafka';
import { type LocalS3, startLocalS3 } from './s3-server';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, type StepSpec, sagaEvents } from './sagas';

export const ARCHIVE_BUCKET = 'saga-archive-test';

/** The archiver's "now" in tests: fixed, so retention is decided the same way whatever the clock says. */
export const ARCHIVE_NOW = Date.UTC(2026, 9, 1, 12, 0, 0);
const DAY = 86_400_000;

/** A time `days` before ARCHIVE_NOW (plus a few hours, to spread sagas over a day). */
export function daysAgo(days: number, hours = 0): number {
  return ARCHIVE_NOW - days * DAY + hours * 3_600_000;
}

export const DEFAULT_RULES: ArchiveRules = {
  defaultRule: { retentionDays: 90, statuses: TERMINAL_STATUSES },
  byType: {},
};

export interface SagaSeed {
  readonly sagaId: string;
  readonly sagaType?: string;
  readonly steps?: readonly StepSpec[];
  readonly start: number;
}

/** Five steps ending COMPLETED, for sagas that need not be realistic orders. */
export const SHORT_COMPLETED: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVED', status: 'IN_PROGRESS', service: 'product' },
  { step: 'PAYMENT_INITIALIZATION', status: 'IN_PROGRESS', service: 'payment' },
  { step: 'PAYMENT_COMPLETED', status: 'COMPLETED', service: 'payment' },
  { step: 'ORDER_CONFIRMED', status: 'COMPLETED', service: 'order' },
];

export const STILL_RUNNING: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVATION', status: 'IN_PROGRESS', service: 'product' },
];

export function seedEvents(seeds: readonly SagaSeed[]): ProducedEvent[] {
  return seeds.flatMap((seed) =>
    sagaEvents(seed.steps ?? ORDER_CREATION_STEPS, {
      sagaId: seed.sagaId,
      sagaType: seed.sagaType ?? 'ORDER_CREATION',
      start: seed.start,
      gap: 1_237,
    }),
  );
}

const AVRO_SAGA_TYPES = new Set(['ORDER_CREATION', 'PAYMENT_COMPLETION']);
let nextOffset = 0;

/**
 * Ingests events through the real consume path, in batches: Confluent Avro
 * values, or plain JSON values for saga types the Avro enum does not know yet
 * (as a producer of a new type would send them).
 */
export async function ingestEvents(
  pool: pg.Pool,
  events: readonly ProducedEvent[],
  batch = 700,
): Promise<void> {
  const consume = consumeHandlerFor(pool);
  for (let start = 0; start < events.length; start += batch) {
    const records = events.slice(start, start + batch).map((event) =>
      kafkaRecord(
        AVRO_SAGA_TYPES.has(event.sagaType) ? encodeAvro(event) : Buffer.from(JSON.stringify(event)),
        {
          partition: partitionOf(event.sagaId, 3),
          offset: nextOffset++,
          key: event.sagaId,
          headers: { 'producer-service': 'order' },
        },
      ),
    );
    const result = (await consume(kafkaEvent(records))) as { deadLettered: number };
    if (result.deadLettered > 0) throw new Error(`${result.deadLettered} test events were dead-lettered`);
  }
}

export function ingestSagas(pool: pg.Pool, seeds: readonly SagaSeed[]): Promise<void> {
  return ingestEvents(pool, seedEvents(seeds));
}

/** A varied set: three saga types, several days, failures with compensations, a few still running. */
export function variedSeeds(
  count: number,
  options: { prefix?: string; oldestDays?: number } = {},
): SagaSeed[] {
  const prefix = options.prefix ?? 'saga';
  const oldest = options.oldestDays ?? 130;
  const types = ['ORDER_CREATION', 'PAYMENT_COMPLETION', 'REFUND'];
  return Array.from({ length: count }, (_, index) => ({
    sagaId: `${prefix}-${String(index).padStart(5, '0')}`,
    sagaType: types[index % types.length] ?? 'ORDER_CREATION',
    steps: index % 5 === 1 ? PAYMENT_FAILURE_STEPS : index % 5 === 3 ? SHORT_COMPLETED : ORDER_CREATION_STEPS,
    // Spread over four days, several sagas per hour; the odd millisecond makes timestamps non-round.
    start: daysAgo(oldest - (index % 4), (index * 7) % 24) + (index % 997),
  }));
}

export interface ArchiveHarness {
  readonly stack: ArchiveStack;
  run(options?: Partial<ArchiveRunOptions>, deps?: Partial<ArchiveRunDeps>): Promise<ArchiveReport>;
}

/** The real archiver over a test database and the local S3 server. */
export function archiveHarness(pool: pg.Pool, s3: LocalS3): ArchiveHarness {
  const stack = createArchiveStack(pool, s3.client, ARCHIVE_BUCKET);
  return {
    stack,
    run: (options = {}, deps = {}) =>
      archiveEligibleSagas(
        { store: stack.store, storage: stack.storage, reader: stack.reader, now: () => ARCHIVE_NOW, ...deps },
        {
          rules: DEFAULT_RULES,
          prefix: 'sagas',
          chunkSize: 1_000,
          timeBudgetMs: 600_000,
          gzipLevel: 6,
          leaseMs: 120_000,
          ...options,
        },
      ),
  };
}

/** Rows with every column as PostgreSQL's text output (UTC, ISO), plus each column's type. */
export interface RawRows {
  readonly rows: Array<Record<string, string | null>>;
  readonly types: Record<string, number>;
}

const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/** Reads a table exactly as PostgreSQL prints it: no driver-side parsing, no lost microseconds. */
export async function rawRows(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<RawRows> {
  const client = await pool.connect();
  try {
    await client.query(`SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'`);
    const result = await client.query({ text: sql, values: params, types: RAW_TEXT });
    return {
      rows: result.rows,
      types: Object.fromEntries(result.fields.map((field) => [field.name, field.dataTypeID])),
    };
  } finally {
    await client.query('RESET ALL');
    client.release();
  }
}

const TIMESTAMPTZ = 1184;
const INT4 = 23;
const INT8 = 20;
const JSONB = 3802;

/**
 * PostgreSQL's text form of a value, turned into the form the archive keeps
 * (PostgreSQL's JSON form): `2026-06-01 09:00:00.12+00` → `2026-06-01T09:00:00.12+00:00`,
 * integers as numbers, jsonb parsed, bytea and text as they are.
 */
export function archivedForm(type: number, text: string | null): unknown {
  if (text === null) return null;
  switch (type) {
    case TIMESTAMPTZ: {
      const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)\+00$/.exec(text);
      if (!match) throw new Error(`unexpected timestamptz text ${text}`);
      return `${match[1]}T${match[2]}+00:00`;
    }
    case INT4:
    case INT8:
      return Number(text);
    case JSONB:
      return JSON.parse(text);
    default:
      return text;
  }
}

/** Every row of `raw` in the archive's form, column by column. */
export function inArchivedForm(raw: RawRows): Array<Record<string, unknown>> {
  return raw.rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([column, text]) => [column, archivedForm(raw.types[column] ?? 0, text)]),
    ),
  );
}

export async function hotSagaIds(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ saga_id: string }>(
    'SELECT saga_id FROM saga_instance ORDER BY saga_id',
  );
  return rows.map((row) => row.saga_id);
}

export async function archivedSagaIds(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ saga_id: string }>(
    'SELECT saga_id FROM saga_archive_index ORDER BY saga_id',
  );
  return rows.map((row) => row.saga_id);
}

export interface ArchiveTestBed {
  readonly db: TestDatabase;
  readonly s3: LocalS3;
  readonly archive: ArchiveHarness;
}

/**
 * Registers the hooks of an archive test file: a database of its own, a local
 * S3 server with the archive bucket, the archive harness over both, and
 * (unless the file shares state across tests) empty tables before each test.
 */
export function useArchiveTestBed(options: { emptyTablesBeforeEach?: boolean } = {}): ArchiveTestBed {
  const bed = {} as { db: TestDatabase; s3: LocalS3; archive: ArchiveHarness };
  beforeAll(async () => {
    bed.db = await createTestDatabase();
    bed.s3 = await startLocalS3([ARCHIVE_BUCKET]);
    bed.archive = archiveHarness(bed.db.pool, bed.s3);
  });
  afterAll(async () => {
    await bed.s3.close();
    await bed.db.drop();
  });
  if (options.emptyTablesBeforeEach ?? true) beforeEach(() => truncateAll(bed.db.pool));
  return bed;
}
