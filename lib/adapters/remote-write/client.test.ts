import { createServer } from 'node:net';
import { type RecordingReceiver, startRecordingReceiver } from '../../../test/support/prometheus';
import { bearerAuth, cachedSecret } from './auth';
import { RemoteWriteClient } from './client';
import { compressWriteRequest, encodeWriteRequest, type TimeSeries } from './write-request';

const SERIES: TimeSeries[] = [
  {
    labels: [
      { name: '__name__', value: 'saga_failed_total' },
      { name: 'instance', value: 'abc' },
      { name: 'job', value: 'saga-tracker' },
    ],
    samples: [
      { value: 0, timestamp: 1_795_000_000_000 },
      { value: 3, timestamp: 1_795_000_000_500 },
    ],
  },
];
const BODY = compressWriteRequest(encodeWriteRequest(SERIES));

let receiver: RecordingReceiver;
beforeEach(async () => {
  receiver = await startRecordingReceiver();
});
afterEach(() => receiver.close());

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('RemoteWriteClient', () => {
  it('posts a snappy-compressed WriteRequest with the remote-write 1.0 headers', async () => {
    const client = new RemoteWriteClient({ url: receiver.url });
    const result = await client.send(BODY, Date.now() + 5_000);

    expect(result).toEqual({ ok: true, status: 204, attempts: 1, bytes: BODY.byteLength, rejected: false });
    const [write] = receiver.received;
    expect(write?.headers).toMatchObject({
      'content-encoding': 'snappy',
      'content-type': 'application/x-protobuf',
      'x-prometheus-remote-write-version': '0.1.0',
    });
    expect(write?.timeseries).toEqual(SERIES);
  });

  it('retries 5xx and 429 answers and succeeds', async () => {
    receiver.respond = (_write, response, index) => {
      response.writeHead([503, 429][index] ?? 200).end(index < 2 ? 'busy' : '');
    };
    const client = new RemoteWriteClient({ url: receiver.url, maxRetries: 2, backoffMs: 1 });
    const result = await client.send(BODY, Date.now() + 5_000);

    expect(result).toMatchObject({ ok: true, status: 200, attempts: 3 });
    expect(receiver.received).toHaveLength(3);
  });

  it('does not retry a 400: the receiver refused the samples themselves', async () => {
    receiver.respond = (_write, response) => {
      response.writeHead(400).end('out of order sample');
    };
    const client = new RemoteWriteClient({ url: receiver.url, maxRetries: 3, backoffMs: 1 });
    const result = await client.send(BODY, Date.now() + 5_000);

    expect(result).toMatchObject({ ok: false, status: 400, attempts: 1, rejected: true });
    expect(result.error).toContain('out of order sample');
    expect(receiver.received).toHaveLength(1);
  });

  it('gives up after its retries when the endpoint keeps failing', async () => {
    receiver.respond = (_write, response) => {
      response.writeHead(500).end('boom');
    };
    const client = new RemoteWriteClient({ url: receiver.url, maxRetries: 2, backoffMs: 1 });
    const result = await client.send(BODY, Date.now() + 5_000);

    expect(result).toMatchObject({ ok: false, status: 500, attempts: 3, rejected: false });
  });

  it('stops at the deadline when the endpoint never answers', async () => {
    receiver.respond = () => undefined; // hangs
    const client = new RemoteWriteClient({ url: receiver.url, maxRetries: 5, backoffMs: 1 });
    const started = Date.now();
    const result = await client.send(BODY, started + 300);
    const elapsed = Date.now() - started;

    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/no answer within/);
    expect(receiver.received.length).toBeGreaterThanOrEqual(1);
    // Bounded by the deadline, not by the server: generous slack for a busy machine.
    expect(elapsed).toBeLessThan(5_000);
  });

  it('reports an endpoint that is down without throwing', async () => {
    const client = new RemoteWriteClient({
      url: `http://127.0.0.1:${await closedPort()}/api/v1/write`,
      maxRetries: 1,
      backoffMs: 1,
    });
    const result = await client.send(BODY, Date.now() + 2_000);

    expect(result).toMatchObject({ ok: false, attempts: 2, rejected: false });
    expect(result.status).toBeUndefined();
    expect(result.error).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('sends the bearer token and drops the cached one after a 401', async () => {
    receiver.respond = (_write, response, index) => {
      response.writeHead(index === 0 ? 401 : 204).end();
    };
    const read = jest.fn().mockResolvedValueOnce('expired').mockResolvedValueOnce('rotated');
    const client = new RemoteWriteClient({ url: receiver.url, auth: bearerAuth(cachedSecret(read)) });

    expect(await client.send(BODY, Date.now() + 5_000)).toMatchObject({
      ok: false,
      status: 401,
      rejected: true,
    });
    expect(await client.send(BODY, Date.now() + 5_000)).toMatchObject({ ok: true });
    expect(receiver.received.map((write) => write.headers.authorization)).toEqual([
      'Bearer expired',
      'Bearer rotated',
    ]);
  });
});
