import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { ArchiveStorage } from '../archive/ports';
import { TransientError } from '../errors';

/** An upload S3 did not confirm as the bytes sent: retrying the run may succeed. */
export class ArchiveUploadError extends TransientError {}

/** The archive bucket did not answer (network, throttling, 5xx, timeout): retrying later may succeed. */
export class ArchiveUnavailableError extends TransientError {}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404)
  );
}

function isRangeNotSatisfiable(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'InvalidRange' || error.$metadata.httpStatusCode === 416)
  );
}

function unavailable(what: string, error: unknown): ArchiveUnavailableError {
  return new ArchiveUnavailableError(`S3 unavailable during ${what}: ${(error as Error).message}`, {
    cause: error,
  });
}

/** The archive bucket through the AWS SDK (real S3, or a local S3-compatible server). */
export class S3ArchiveStorage implements ArchiveStorage {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /**
   * Uploads with `x-amz-checksum-sha256` (real S3 rejects bytes that do not
   * match it), then confirms with a HEAD: the size must match, and so must the
   * checksum when the server reports one. The caller deletes hot rows only
   * after this returns.
   */
  async putObject(key: string, body: Buffer, sha256Base64: string): Promise<void> {
    let put: { ChecksumSHA256?: string | undefined };
    try {
      put = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: 'application/gzip',
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: sha256Base64,
        }),
      );
    } catch (error) {
      throw unavailable(`upload of ${key}`, error);
    }
    if (put.ChecksumSHA256 !== undefined && put.ChecksumSHA256 !== sha256Base64)
      throw new ArchiveUploadError(
        `S3 stored ${key} with checksum ${put.ChecksumSHA256}, expected ${sha256Base64}`,
      );
    let head: { ContentLength?: number | undefined; ChecksumSHA256?: string | undefined };
    try {
      head = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }),
      );
    } catch (error) {
      if (isNotFound(error))
        throw new ArchiveUploadError(`${key} is missing right after its upload`, { cause: error });
      throw unavailable(`confirmation of ${key}`, error);
    }
    if (head.ContentLength !== body.length)
      throw new ArchiveUploadError(`${key} holds ${head.ContentLength} bytes, ${body.length} were uploaded`);
    if (head.ChecksumSHA256 !== undefined && head.ChecksumSHA256 !== sha256Base64)
      throw new ArchiveUploadError(`${key} has checksum ${head.ChecksumSHA256}, expected ${sha256Base64}`);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer | null> {
    try {
      const answer = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
      if (!answer.Body) return Buffer.alloc(0);
      return Buffer.from(await answer.Body.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return null;
      if (isRangeNotSatisfiable(error)) return Buffer.alloc(0);
      throw unavailable(`read of ${key}`, error);
    }
  }

  async deleteObject(key: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw unavailable(`delete of ${key}`, error);
    }
  }
}
