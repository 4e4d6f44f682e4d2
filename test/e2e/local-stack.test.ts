import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/database';

const ROOT = join(__dirname, '..', '..');

interface Stack {
  readonly child: ChildProcess;
  /** The API's base URL, known once the stack printed it. */
  base: string;
  output(): string;
}

/** Starts `local/start.ts` as `npm start` does (through tsx), on a port the OS picks. */
function startStack(args: string[], env: Record<string, string | undefined>): Stack {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, POWERTOOLS_LOG_LEVEL: 'WARN' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, base: '', output: () => output };
}

async function waitUntilServing(stack: Stack): Promise<void> {
  stack.base = await waitFor('the API to listen', stack, async () => {
    return /Saga Tracker is running: (http:\/\/[\d.:]+)/.exec(stack.output())?.[1];
  });
  await waitFor('health', stack, async () => {
    const answer = await getJson(`${stack.base}/api/v1/health`);
    return answer.status === 200 ? answer : undefined;
  });
}

async function waitFor<T>(
  what: string,
  stack: Stack,
  probe: () => Promise<T | undefined>,
  ms = 90_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (stack.child.exitCode !== null)
      throw new Error(`the stack exited while waiting for ${what}:\n${stack.output()}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${stack.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the test reads JSON answers freely
async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

async function stopStack(stack: Stack, signal: NodeJS.Signals): Promise<number | null> {
  if (stack.child.exitCode !== null) return stack.child.exitCode;
  const exited = new Promise<number | null>((resolve) => stack.child.once('exit', (code) => resolve(code)));
  stack.child.kill(signal);
  return exited;
}

async function portIsClosed(base: string): Promise<boolean> {
  return fetch(`${base}/api/v1/health`).then(
    () => false,
    () => true,
  );
}

describe('npm start (the local stack)', () => {
  let db: TestDatabase;
  const stacks: Stack[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const stack of stacks) if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
    await db.drop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('serves the API over real HTTP with demo traffic flowing through the consume handler, and stops on SIGTERM', async () => {
    const stack = startStack(['--demo-rate', '20', '--history', '30', '--quiet'], { DATABASE_URL: db.url });
    stacks.push(stack);
    await waitUntilServing(stack);

    // History first, then live sagas keep arriving.
    const search = await waitFor('live demo sagas', stack, async () => {
      const answer = await getJson(`${stack.base}/api/v1/sagas?size=5`);
      return answer.body.page?.totalElements > 40 ? answer : undefined;
    });
    expect(search.status).toBe(200);
    const sagaId = search.body.content[0].sagaId as string;

    const saga = await getJson(`${stack.base}/api/v1/sagas/${sagaId}`);
    expect(saga.status).toBe(200);
    const steps = await getJson(`${stack.base}/api/v1/sagas/${sagaId}/steps`);
    expect(steps.body.steps.length).toBeGreaterThan(0);
    expect(steps.body.steps[0].producerService).toMatch(/^(order|product|payment)$/);

    const statistics = await getJson(`${stack.base}/api/v1/sagas/statistics`);
    expect(statistics.body.total).toBeGreaterThan(0);
    const failures = await getJson(`${stack.base}/api/v1/sagas?status=FAILED&size=1`);
    expect(failures.status).toBe(200);

    const patched = await fetch(`${stack.base}/internal/v1/sagas/${sagaId}/status`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'FAILED', reason: 'e2e check' }),
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { override: { principal: string } }).override.principal).toMatch(
      /^arn:aws:iam::000000000000:user\//,
    );

    // The dead-letter admin routes are wired too (the demo traffic is clean: nothing to replay).
    const deadLetters = await getJson(`${stack.base}/internal/v1/dead-letters`);
    expect(deadLetters.status).toBe(200);
    expect(deadLetters.body.page.number).toBe(0);
    const replayed = await fetch(`${stack.base}/internal/v1/sagas/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventIds: ['not-a-dead-letter'], dryRun: true }),
    });
    expect(replayed.status).toBe(200);
    expect(((await replayed.json()) as { results: Array<{ status: string }> }).results[0]?.status).toBe(
      'NOT_FOUND',
    );

    expect((await getJson(`${stack.base}/api/v1/openapi.json`)).body.openapi).toBe('3.1.0');
    const unknown = await getJson(`${stack.base}/api/v1/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('NOT_FOUND');
    const bad = await getJson(`${stack.base}/api/v1/sagas?size=1000`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^size: /);

    expect(await stopStack(stack, 'SIGTERM')).toBe(0);
    expect(stack.output()).toContain('stopped cleanly');
    expect(await portIsClosed(stack.base)).toBe(true);
  });

  it('starts its own embedded PostgreSQL in a data folder, and shuts it down on SIGINT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'saga-tracker-start-'));
    dirs.push(dir);
    const dataDir = join(dir, 'pgdata');
    const stack = startStack(['--no-demo', '--data-dir', dataDir], { DATABASE_URL: undefined });
    stacks.push(stack);
    await waitUntilServing(stack);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(true);
    const search = await getJson(`${stack.base}/api/v1/sagas`);
    expect(search.body.page.totalElements).toBe(0);

    expect(await stopStack(stack, 'SIGINT')).toBe(0);
    // PostgreSQL removes its pid file when it has shut down.
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(await portIsClosed(stack.base)).toBe(true);
  });
});
