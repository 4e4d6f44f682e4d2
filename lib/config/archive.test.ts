import { ConfigError } from '../errors';
import { archiveEnvSchema, toArchiveConfig } from './archive';
import { parseEnv } from './index';

function load(env: Record<string, string | undefined>) {
  return toArchiveConfig(parseEnv(archiveEnvSchema, env));
}

describe('archive configuration', () => {
  it('defaults to 90 days for terminal sagas', () => {
    const config = load({ ARCHIVE_BUCKET: 'saga-archive' });
    expect(config).toEqual({
      bucket: 'saga-archive',
      prefix: 'sagas',
      rules: {
        defaultRule: { retentionDays: 90, statuses: ['COMPLETED', 'FAILED', 'COMPENSATED'] },
        byType: {},
      },
      chunkSize: 5_000,
      timeBudgetMs: 600_000,
      safetyMarginMs: 60_000,
      maxSagasPerRun: undefined,
      gzipLevel: 6,
    });
  });

  it('reads retention and statuses, per saga type as well', () => {
    const config = load({
      ARCHIVE_BUCKET: 'saga-archive',
      RETENTION_DAYS: '120',
      ARCHIVE_STATUSES: 'COMPLETED, COMPENSATED',
      ARCHIVE_TYPE_RULES: '{"PAYMENT_COMPLETION":{"retentionDays":30},"REFUND":{"statuses":["COMPLETED"]}}',
      ARCHIVE_PREFIX: 'cold/sagas/',
    });
    expect(config.prefix).toBe('cold/sagas');
    expect(config.rules).toEqual({
      defaultRule: { retentionDays: 120, statuses: ['COMPLETED', 'COMPENSATED'] },
      byType: {
        PAYMENT_COMPLETION: { retentionDays: 30, statuses: ['COMPLETED', 'COMPENSATED'] },
        REFUND: { retentionDays: 120, statuses: ['COMPLETED'] },
      },
    });
  });

  it.each([
    [{}, /ARCHIVE_BUCKET/],
    [{ ARCHIVE_BUCKET: 'b' }, /ARCHIVE_BUCKET: must be an S3 bucket name/],
    [{ ARCHIVE_BUCKET: 'saga-archive', RETENTION_DAYS: '0' }, /RETENTION_DAYS/],
    [{ ARCHIVE_BUCKET: 'saga-archive', RETENTION_DAYS: 'ninety' }, /RETENTION_DAYS/],
    [{ ARCHIVE_BUCKET: 'saga-archive', ARCHIVE_STATUSES: 'DONE' }, /ARCHIVE_STATUSES/],
    [
      { ARCHIVE_BUCKET: 'saga-archive', ARCHIVE_TYPE_RULES: '{"REFUND":{"retentionDays":-1}}' },
      /ARCHIVE_TYPE_RULES.*REFUND.retentionDays/,
    ],
    [{ ARCHIVE_BUCKET: 'saga-archive', ARCHIVE_TYPE_RULES: '{"REFUND":{"retain":1}}' }, /ARCHIVE_TYPE_RULES/],
    [{ ARCHIVE_BUCKET: 'saga-archive', ARCHIVE_TYPE_RULES: 'not json' }, /ARCHIVE_TYPE_RULES: expected JSON/],
    [{ ARCHIVE_BUCKET: 'saga-archive', ARCHIVE_PREFIX: '/abs' }, /ARCHIVE_PREFIX/],
    [{ ARCHIVE_BUCKET: 'saga-archive', ARCHIVE_GZIP_LEVEL: '11' }, /ARCHIVE_GZIP_LEVEL/],
  ])('fails at cold start naming the variable: %j', (env, message) => {
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(message);
  });
});
