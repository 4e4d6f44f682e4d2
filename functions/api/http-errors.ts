import type { Logger } from '@aws-lambda-powertools/logger';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ArchiveUnavailableError } from '../../lib/adapters/archive-storage';
import { isTransientDbError } from '../../lib/adapters/pg/transaction';
import type { HttpErrorCode } from '../../lib/errors';
import { ArchiveIntegrityError, HttpError, ServiceUnavailableError } from '../../lib/errors';
import { ReplayInterruptedError } from '../../lib/redrive/api';
import type { ApiEvent, ApiResponse } from './router';

/** SPEC §4 error body. */
export interface ErrorBody {
  error: HttpErrorCode;
  message: string;
  timestamp: string;
  path: string;
  details: unknown;
}

const CODES_BY_STATUS: Readonly<Record<number, HttpErrorCode>> = {
  400: 'BAD_REQUEST',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
};

/** Errors of middy's own middlewares carry a statusCode and `expose` for client errors. */
function isExposedClientError(error: unknown): error is { statusCode: number; message: string } {
  const candidate = error as { statusCode?: unknown; expose?: unknown } | null;
  return (
    typeof candidate?.statusCode === 'number' &&
    candidate.statusCode >= 400 &&
    candidate.statusCode < 500 &&
    candidate.expose === true
  );
}

/** middy answers this when the Lambda is about to time out (a query slower than the function's timeout). */
function isMiddyTimeout(error: unknown): boolean {
  const cause = (error as { cause?: { package?: unknown } } | null)?.cause;
  return error instanceof Error && error.name === 'TimeoutError' && cause?.package === '@middy/core';
}

/**
 * What the caller may see of an error. HTTP errors are shown as they are; an
 * unreachable database, archive bucket or schema registry is a 503 to retry;
 * a damaged archive is a 500 that says so (never wrong data); anything else is
 * a 500 whose only detail is the request id (the log has the rest).
 */
export function toHttpError(error: unknown, requestId: string): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ArchiveIntegrityError) {
    // Which object and what failed go to the log, not to the caller.
    return new HttpError(
      500,
      'INTERNAL_ERROR',
      `the archived copy of saga ${error.sagaId} failed its integrity check and is not served; operators must repair it (request id ${requestId})`,
      { requestId },
      { cause: error },
    );
  }
  if (error instanceof ArchiveUnavailableError) {
    return new ServiceUnavailableError('the archive storage (S3) is unavailable; retry later', {
      cause: error,
    });
  }
  if (error instanceof ReplayInterruptedError) {
    return new ServiceUnavailableError(
      'the replay was interrupted (the database or the schema registry is unavailable); what was replayed stays replayed: retry the request',
      { cause: error },
    );
  }
  if (isTransientDbError(error)) {
    return new ServiceUnavailableError('the database is unavailable; retry later', { cause: error });
  }
  if (isMiddyTimeout(error)) {
    return new ServiceUnavailableError('the request took too long; narrow the search or retry', {
      cause: error,
    });
  }
  if (isExposedClientError(error)) {
    return new HttpError(error.statusCode, CODES_BY_STATUS[error.statusCode] ?? 'BAD_REQUEST', error.message);
  }
  return new HttpError(
    500,
    'INTERNAL_ERROR',
    `internal error (request id ${requestId})`,
    { requestId },
    {
      cause: error,
    },
  );
}

export function errorResponse(error: HttpError, path: string, now: Date, requestId: string): ApiResponse {
  const body: ErrorBody = {
    error: error.code,
    message: error.message,
    timestamp: now.toISOString(),
    path,
    details: error.statusCode >= 500 ? { requestId } : (error.details ?? null),
  };
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  };
  const allowed = (error.details as { allowed?: unknown } | undefined)?.allowed;
  if (error.statusCode === 405 && Array.isArray(allowed)) headers.allow = allowed.join(', ');
  if (error.statusCode === 503) headers['retry-after'] = '5';
  return { statusCode: error.statusCode, headers, body: JSON.stringify(body) };
}

export interface HttpErrorResponsesOptions {
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** The one place where errors become HTTP responses (SPEC §4 error format). */
export function httpErrorResponses(
  options: HttpErrorResponsesOptions,
): middy.MiddlewareObj<ApiEvent, ApiResponse, Error, Context> {
  const now = options.now ?? (() => new Date());
  return {
    onError: async (request) => {
      if (request.response !== undefined) return;
      const requestId = request.event?.requestContext?.requestId ?? request.context.awsRequestId;
      const error = toHttpError(request.error, requestId);
      if (error.statusCode >= 500) {
        options.logger.error('request failed', {
          statusCode: error.statusCode,
          requestId,
          error: request.error ?? undefined,
        });
      } else {
        options.logger.info('request refused', { statusCode: error.statusCode, message: error.message });
      }
      request.response = errorResponse(error, request.event?.rawPath ?? '', now(), requestId);
    },
  };
}
