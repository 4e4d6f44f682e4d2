import { BadRequestError } from '../errors';
import { parseDeadLetterListQuery, parseRedriveOptions, parseReplayRequest, resolveSources } from './options';

function errorOf(fn: () => unknown): BadRequestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BadRequestError) return error;
    throw error;
  }
  throw new Error('expected a BadRequestError');
}

describe('parseRedriveOptions', () => {
  it('gives a safe default run: no dry run, at most 100 dead letters, sources decided later', () => {
    expect(parseRedriveOptions({})).toEqual({ sources: undefined, dryRun: false, limit: 100 });
    expect(parseRedriveOptions(undefined)).toEqual({ sources: undefined, dryRun: false, limit: 100 });
  });

  it('reads every option', () => {
    const options = parseRedriveOptions({
      source: ['s3', 'table', 's3'],
      dryRun: true,
      limit: 5,
      eventIds: ['e-1'],
      ids: [3, '4'],
      keys: ['aws/lambda/x'],
      since: '2026-11-25T00:00:00+09:00',
    });

    expect(options).toEqual({
      sources: ['s3', 'table'],
      dryRun: true,
      limit: 5,
      eventIds: ['e-1'],
      ids: ['3', '4'],
      keys: ['aws/lambda/x'],
      since: new Date('2026-11-24T15:00:00Z'),
    });
  });

  it.each([
    [{ limit: 0 }, 'limit'],
    [{ limit: 10_001 }, 'limit'],
    [{ limit: '5' }, 'limit'],
    [{ source: 'kafka' }, 'source'],
    [{ dryRun: 'yes' }, 'dryRun'],
    [{ since: 'yesterday' }, 'since'],
    [{ ids: ['abc'] }, 'ids.0'],
    [{ eventIds: [] }, 'eventIds'],
    [{ ids: [1], source: 's3' }, 'ids'],
    [{ keys: ['k'], source: 'table' }, 'keys'],
    [{ limt: 5 }, 'unknown option "limt"'],
  ])('rejects %j naming %s', (input, name) => {
    const error = errorOf(() => parseRedriveOptions(input));

    expect(error.message).toMatch(/^invalid redrive options: /);
    expect(error.message).toContain(name);
  });
});

describe('resolveSources', () => {
  const options = (input: object) => parseRedriveOptions(input);

  it('reads both stores by default, the table only without a bucket', () => {
    expect(resolveSources(options({}), true)).toEqual(['table', 's3']);
    expect(resolveSources(options({}), false)).toEqual(['table']);
  });

  it('takes ids to mean the table and keys to mean S3', () => {
    expect(resolveSources(options({ ids: [1] }), true)).toEqual(['table']);
    expect(resolveSources(options({ keys: ['k'] }), true)).toEqual(['s3']);
  });

  it('refuses S3 when no bucket is configured, naming DLQ_BUCKET', () => {
    expect(errorOf(() => resolveSources(options({ source: 's3' }), false)).message).toContain('DLQ_BUCKET');
  });
});

describe('admin API request schemas', () => {
  it('accepts the SPEC replay body and defaults dryRun to false', () => {
    expect(parseReplayRequest({ eventIds: ['a', 'b'] })).toEqual({ eventIds: ['a', 'b'], dryRun: false });
  });

  it('names the bad field of a replay body', () => {
    expect(errorOf(() => parseReplayRequest({ eventIds: [] })).message).toContain('eventIds');
    expect(errorOf(() => parseReplayRequest({ eventIds: ['a'], dryRun: 'no' })).message).toContain('dryRun');
    expect(errorOf(() => parseReplayRequest(null)).message).toContain('eventIds');
  });

  it('parses a dead-letter query string with defaults and coerced numbers', () => {
    expect(
      parseDeadLetterListQuery({ reason: 'UNKNOWN_SCHEMA_ID', page: '2', size: '50', source: '' }),
    ).toEqual({
      reason: 'UNKNOWN_SCHEMA_ID',
      status: 'PENDING',
      page: 2,
      size: 50,
      sort: 'createdAt,desc',
    });
  });

  it.each([
    [{ reason: 'NOPE' }, 'reason'],
    [{ size: '101' }, 'size'],
    [{ page: '-1' }, 'page'],
    [{ status: 'DONE' }, 'status'],
    [{ fromDate: 'monday' }, 'fromDate'],
    [{ sort: 'id,asc' }, 'sort'],
    [{ resaon: 'X' }, 'resaon'],
  ])('rejects the query %j naming %s', (query, name) => {
    expect(errorOf(() => parseDeadLetterListQuery(query)).message).toContain(name);
  });
});
