import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { ArchiveReader } from '../archive/reader';
import { S3ArchiveStorage } from './archive-storage';
import { PgArchiveIndex } from './pg/archive-index';
import { PgArchiveStore } from './pg/archive-store';

/** The archive's adapters over one pool and one S3 client (create once per Lambda environment). */
export interface ArchiveStack {
  readonly store: PgArchiveStore;
  readonly index: PgArchiveIndex;
  readonly storage: S3ArchiveStorage;
  readonly reader: ArchiveReader;
}

export function createArchiveStack(pool: pg.Pool, s3: S3Client, bucket: string): ArchiveStack {
  const storage = new S3ArchiveStorage(s3, bucket);
  const index = new PgArchiveIndex(pool);
  return { store: new PgArchiveStore(pool), index, storage, reader: new ArchiveReader({ index, storage }) };
}

/** What the API needs to answer for archived sagas: `readArchivedSaga`, `searchArchived`. */
export function createArchiveReader(pool: pg.Pool, s3: S3Client, bucket: string): ArchiveReader {
  return createArchiveStack(pool, s3, bucket).reader;
}
