import { ConfigError } from '../errors';
import { parseEnv } from './index';
import { regionOfApsUrl, remoteWriteEnvSchema, stateGaugesEnvSchema, toRemoteWriteConfig } from './telemetry';

const AMP_URL = 'https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write';

function config(env: Record<string, string>) {
  return toRemoteWriteConfig(parseEnv(remoteWriteEnvSchema, env));
}

describe('remote-write configuration', () => {
  it('turns Prometheus export off when PROMETHEUS_REMOTE_WRITE_URL is unset or empty', () => {
    expect(config({})).toEqual({ enabled: false });
    expect(config({ PROMETHEUS_REMOTE_WRITE_URL: '' })).toEqual({ enabled: false });
  });

  it('defaults to no auth, a 2-second budget and two retries', () => {
    expect(config({ PROMETHEUS_REMOTE_WRITE_URL: 'http://127.0.0.1:9090/api/v1/write' })).toEqual({
      enabled: true,
      url: 'http://127.0.0.1:9090/api/v1/write',
      auth: { mode: 'none' },
      timeoutMs: 2_000,
      maxRetries: 2,
      staticLabels: {},
    });
  });

  it('signs for Amazon Managed Service for Prometheus with the region of the workspace URL', () => {
    expect(regionOfApsUrl(AMP_URL)).toBe('ap-northeast-2');
    expect(
      config({
        PROMETHEUS_REMOTE_WRITE_URL: AMP_URL,
        PROMETHEUS_REMOTE_WRITE_AUTH: 'sigv4',
        AWS_REGION: 'us-east-1',
      }),
    ).toMatchObject({ auth: { mode: 'sigv4', region: 'ap-northeast-2' } });
  });

  it('prefers PROMETHEUS_REMOTE_WRITE_REGION, then the URL, then AWS_REGION', () => {
    const base = { PROMETHEUS_REMOTE_WRITE_AUTH: 'sigv4', AWS_REGION: 'eu-west-1' };
    expect(
      config({ ...base, PROMETHEUS_REMOTE_WRITE_URL: AMP_URL, PROMETHEUS_REMOTE_WRITE_REGION: 'us-west-2' }),
    ).toMatchObject({ auth: { region: 'us-west-2' } });
    expect(config({ ...base, PROMETHEUS_REMOTE_WRITE_URL: 'https://proxy.internal/write' })).toMatchObject({
      auth: { region: 'eu-west-1' },
    });
  });

  it('fails naming the variable when sigv4 has no region to sign for', () => {
    expect(() =>
      config({
        PROMETHEUS_REMOTE_WRITE_URL: 'https://proxy.internal/write',
        PROMETHEUS_REMOTE_WRITE_AUTH: 'sigv4',
      }),
    ).toThrow(/PROMETHEUS_REMOTE_WRITE_REGION: required/);
  });

  it('requires the secret for bearer and basic auth', () => {
    for (const mode of ['bearer', 'basic']) {
      expect(() =>
        config({
          PROMETHEUS_REMOTE_WRITE_URL: 'https://mimir.example/api/v1/push',
          PROMETHEUS_REMOTE_WRITE_AUTH: mode,
        }),
      ).toThrow(ConfigError);
    }
    expect(
      config({
        PROMETHEUS_REMOTE_WRITE_URL: 'https://mimir.example/api/v1/push',
        PROMETHEUS_REMOTE_WRITE_AUTH: 'basic',
        PROMETHEUS_REMOTE_WRITE_SECRET_ARN: 'arn:aws:secretsmanager:ap-northeast-2:1:secret:mimir',
      }),
    ).toMatchObject({
      auth: { mode: 'basic', secretArn: 'arn:aws:secretsmanager:ap-northeast-2:1:secret:mimir' },
    });
  });

  it('rejects unknown auth modes and bad timeouts with the variable name', () => {
    expect(() =>
      config({ PROMETHEUS_REMOTE_WRITE_URL: AMP_URL, PROMETHEUS_REMOTE_WRITE_AUTH: 'oauth' }),
    ).toThrow(/PROMETHEUS_REMOTE_WRITE_AUTH/);
    expect(() =>
      config({ PROMETHEUS_REMOTE_WRITE_URL: AMP_URL, PROMETHEUS_REMOTE_WRITE_TIMEOUT_MS: '0' }),
    ).toThrow(/PROMETHEUS_REMOTE_WRITE_TIMEOUT_MS/);
    expect(() => config({ PROMETHEUS_REMOTE_WRITE_URL: 'ftp://x/y' })).toThrow(/PROMETHEUS_REMOTE_WRITE_URL/);
  });

  it('parses static labels and refuses malformed or reserved ones', () => {
    expect(
      config({
        PROMETHEUS_REMOTE_WRITE_URL: AMP_URL,
        PROMETHEUS_REMOTE_WRITE_LABELS: 'env=prod, cluster=c4ang',
      }),
    ).toMatchObject({ staticLabels: { env: 'prod', cluster: 'c4ang' } });
    for (const bad of ['env', 'env=', '__name__=x', '1x=y', 'instance=x', 'job=other']) {
      expect(() =>
        config({ PROMETHEUS_REMOTE_WRITE_URL: AMP_URL, PROMETHEUS_REMOTE_WRITE_LABELS: bad }),
      ).toThrow(/PROMETHEUS_REMOTE_WRITE_LABELS/);
    }
  });
});

describe('state-gauges configuration', () => {
  it('defaults to 30 minutes for stuck and 5 minutes for uncompensated sagas', () => {
    expect(parseEnv(stateGaugesEnvSchema, {})).toEqual({
      SAGA_STUCK_AFTER_SECONDS: 1_800,
      SAGA_UNCOMPENSATED_AFTER_SECONDS: 300,
    });
  });
});
