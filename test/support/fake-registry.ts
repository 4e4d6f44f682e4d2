import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sagaTrackerSchema } from '../../schemas';
import { SAGA_TRACKER_SCHEMA_ID } from './kafka';

/** A Confluent Schema Registry speaking just `GET /schemas/ids/{id}`, over real HTTP. */
export interface FakeRegistry {
  readonly url: string;
  readonly requests: string[];
  register(id: number, schema: object): void;
  /** While set, every request answers this status (e.g. 503). */
  failWith(status: number | null): void;
  close(): Promise<void>;
}

export async function startFakeRegistry(options: { requireAuth?: string } = {}): Promise<FakeRegistry> {
  const schemas = new Map<number, string>([[SAGA_TRACKER_SCHEMA_ID, JSON.stringify(sagaTrackerSchema())]]);
  const requests: string[] = [];
  let failure: number | null = null;
  const server: Server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify(body));
    };
    if (failure !== null) return reply(failure, { error_code: failure, message: 'unavailable' });
    if (options.requireAuth) {
      const expected = `Basic ${Buffer.from(options.requireAuth).toString('base64')}`;
      if (request.headers.authorization !== expected)
        return reply(401, { error_code: 401, message: 'Unauthorized' });
    }
    const match = /^\/schemas\/ids\/(\d+)$/.exec(request.url ?? '');
    const schema = match ? schemas.get(Number(match[1])) : undefined;
    if (!schema) return reply(404, { error_code: 40403, message: 'Schema not found' });
    return reply(200, { schema });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    register: (id, schema) => schemas.set(id, JSON.stringify(schema)),
    failWith: (status) => {
      failure = status;
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
