/**
 * Makes any text storable in a PostgreSQL text or jsonb column: NUL becomes a
 * visible escape, lone surrogates become U+FFFD, and it is capped in length.
 * Used for messages and labels built from untrusted input (error texts quote
 * the bytes that failed).
 */
export function storableText(text: string, maxLength = 2000): string {
  const safe = text.replaceAll('\u0000', '\\u0000').toWellFormed();
  return safe.length > maxLength ? `${safe.slice(0, maxLength - 1)}…` : safe;
}

/** ISO 8601 UTC of an epoch-millisecond value, or null when it is not a real instant. */
export function isoOrNull(epochMillis: number | null | undefined): string | null {
  if (epochMillis === null || epochMillis === undefined || !Number.isFinite(epochMillis) || epochMillis < 0)
    return null;
  const date = new Date(epochMillis);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
