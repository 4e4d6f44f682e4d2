import { setTimeout as sleep } from 'node:timers/promises';
import type { RemoteWriteAuth } from './auth';
import { noAuth } from './auth';
import { REMOTE_WRITE_HEADERS } from './write-request';

export interface RemoteWriteClientOptions {
  readonly url: string;
  readonly auth?: RemoteWriteAuth;
  /** Retries after the first attempt, for 5xx, 429 and network errors only. */
  readonly maxRetries?: number;
  /** First backoff; doubles per retry, with jitter, never past the deadline. */
  readonly backoffMs?: number;
  readonly userAgent?: string;
}

export interface SendResult {
  readonly ok: boolean;
  /** HTTP status of the last attempt; undefined when no response came (network error, timeout). */
  readonly status?: number;
  readonly attempts: number;
  /** Compressed bytes of one attempt. */
  readonly bytes: number;
  /** Whether the receiver refused the content itself (4xx other than 429): resending it cannot help. */
  readonly rejected: boolean;
  readonly error?: string;
}

const MAX_ERROR_BODY = 512;

function retryable(status: number): boolean {
  return status >= 500 || status === 429;
}

/**
 * Sends compressed `WriteRequest`s to a remote-write endpoint. Never throws:
 * the result says what happened, so a metrics failure cannot fail the caller.
 */
export class RemoteWriteClient {
  private readonly url: URL;
  private readonly auth: RemoteWriteAuth;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly userAgent: string;

  constructor(options: RemoteWriteClientOptions) {
    this.url = new URL(options.url);
    this.auth = options.auth ?? noAuth;
    this.maxRetries = options.maxRetries ?? 2;
    this.backoffMs = options.backoffMs ?? 50;
    this.userAgent = options.userAgent ?? 'saga-tracker-remote-write/1.0';
  }

  /** Sends `body` before `deadline` (epoch ms); the last attempt is aborted when the deadline passes. */
  async send(body: Uint8Array, deadline: number): Promise<SendResult> {
    let attempts = 0;
    let lastStatus: number | undefined;
    let lastError: string | undefined;
    for (let retry = 0; retry <= this.maxRetries; retry++) {
      if (retry > 0) {
        const delay = this.backoffMs * 2 ** (retry - 1) * (0.5 + Math.random() / 2);
        if (Date.now() + delay >= deadline) break;
        await sleep(delay);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      attempts++;
      const outcome = await this.attempt(body, remaining);
      lastStatus = outcome.status;
      lastError = outcome.error;
      if (outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300) {
        return { ok: true, status: outcome.status, attempts, bytes: body.byteLength, rejected: false };
      }
      if (outcome.status === 401 || outcome.status === 403) this.auth.invalidate?.();
      if (outcome.status !== undefined && !retryable(outcome.status)) {
        return {
          ok: false,
          status: outcome.status,
          attempts,
          bytes: body.byteLength,
          rejected: true,
          error: outcome.error,
        };
      }
    }
    return {
      ok: false,
      ...(lastStatus === undefined ? {} : { status: lastStatus }),
      attempts,
      bytes: body.byteLength,
      rejected: false,
      error: lastError ?? 'deadline reached before the first attempt',
    };
  }

  private async attempt(body: Uint8Array, timeoutMs: number): Promise<{ status?: number; error?: string }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const headers = await this.auth.authorize({
        url: this.url,
        method: 'POST',
        headers: { ...REMOTE_WRITE_HEADERS, 'User-Agent': this.userAgent },
        body,
      });
      const response = await fetch(this.url, { method: 'POST', headers, body, signal: controller.signal });
      // Always read the body: it frees the connection for reuse and says why a request was refused.
      const text = await response.text();
      if (response.ok) return { status: response.status };
      return {
        status: response.status,
        error: `HTTP ${response.status}: ${text.slice(0, MAX_ERROR_BODY).trim()}`,
      };
    } catch (error) {
      if (controller.signal.aborted) return { error: `no answer within ${timeoutMs} ms` };
      return { error: describeFetchError(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
