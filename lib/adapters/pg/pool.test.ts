import { cachedFor } from './pool';
import { isTransientDbError } from './transaction';

describe('cachedFor', () => {
  it('reuses a value until it expires, then fetches a new one', async () => {
    let now = 0;
    let fetches = 0;
    const token = cachedFor(
      600_000,
      async () => `token-${++fetches}`,
      () => now,
    );
    expect(await token()).toBe('token-1');
    now = 599_999;
    expect(await token()).toBe('token-1');
    now = 600_000;
    expect(await token()).toBe('token-2');
  });

  it('does not keep a failed fetch', async () => {
    let attempt = 0;
    const secret = cachedFor(60_000, async () => {
      attempt++;
      if (attempt === 1) throw new Error('throttled');
      return 'ok';
    });
    await expect(secret()).rejects.toThrow('throttled');
    expect(await secret()).toBe('ok');
  });
});

describe('isTransientDbError', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a serialization failure', withCode('40001')],
    ['a deadlock', withCode('40P01')],
    ['an administrator shutdown', withCode('57P01')],
    ['a cancelled statement (timeout)', withCode('57014')],
    ['too many connections', withCode('53300')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
  ])('classifies %s as transient', (_name, error) => {
    expect(isTransientDbError(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['a syntax error', withCode('42601')],
    ['a plain error', new Error('boom')],
  ])('classifies %s as not transient', (_name, error) => {
    expect(isTransientDbError(error)).toBe(false);
  });
});
