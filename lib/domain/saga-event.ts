import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';

export const SAGA_STATUSES = ['STARTED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'COMPENSATED'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];
export const TERMINAL_STATUSES: readonly SagaStatus[] = ['COMPLETED', 'FAILED', 'COMPENSATED'];
export const ACTIVE_STATUSES: readonly SagaStatus[] = ['STARTED', 'IN_PROGRESS'];

/** Bounds no real event falls outside: they keep a stray clock from pinning a saga's state. */
export const EARLIEST_EVENT_TIME = Date.UTC(2000, 0, 1);

export type JsonObject = { [key: string]: unknown };

/** A saga event as producers send it (SPEC §2), after decoding and validation. */
export interface SagaEvent {
  readonly eventId: string;
  readonly eventTimestamp: number;
  readonly sagaId: string;
  /** Open set: new saga types are ingested as their string. */
  readonly sagaType: string;
  readonly step: string;
  readonly status: SagaStatus;
  readonly orderId: string;
  readonly metadata: JsonObject | null;
  readonly recordedAt: number;
}

function hasNul(value: string): boolean {
  return value.includes('\u0000');
}

/** The first reason `value` cannot be stored in a varchar(max) column, or undefined. */
function textProblem(value: string, max: number): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > max) return `must be at most ${max} characters`;
  // PostgreSQL text and jsonb reject NUL and lone surrogates; letting them through
  // would fail the whole batch as if the database were down.
  if (hasNul(value)) return 'must not contain NUL characters';
  if (!value.isWellFormed()) return 'must be well-formed Unicode';
  return undefined;
}

// One check per field rather than a chain of refinements: this runs for every
// event of every batch, and each zod refinement has a cost of its own.
function storableText(max: number) {
  return z.string().check((ctx) => {
    const problem = textProblem(ctx.value, max);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
  });
}

function findUnstorableJson(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') {
    if (hasNul(value)) return `${path} contains a NUL character`;
    if (!value.isWellFormed()) return `${path} is not well-formed Unicode`;
    return undefined;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return `${path} is not a finite number`;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = findUnstorableJson(item, `${path}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = findUnstorableJson(key, `${path} key ${JSON.stringify(key)}`);
      if (keyProblem) return keyProblem;
      const problem = findUnstorableJson(item, `${path}.${key}`);
      if (problem) return problem;
    }
  }
  return undefined;
}

function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Metadata arrives as a JSON string (Avro) or as an object (JSON records). */
const metadataSchema = z
  .unknown()
  .optional()
  .transform((value, ctx): JsonObject | null => {
    if (value === undefined || value === null) return null;
    let parsed: unknown = value;
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object (the string is not valid JSON)' });
        return z.NEVER;
      }
    } else if (!isJsonObject(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object, a JSON object as a string, or null' });
      return z.NEVER;
    }
    if (!isJsonObject(parsed)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return z.NEVER;
    }
    const problem = findUnstorableJson(parsed, 'metadata');
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return parsed;
  });

function epochMillis(latest: () => number) {
  return z.number().check((ctx) => {
    const value = ctx.value;
    const problem = !Number.isSafeInteger(value)
      ? 'must be an integer (epoch milliseconds)'
      : value < EARLIEST_EVENT_TIME
        ? 'is before 2000-01-01'
        : value > latest()
          ? 'is too far in the future'
          : undefined;
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: value });
  });
}

/**
 * The one validation of a decoded event. `maxFutureMs` bounds clock skew: an
 * event dated far ahead would stay "latest" for ever and pin its saga.
 */
export function sagaEventSchema(options: { now?: () => number; maxFutureMs?: number } = {}) {
  const now = options.now ?? Date.now;
  const maxFutureMs = options.maxFutureMs ?? 86_400_000;
  const latest = () => now() + maxFutureMs;
  return z.object({
    eventId: storableText(100),
    eventTimestamp: epochMillis(latest),
    sagaId: storableText(100),
    sagaType: storableText(50),
    step: storableText(100),
    status: z.enum(SAGA_STATUSES),
    orderId: storableText(100),
    metadata: metadataSchema,
    recordedAt: epochMillis(latest),
  });
}

/** Human-readable summary of a zod error, naming each field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'event'}: ${issue.message}`)
    .join('; ');
}

/**
 * Whether two events with the same id carry the same content: every Avro field,
 * metadata compared as a JSON object (key order does not matter, as in jsonb).
 * Kafka key, headers and offsets are not content.
 */
export function sameEventContent(a: SagaEvent, b: SagaEvent): boolean {
  return (
    a.eventId === b.eventId &&
    a.eventTimestamp === b.eventTimestamp &&
    a.sagaId === b.sagaId &&
    a.sagaType === b.sagaType &&
    a.step === b.step &&
    a.status === b.status &&
    a.orderId === b.orderId &&
    a.recordedAt === b.recordedAt &&
    isDeepStrictEqual(a.metadata, b.metadata)
  );
}

/** The trace id of a step is `metadata.traceId` when it is a string that fits. */
export function traceIdOf(metadata: JsonObject | null): string | null {
  const traceId = metadata?.traceId;
  return typeof traceId === 'string' && traceId.length > 0 && traceId.length <= 100 ? traceId : null;
}
