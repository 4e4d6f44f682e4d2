import { toRemoteWriteConfig } from '../../config/telemetry';
import { remoteWriteAuthFor } from './index';

const REQUEST = {
  url: new URL('https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write'),
  method: 'POST',
  headers: { 'Content-Type': 'application/x-protobuf' },
  body: new Uint8Array([1, 2, 3]),
};

function configFor(auth: 'none' | 'sigv4' | 'bearer' | 'basic') {
  const config = toRemoteWriteConfig({
    PROMETHEUS_REMOTE_WRITE_URL: REQUEST.url.toString(),
    PROMETHEUS_REMOTE_WRITE_AUTH: auth,
    PROMETHEUS_REMOTE_WRITE_SECRET_ARN: 'arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rw',
    PROMETHEUS_REMOTE_WRITE_TIMEOUT_MS: 1_000,
    PROMETHEUS_REMOTE_WRITE_MAX_RETRIES: 1,
  });
  if (!config.enabled) throw new Error('expected an enabled config');
  return config;
}

describe('remoteWriteAuthFor', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('signs with the Lambda role’s credentials for sigv4, in the workspace’s region', async () => {
    // The default credential chain reads these first, as it reads the role's in Lambda.
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    process.env.AWS_SESSION_TOKEN = 'role-session';
    const headers = await remoteWriteAuthFor(configFor('sigv4')).authorize(REQUEST);
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-northeast-2\/aps\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-security-token']).toBe('role-session');
  });

  it('reads the bearer token and the basic credentials from the configured secret', async () => {
    const read = jest.fn((arn: string) => async () => (arn.endsWith(':rw') ? '{"token":"t0k"}' : 'x'));
    expect(await remoteWriteAuthFor(configFor('bearer'), read).authorize(REQUEST)).toMatchObject({
      Authorization: 'Bearer t0k',
    });
    const readBasic = () => async () => '{"username":"writer","password":"pw"}';
    expect(await remoteWriteAuthFor(configFor('basic'), readBasic).authorize(REQUEST)).toMatchObject({
      Authorization: `Basic ${Buffer.from('writer:pw').toString('base64')}`,
    });
    expect(read).toHaveBeenCalledWith('arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rw');
  });

  it('adds nothing without auth', async () => {
    expect(await remoteWriteAuthFor(configFor('none')).authorize(REQUEST)).toEqual(REQUEST.headers);
  });
});
