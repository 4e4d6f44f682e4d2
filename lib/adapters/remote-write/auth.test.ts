import { createHash, createHmac } from 'node:crypto';
import {
  basicAuth,
  bearerAuth,
  cachedSecret,
  sigV4Auth,
  tokenFromSecretString,
  userPasswordFromSecretString,
} from './auth';
import { REMOTE_WRITE_HEADERS } from './write-request';

// The credentials of AWS's published Signature Version 4 test suite.
const ACCESS_KEY = 'AKIDEXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

/**
 * An independent SigV4 computation, written from the algorithm's description
 * (canonical request → string to sign → derived key → HMAC), to check the
 * SDK signer as this project configures it. It is itself checked against
 * AWS's published vector below.
 */
function referenceSignature(input: {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  amzDate: string;
  region: string;
  service: string;
}): { signedHeaders: string; signature: string } {
  const names = Object.keys(input.headers)
    .map((name) => name.toLowerCase())
    .sort();
  const lower = Object.fromEntries(
    Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v.trim()]),
  );
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    input.method,
    input.path,
    '',
    ...names.map((name) => `${name}:${lower[name]}`),
    '',
    signedHeaders,
    createHash('sha256').update(input.body).digest('hex'),
  ].join('\n');
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    input.amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${SECRET_KEY}`, day), input.region), input.service), 'aws4_request');
  return { signedHeaders, signature: createHmac('sha256', key).update(stringToSign).digest('hex') };
}

// AWS SigV4 test suite, "post-x-www-form-urlencoded".
const AWS_VECTOR = {
  url: 'https://example.amazonaws.com/',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new TextEncoder().encode('Param1=value1'),
  date: new Date('2015-08-30T12:36:00Z'),
  authorization:
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
    'SignedHeaders=content-type;host;x-amz-date, ' +
    'Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
};

describe('SigV4 signing', () => {
  it("reproduces AWS's published signature for the post-x-www-form-urlencoded vector", async () => {
    const auth = sigV4Auth({
      region: 'us-east-1',
      service: 'service',
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      now: () => AWS_VECTOR.date,
    });
    const headers = await auth.authorize({
      url: new URL(AWS_VECTOR.url),
      method: 'POST',
      headers: AWS_VECTOR.headers,
      body: AWS_VECTOR.body,
    });
    expect(headers.authorization).toBe(AWS_VECTOR.authorization);
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
  });

  it('has a reference implementation that agrees with the published vector', () => {
    const reference = referenceSignature({
      method: 'POST',
      path: '/',
      headers: { ...AWS_VECTOR.headers, host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
      body: AWS_VECTOR.body,
      amzDate: '20150830T123600Z',
      region: 'us-east-1',
      service: 'service',
    });
    expect(AWS_VECTOR.authorization).toContain(`Signature=${reference.signature}`);
  });

  it('signs a remote-write request for Amazon Managed Service for Prometheus with the role’s session token', async () => {
    const body = Uint8Array.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59, 1, 2, 3]);
    const url =
      'https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-0123abcd/api/v1/remote_write';
    const auth = sigV4Auth({
      region: 'ap-northeast-2',
      // A provider, as the Lambda role's credentials arrive.
      credentials: async () => ({
        accessKeyId: ACCESS_KEY,
        secretAccessKey: SECRET_KEY,
        sessionToken: 'TOKEN/role',
      }),
      now: () => new Date('2026-11-25T09:00:00Z'),
    });

    const headers = await auth.authorize({
      url: new URL(url),
      method: 'POST',
      headers: { ...REMOTE_WRITE_HEADERS, 'User-Agent': 'saga-tracker-remote-write/1.0' },
      body,
    });

    const reference = referenceSignature({
      method: 'POST',
      path: '/workspaces/ws-0123abcd/api/v1/remote_write',
      // user-agent is not signed (it is on the SDK's list of unsignable headers).
      headers: {
        ...REMOTE_WRITE_HEADERS,
        host: 'aps-workspaces.ap-northeast-2.amazonaws.com',
        'x-amz-date': '20261125T090000Z',
        'x-amz-security-token': 'TOKEN/role',
      },
      body,
      amzDate: '20261125T090000Z',
      region: 'ap-northeast-2',
      service: 'aps',
    });
    // Recorded once and kept: a change in signing shows up here even if both implementations drifted.
    expect(reference.signature).toBe('245fff0a696a54f4310c12056a9c9e9370c1b7ed38a2f4823cc9d9ffee2cce39');
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/ap-northeast-2/aps/aws4_request, ' +
        `SignedHeaders=${reference.signedHeaders}, Signature=${reference.signature}`,
    );
    expect(reference.signedHeaders).toBe(
      'content-encoding;content-type;host;x-amz-date;x-amz-security-token;x-prometheus-remote-write-version',
    );
    expect(headers['x-amz-security-token']).toBe('TOKEN/role');
    expect(headers['User-Agent']).toBe('saga-tracker-remote-write/1.0');
    // fetch sets Host from the URL; a second Host header would break the request.
    expect(Object.keys(headers).map((name) => name.toLowerCase())).not.toContain('host');
  });
});

describe('secret-based auth', () => {
  const request = {
    url: new URL('https://mimir.example/api/v1/push'),
    method: 'POST',
    headers: {},
    body: new Uint8Array(),
  };

  it('sends a bearer token read once from the secret', async () => {
    const read = jest.fn(async () => 'tok-123');
    const auth = bearerAuth(cachedSecret(read));
    expect(await auth.authorize(request)).toEqual({ Authorization: 'Bearer tok-123' });
    await auth.authorize(request);
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('reads the secret again after invalidate (a rotated secret after a 401)', async () => {
    const read = jest.fn().mockResolvedValueOnce('old').mockResolvedValueOnce('new');
    const auth = bearerAuth(cachedSecret(read));
    await auth.authorize(request);
    auth.invalidate?.();
    expect(await auth.authorize(request)).toEqual({ Authorization: 'Bearer new' });
  });

  it('retries a failed secret read on the next request', async () => {
    const read = jest.fn().mockRejectedValueOnce(new Error('throttled')).mockResolvedValueOnce('tok');
    const secret = cachedSecret(read);
    await expect(secret.get()).rejects.toThrow('throttled');
    expect(await secret.get()).toBe('tok');
  });

  it('sends basic credentials', async () => {
    const auth = basicAuth(cachedSecret(async () => 'writer:s3cr:et'));
    expect(await auth.authorize(request)).toEqual({
      Authorization: `Basic ${Buffer.from('writer:s3cr:et').toString('base64')}`,
    });
  });

  it('reads a token from a plain or a JSON secret', () => {
    expect(tokenFromSecretString('  abc.def  ')).toBe('abc.def');
    expect(tokenFromSecretString('{"token":"xyz"}')).toBe('xyz');
    expect(() => tokenFromSecretString('{"password":"x"}')).toThrow('holds no token');
  });

  it('reads basic credentials from a username/password secret', () => {
    expect(userPasswordFromSecretString('{"username":"u","password":"p:w"}')).toBe('u:p:w');
    expect(() => userPasswordFromSecretString('just-a-token')).toThrow('username');
  });
});
