import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/**
 * gzip-member framing: each saga's line is compressed as its own gzip member
 * and the members are concatenated. RFC 1952 defines a file of several
 * members as the concatenation of their contents, so the object is an
 * ordinary `.ndjson.gz` for zcat, Athena and Spark, while one member, read
 * with a ranged GET of its offset and length, decompresses alone to one line.
 */
export interface MemberRef {
  readonly offset: number;
  readonly length: number;
  /** SHA-256 of the member's compressed bytes. */
  readonly sha256: Buffer;
}

export interface EncodedObject {
  readonly body: Buffer;
  readonly members: readonly MemberRef[];
  /** SHA-256 of the whole body, hex (object key) and base64 (S3 checksum). */
  readonly sha256Hex: string;
  readonly sha256Base64: string;
  /** Uncompressed bytes, for the report. */
  readonly rawBytes: number;
}

export function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/**
 * Compresses each line (which must end with "\n") as its own member. The
 * members compress on the libuv threadpool, so several cores work at once and
 * the event loop stays free for the database and S3 calls of other objects.
 */
export async function encodeGzipMembers(lines: readonly string[], level = 6): Promise<EncodedObject> {
  for (const line of lines) {
    if (!line.endsWith('\n') || line.indexOf('\n') !== line.length - 1)
      throw new Error('each line must hold exactly one newline, at its end');
  }
  const raws = lines.map((line) => Buffer.from(line, 'utf8'));
  const parts = await Promise.all(raws.map((raw) => gzipAsync(raw, { level })));
  const members: MemberRef[] = [];
  let offset = 0;
  for (const member of parts) {
    members.push({ offset, length: member.length, sha256: sha256(member) });
    offset += member.length;
  }
  const body = Buffer.concat(parts, offset);
  const digest = createHash('sha256').update(body).digest();
  return {
    body,
    members,
    sha256Hex: digest.toString('hex'),
    sha256Base64: digest.toString('base64'),
    rawBytes: raws.reduce((sum, raw) => sum + raw.length, 0),
  };
}

/** Why `bytes` are not the member `expected` describes, or null when they are. */
export function memberProblem(bytes: Buffer, expected: Pick<MemberRef, 'length' | 'sha256'>): string | null {
  if (bytes.length !== expected.length)
    return `expected ${expected.length} bytes, read ${bytes.length} (object truncated or replaced)`;
  if (!sha256(bytes).equals(expected.sha256)) return 'SHA-256 of the saga member does not match the index';
  return null;
}

/** Decompresses one member (the whole object works too: members concatenate). */
export function gunzipMember(bytes: Buffer): string {
  return gunzipSync(bytes).toString('utf8');
}
