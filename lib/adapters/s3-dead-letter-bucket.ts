import type { S3Client } from '@aws-sdk/client-s3';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';

/** Where redriven batches go, under the same bucket: kept for audit, out of the way of the next run. */
export const REDRIVEN_PREFIX = 'redriven/';

export interface DeadLetterObject {
  readonly key: string;
  readonly etag: string;
  readonly lastModified: Date;
  readonly size: number;
}

export type MoveOutcome =
  /** The object now sits under `redriven/` and is gone from its old key. */
  | 'moved'
  /** The key holds another body now (a different ETag): left alone. */
  | 'changed';

/** The S3 bucket the Kafka event source mapping writes discarded batches to. */
export interface DeadLetterBucket {
  readonly name: string;
  /** Objects waiting for redrive (anything outside `redriven/`), oldest first. */
  list(options: { prefix?: string; since?: Date }): Promise<DeadLetterObject[]>;
  /** The object's body and ETag; null when it is gone (another run moved it meanwhile). */
  get(key: string): Promise<{ body: string; etag: string } | null>;
  /** Moves a redriven object to `redriven/<key>`; safe to repeat and to race with another mover. */
  moveToRedriven(key: string, etag: string): Promise<MoveOutcome>;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

function isPreconditionFailed(error: unknown): boolean {
  return (error as { name?: string }).name === 'PreconditionFailed' || statusOf(error) === 412;
}

/** CopySource is `bucket/key` with the key URL-encoded segment by segment. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export class S3DeadLetterBucket implements DeadLetterBucket {
  constructor(
    private readonly s3: S3Client,
    readonly name: string,
  ) {}

  async list(options: { prefix?: string; since?: Date }): Promise<DeadLetterObject[]> {
    const objects: DeadLetterObject[] = [];
    const pages = paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.name, ...(options.prefix ? { Prefix: options.prefix } : {}) },
    );
    for await (const page of pages) {
      for (const item of page.Contents ?? []) {
        if (!item.Key || item.Key.startsWith(REDRIVEN_PREFIX) || item.Key.endsWith('/')) continue;
        const lastModified = item.LastModified ?? new Date(0);
        if (options.since && lastModified < options.since) continue;
        objects.push({ key: item.Key, etag: item.ETag ?? '', lastModified, size: item.Size ?? 0 });
      }
    }
    return objects.sort(
      (a, b) =>
        a.lastModified.getTime() - b.lastModified.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    );
  }

  async get(key: string): Promise<{ body: string; etag: string } | null> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      return { body: (await answer.Body?.transformToString('utf8')) ?? '', etag: answer.ETag ?? '' };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /**
   * Copy, then delete, each step conditional on the ETag the redrive applied:
   * the copy only from that body and only onto a free key (If-None-Match), the
   * delete only of that body (If-Match). Real S3 enforces the conditions;
   * servers that ignore them (the local s3rver) still end in the same state,
   * because the database decided beforehand that this object was applied.
   */
  async moveToRedriven(key: string, etag: string): Promise<MoveOutcome> {
    const target = `${REDRIVEN_PREFIX}${key}`;
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.name,
          Key: target,
          CopySource: copySource(this.name, key),
          CopySourceIfMatch: etag,
          IfNoneMatch: '*',
        }),
      );
    } catch (error) {
      if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
      // Either another run copied it first, or the key holds another body now.
      if (!(await this.exists(target))) return 'changed';
    }
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.name, Key: key, IfMatch: etag }));
    } catch (error) {
      if (isPreconditionFailed(error)) return 'changed';
      if (!isNotFound(error)) throw error;
    }
    return 'moved';
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}
