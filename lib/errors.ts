/**
 * The one error hierarchy of the project. Every error keeps its `cause`; the
 * HTTP layer maps `HttpError` subclasses to responses and anything else to a
 * 500 that carries no internals.
 */
export class SagaTrackerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration variable is missing or malformed; raised at cold start. */
export class ConfigError extends SagaTrackerError {}

/**
 * A failure that may succeed when retried (database or registry unreachable,
 * timeouts, serialization failures). The consume function lets it escape so the
 * event source mapping retries the whole batch.
 */
export class TransientError extends SagaTrackerError {}

/** Reasons a Kafka record is kept as a dead letter instead of being applied. */
export const DEAD_LETTER_REASONS = [
  'MISSING_VALUE',
  'INVALID_MAGIC_BYTE',
  'MALFORMED_AVRO',
  'MALFORMED_JSON',
  'UNKNOWN_SCHEMA_ID',
  'UNSUPPORTED_SCHEMA',
  'VALIDATION_FAILED',
  'EVENT_ID_CONFLICT',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** A failure that is permanent for one record: retrying the same bytes cannot help. */
export class PermanentRecordError extends SagaTrackerError {
  constructor(
    readonly reason: DeadLetterReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Archived bytes that fail verification (checksum, length, framing, content)
 * or an archived object that is missing: the archive is damaged, and the reader
 * refuses to answer rather than return wrong data.
 */
export class ArchiveIntegrityError extends SagaTrackerError {
  constructor(
    readonly sagaId: string,
    readonly objectKey: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`archive of saga ${sagaId} in ${objectKey}: ${message}`, options);
  }
}

export type HttpErrorCode =
  | 'BAD_REQUEST'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'INTERNAL_ERROR'
  | 'SERVICE_UNAVAILABLE';

/** An error with a stable HTTP status and code, safe to show to the caller. */
export class HttpError extends SagaTrackerError {
  constructor(
    readonly statusCode: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class BadRequestError extends HttpError {
  constructor(message: string, details?: unknown, options?: { cause?: unknown }) {
    super(400, 'BAD_REQUEST', message, details, options);
  }
}

export class ForbiddenError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(403, 'FORBIDDEN', message, details);
  }
}

export class NotFoundError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(404, 'NOT_FOUND', message, details);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(405, 'METHOD_NOT_ALLOWED', message, details);
  }
}

export class ConflictError extends HttpError {
  constructor(message: string, details?: unknown) {
    super(409, 'CONFLICT', message, details);
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, 'SERVICE_UNAVAILABLE', message, undefined, options);
  }
}
