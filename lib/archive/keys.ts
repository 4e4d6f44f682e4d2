/**
 * Object keys of the archive, Hive-style so Athena can partition on them:
 * `<prefix>/saga_type=<type>/year=YYYY/month=MM/day=DD/sagas-<sha256 of the bytes>.ndjson.gz`.
 * The day is the UTC day of the sagas' last update (what retention counts
 * from). Naming an object by its content makes a rerun after a crash write the
 * same key for the same bytes (an overwrite, never a duplicate) and a
 * different key for different bytes (never overwriting an object other sagas
 * point into).
 */
export interface ObjectKeyParts {
  readonly prefix: string;
  readonly sagaType: string;
  /** `YYYY-MM-DD` */
  readonly partitionDate: string;
  /** Hex SHA-256 of the object's bytes. */
  readonly contentSha256: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Hive escapes partition values; percent-encoding keeps `/`, `=` and the like out of the path structure. */
export function hivePartitionValue(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function archiveObjectKey(parts: ObjectKeyParts): string {
  const date = DATE.exec(parts.partitionDate);
  if (!date) throw new Error(`partition date must be YYYY-MM-DD, got ${JSON.stringify(parts.partitionDate)}`);
  if (!/^[0-9a-f]{64}$/.test(parts.contentSha256)) throw new Error('content hash must be a hex SHA-256');
  const [, year, month, day] = date;
  const path = [
    `saga_type=${hivePartitionValue(parts.sagaType)}`,
    `year=${year}`,
    `month=${month}`,
    `day=${day}`,
    `sagas-${parts.contentSha256.slice(0, 32)}.ndjson.gz`,
  ].join('/');
  return parts.prefix ? `${parts.prefix}/${path}` : path;
}
