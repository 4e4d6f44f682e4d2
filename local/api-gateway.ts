import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/** An IAM identity as API Gateway puts it in `requestContext.authorizer.iam` after SigV4 verification. */
export interface IamIdentity {
  readonly userArn: string;
  readonly accountId: string;
}

export interface HttpRequestInput {
  readonly method: string;
  /** Path and query string exactly as sent, e.g. `/api/v1/sagas?status=FAILED`. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: Buffer | string;
  readonly sourceIp?: string;
  /** The verified IAM caller, when the route uses IAM authorization. */
  readonly iam?: IamIdentity;
  readonly requestId?: string;
  readonly now?: Date;
}

function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// API Gateway decodes `+` as a space in query values, like a form.
function decodeQueryPart(text: string): string {
  return decodeOrKeep(text.replaceAll('+', ' '));
}

/**
 * Query parameters as an HTTP API hands them over: decoded, and repeated names
 * joined with commas.
 */
export function queryStringParameters(rawQuery: string): Record<string, string> | undefined {
  if (rawQuery === '') return undefined;
  const parameters: Record<string, string> = {};
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeQueryPart(equals < 0 ? pair : pair.slice(0, equals));
    const value = equals < 0 ? '' : decodeQueryPart(pair.slice(equals + 1));
    parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  }
  return parameters;
}

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

/**
 * The API Gateway HTTP API (payload format 2.0) event for an HTTP request, the
 * way a `$default` route with a Lambda proxy integration delivers it: path
 * decoded, raw query kept, headers lower-cased, cookies apart.
 */
export function toApiGatewayEvent(input: HttpRequestInput): APIGatewayProxyEventV2 {
  const now = input.now ?? new Date();
  const questionMark = input.url.indexOf('?');
  const rawPathEncoded = questionMark < 0 ? input.url : input.url.slice(0, questionMark);
  const rawQueryString = questionMark < 0 ? '' : input.url.slice(questionMark + 1);
  const path = decodeOrKeep(rawPathEncoded) || '/';
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const joined = typeof value === 'string' ? value : value.join(',');
    if (lower === 'cookie') cookies = joined.split(/;\s*/);
    else headers[lower] = joined;
  }
  const bodyBytes = typeof input.body === 'string' ? Buffer.from(input.body) : input.body;
  const hasBody = bodyBytes !== undefined && bodyBytes.length > 0;
  const textBody = hasBody && isUtf8(bodyBytes);
  const requestId = input.requestId ?? randomUUID();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString,
    headers,
    requestContext: {
      accountId: input.iam?.accountId ?? '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: input.method.toUpperCase(),
        path,
        protocol: 'HTTP/1.1',
        sourceIp: input.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: hasBody && !textBody,
  };
  const parameters = queryStringParameters(rawQueryString);
  if (parameters) event.queryStringParameters = parameters;
  if (cookies) event.cookies = cookies;
  if (hasBody) event.body = textBody ? bodyBytes.toString('utf8') : bodyBytes.toString('base64');
  if (input.iam) {
    (event.requestContext as unknown as { authorizer: unknown }).authorizer = {
      iam: {
        accessKey: 'LOCALACCESSKEY',
        accountId: input.iam.accountId,
        callerId: 'local',
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: input.iam.userArn,
        userId: 'local',
      },
    };
  }
  return event;
}

/** A Lambda context for invoking a handler outside Lambda. */
export function localLambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export type ApiGatewayHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface NodeAdapterOptions {
  readonly functionName: string;
  readonly iam?: IamIdentity;
  readonly onResponse?: (method: string, url: string, status: number, millis: number) => void;
}

/**
 * A Node `http` request listener that turns each request into an API Gateway
 * v2 event, invokes the handler and writes its result back. Like API Gateway,
 * a handler that throws becomes a 500 "Internal Server Error".
 */
export function apiGatewayListener(handler: ApiGatewayHandler, options: NodeAdapterOptions) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const started = performance.now();
    let status = 500;
    try {
      const event = toApiGatewayEvent({
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        headers: request.headers,
        body: await readBody(request),
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        ...(options.iam ? { iam: options.iam } : {}),
      });
      const result = await handler(event, localLambdaContext(options.functionName));
      status = result.statusCode ?? 200;
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
      if (result.cookies?.length) headers['set-cookie'] = result.cookies;
      headers['apigw-requestid'] = event.requestContext.requestId;
      const body = result.body ?? '';
      response.writeHead(status, headers);
      response.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
    } catch {
      status = 500;
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end('{"message":"Internal Server Error"}');
    } finally {
      options.onResponse?.(request.method ?? 'GET', request.url ?? '/', status, performance.now() - started);
    }
  };
}
