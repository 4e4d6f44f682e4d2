import { Sha256 } from '@aws-crypto/sha256-js';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { z } from 'zod';

/** A request about to be sent, as the authenticator sees it. */
export interface OutgoingRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Adds credentials to a remote-write request. */
export interface RemoteWriteAuth {
  /** The headers to send: the request's own plus the credentials. */
  authorize(request: OutgoingRequest): Promise<Record<string, string>>;
  /** Forget cached credentials (after a 401/403: the secret may have rotated). */
  invalidate?(): void;
}

export const noAuth: RemoteWriteAuth = {
  authorize: async (request) => ({ ...request.headers }),
};

export interface SigV4AuthOptions {
  readonly region: string;
  /** `aps` for Amazon Managed Service for Prometheus. */
  readonly service?: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The signing clock; tests fix it to compare with known signatures. */
  readonly now?: () => Date;
}

/**
 * AWS Signature Version 4 with the SDK's own signer. Only the headers that are
 * sent are signed (no extra `x-amz-content-sha256`): the payload hash is part
 * of the canonical request either way, and Amazon Managed Service for
 * Prometheus accepts both forms.
 */
export function sigV4Auth(options: SigV4AuthOptions): RemoteWriteAuth {
  const signer = new SignatureV4({
    service: options.service ?? 'aps',
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  return {
    async authorize(request) {
      const { url } = request;
      const query: Record<string, string | string[]> = {};
      for (const [key, value] of url.searchParams) {
        const existing = query[key];
        query[key] = existing === undefined ? value : [...[existing].flat(), value];
      }
      const signed = await signer.sign(
        {
          method: request.method,
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: url.pathname,
          query,
          headers: { ...request.headers, host: url.host },
          body: request.body,
        },
        { signingDate: options.now?.() ?? new Date() },
      );
      // fetch derives Host from the URL; it is signed with the same value.
      const { host: _host, ...headers } = signed.headers;
      return headers;
    },
  };
}

/** `Authorization: Bearer <token>`; the token comes from a provider (a secret, cached). */
export function bearerAuth(token: CachedSecret): RemoteWriteAuth {
  return {
    authorize: async (request) => ({ ...request.headers, Authorization: `Bearer ${await token.get()}` }),
    invalidate: () => token.invalidate(),
  };
}

/** `Authorization: Basic …` from `user:password`. */
export function basicAuth(userPassword: CachedSecret): RemoteWriteAuth {
  return {
    async authorize(request) {
      const encoded = Buffer.from(await userPassword.get()).toString('base64');
      return { ...request.headers, Authorization: `Basic ${encoded}` };
    },
    invalidate: () => userPassword.invalidate(),
  };
}

/** A secret value read once per Lambda environment, re-read after `invalidate()` or a failed read. */
export interface CachedSecret {
  get(): Promise<string>;
  invalidate(): void;
}

export function cachedSecret(read: () => Promise<string>): CachedSecret {
  let cached: Promise<string> | undefined;
  return {
    get() {
      if (!cached) {
        const pending = read();
        cached = pending;
        pending.catch(() => {
          if (cached === pending) cached = undefined;
        });
      }
      return cached;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

const tokenSecret = z.object({ token: z.string().min(1) });
const userPasswordSecret = z.object({ username: z.string().min(1), password: z.string() });

function parseJsonObject(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Bearer token: the secret string itself, or `{"token": "…"}`. */
export function tokenFromSecretString(text: string): string {
  const parsed = tokenSecret.safeParse(parseJsonObject(text));
  if (parsed.success) return parsed.data.token;
  const token = text.trim();
  if (token === '' || token.startsWith('{')) {
    throw new Error('remote-write secret holds no token (expected a string or {"token": "..."})');
  }
  return token;
}

/** Basic credentials: `{"username": "…", "password": "…"}` → `user:password`. */
export function userPasswordFromSecretString(text: string): string {
  const parsed = userPasswordSecret.safeParse(parseJsonObject(text));
  if (!parsed.success) {
    throw new Error('remote-write secret is not {"username": "...", "password": "..."}');
  }
  return `${parsed.data.username}:${parsed.data.password}`;
}

/** Reads a Secrets Manager secret string. */
export function secretStringReader(
  secretArn: string,
  client: SecretsManagerClient = new SecretsManagerClient({}),
): () => Promise<string> {
  return async () => {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (answer.SecretString === undefined) throw new Error(`secret ${secretArn} has no string value`);
    return answer.SecretString;
  };
}
