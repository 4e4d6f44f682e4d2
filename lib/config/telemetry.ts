import { z } from 'zod';
import { RESERVED_LABELS } from '../telemetry/metric-types';

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();

export const REMOTE_WRITE_AUTH_MODES = ['none', 'sigv4', 'bearer', 'basic'] as const;
export type RemoteWriteAuthMode = (typeof REMOTE_WRITE_AUTH_MODES)[number];

// A Prometheus label name; `__` is reserved for Prometheus itself.
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `name=value,name=value`: static labels added to every series (e.g. `env=prod,region=ap-northeast-2`). */
const staticLabels = z.string().transform((text, ctx) => {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? '' : pair.slice(0, eq).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (
      !labelName.test(name) ||
      name.startsWith('__') ||
      value === '' ||
      (RESERVED_LABELS as readonly string[]).includes(name)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `expected name=value pairs (not ${RESERVED_LABELS.join('/')}), got "${pair}"`,
      });
      return z.NEVER;
    }
    labels[name] = value;
  }
  return labels;
});

/** Amazon Managed Service for Prometheus endpoints carry their region in the host name. */
export function regionOfApsUrl(url: string): string | undefined {
  const match = /^aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname);
  return match?.[1];
}

export const remoteWriteEnvSchema = z
  .object({
    /** Remote-write endpoint; unset means no Prometheus export (CloudWatch metrics still flow). */
    PROMETHEUS_REMOTE_WRITE_URL: z.url({ protocol: /^https?$/ }).optional(),
    PROMETHEUS_REMOTE_WRITE_AUTH: z.enum(REMOTE_WRITE_AUTH_MODES).default('none'),
    /** Bearer: the secret string is the token (or `{"token": …}`); basic: `{"username", "password"}`. */
    PROMETHEUS_REMOTE_WRITE_SECRET_ARN: z.string().optional(),
    PROMETHEUS_REMOTE_WRITE_REGION: z.string().optional(),
    /** Hard budget of one flush, retries included; the invocation never waits longer for metrics. */
    PROMETHEUS_REMOTE_WRITE_TIMEOUT_MS: positiveInt.default(2_000),
    PROMETHEUS_REMOTE_WRITE_MAX_RETRIES: nonNegativeInt.default(2),
    PROMETHEUS_REMOTE_WRITE_LABELS: staticLabels.optional(),
    AWS_REGION: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (!env.PROMETHEUS_REMOTE_WRITE_URL) return;
    const mode = env.PROMETHEUS_REMOTE_WRITE_AUTH;
    if ((mode === 'bearer' || mode === 'basic') && !env.PROMETHEUS_REMOTE_WRITE_SECRET_ARN) {
      ctx.addIssue({
        code: 'custom',
        path: ['PROMETHEUS_REMOTE_WRITE_SECRET_ARN'],
        message: `required when PROMETHEUS_REMOTE_WRITE_AUTH=${mode}`,
      });
    }
    if (
      mode === 'sigv4' &&
      !env.PROMETHEUS_REMOTE_WRITE_REGION &&
      !regionOfApsUrl(env.PROMETHEUS_REMOTE_WRITE_URL) &&
      !env.AWS_REGION
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['PROMETHEUS_REMOTE_WRITE_REGION'],
        message:
          'required when PROMETHEUS_REMOTE_WRITE_AUTH=sigv4 and neither the URL nor AWS_REGION names one',
      });
    }
  });

export type RemoteWriteConfig =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      readonly url: string;
      readonly auth:
        | { readonly mode: 'none' }
        | { readonly mode: 'sigv4'; readonly region: string }
        | { readonly mode: 'bearer' | 'basic'; readonly secretArn: string };
      readonly timeoutMs: number;
      readonly maxRetries: number;
      readonly staticLabels: Readonly<Record<string, string>>;
    };

export function toRemoteWriteConfig(env: z.output<typeof remoteWriteEnvSchema>): RemoteWriteConfig {
  const url = env.PROMETHEUS_REMOTE_WRITE_URL;
  if (!url) return { enabled: false };
  const mode = env.PROMETHEUS_REMOTE_WRITE_AUTH;
  // superRefine guarantees the secret and the region where they are needed.
  const auth =
    mode === 'sigv4'
      ? {
          mode,
          region: env.PROMETHEUS_REMOTE_WRITE_REGION ?? regionOfApsUrl(url) ?? env.AWS_REGION ?? '',
        }
      : mode === 'none'
        ? { mode }
        : { mode, secretArn: env.PROMETHEUS_REMOTE_WRITE_SECRET_ARN ?? '' };
  return {
    enabled: true,
    url,
    auth,
    timeoutMs: env.PROMETHEUS_REMOTE_WRITE_TIMEOUT_MS,
    maxRetries: env.PROMETHEUS_REMOTE_WRITE_MAX_RETRIES,
    staticLabels: env.PROMETHEUS_REMOTE_WRITE_LABELS ?? {},
  };
}

export const stateGaugesEnvSchema = z.object({
  /** The consume function whose event source mapping's `OffsetLag` becomes `saga_tracker_consumer_lag`. */
  CONSUME_FUNCTION_NAME: z.string().optional(),
  /** A saga in a non-terminal status with no step for this long counts as stuck. */
  SAGA_STUCK_AFTER_SECONDS: positiveInt.default(1_800),
  /** A FAILED saga with no COMPENSATED step for this long counts as left uncompensated. */
  SAGA_UNCOMPENSATED_AFTER_SECONDS: positiveInt.default(300),
});
